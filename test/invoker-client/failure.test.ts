import { describe, expect, it } from 'vitest';
import { InvokerError } from '../../src/errors.js';
import { describeFailure, type AttemptFacts } from '../../src/invoker-client/failure.js';
import { Http3Error, Http3GoawayError } from '../../src/errors.js';
import { h3ErrorCodes } from '../../src/transport/h3/error-codes.js';
import { QuicConnectionClosedError, QuicStatelessResetError, QuicTlsError } from '../../src/errors.js';

const facts = (extra: Partial<AttemptFacts> = {}): AttemptFacts => ({
  serverName: 'i-1.fn.qfaas.internal',
  host: '10.0.0.7',
  port: 8080,
  sent: true,
  earlyData: false,
  peerUnreachable: false,
  ...extra,
});

describe('describeFailure: what an invoker error says about whether the request ran', () => {
  it.each([
    ['GOAWAY', new Http3GoawayError('goaway'), 'QFAAS_WORKER_DRAINING'],
    ['H3_REQUEST_REJECTED', new Http3Error(h3ErrorCodes.H3_REQUEST_REJECTED, 'rejected', { scope: 'stream', initiator: 'peer' }), 'QFAAS_WORKER_DRAINING'],
    ['CONNECTION_REFUSED, draining', new QuicConnectionClosedError('peer', 'transport', 0x2, 'draining'), 'QFAAS_WORKER_DRAINING'],
    ['CONNECTION_REFUSED, server busy', new QuicConnectionClosedError('peer', 'transport', 0x2, 'server busy'), 'QFAAS_WORKER_BUSY'],
  ])('%s: refused before running, even when sent', (_name, error, code) => {
    const failure = describeFailure(error, facts());
    expect(failure).toBeInstanceOf(InvokerError);
    expect(failure).toMatchObject({ code, retryable: true, mayHaveRun: false, cause: error });
    expect((failure as Error).message).toContain('i-1.fn.qfaas.internal (10.0.0.7:8080)');
  });

  it('a peer close with H3_NO_ERROR after the request left may have run it', () => {
    const closed = new Http3Error(h3ErrorCodes.H3_NO_ERROR, 'connection closed', { scope: 'connection', initiator: 'peer' });
    expect(describeFailure(closed, facts())).toMatchObject({ code: 'QFAAS_REQUEST_INTERRUPTED', retryable: true, mayHaveRun: true });
  });

  it('a stateless reset or a silent peer: QFAAS_PEER_UNREACHABLE, mayHaveRun only if the request left', () => {
    expect(describeFailure(new QuicStatelessResetError(), facts())).toMatchObject({ code: 'QFAAS_PEER_UNREACHABLE', mayHaveRun: true });
    const closedLocally = new QuicConnectionClosedError('local', 'application', 0x100, 'peer unreachable');
    expect(describeFailure(closedLocally, facts({ sent: false, peerUnreachable: true }))).toMatchObject({ code: 'QFAAS_PEER_UNREACHABLE', mayHaveRun: false });
  });

  it('connect timeout: not run when the request waited, may have run when it left in 0-RTT', () => {
    const timeout = new InvokerError('QFAAS_CONNECT_TIMEOUT', 'no handshake');
    expect(describeFailure(timeout, facts({ sent: false }))).toBe(timeout);
    expect(describeFailure(timeout, facts({ sent: true, earlyData: true }))).toMatchObject({ code: 'QFAAS_REQUEST_INTERRUPTED', mayHaveRun: true });
  });

  it('request timeout before the request left says it did not run', () => {
    const timeout = new InvokerError('QFAAS_REQUEST_TIMEOUT', 'no response');
    expect(describeFailure(timeout, facts({ sent: false }))).toMatchObject({ code: 'QFAAS_REQUEST_TIMEOUT', mayHaveRun: false });
    expect(describeFailure(timeout, facts())).toMatchObject({ code: 'QFAAS_REQUEST_TIMEOUT', mayHaveRun: true });
  });

  it('TLS failures and the caller’s own errors keep their type', () => {
    const tls = new QuicTlsError('peer', 48);
    expect(describeFailure(tls, facts())).toBe(tls);
    const abort = new DOMException('aborted', 'AbortError');
    expect(describeFailure(abort, facts())).toBe(abort);
  });
});
