import { describe, expect, it } from 'vitest';
import {
  Http3Error,
  Http3GoawayError,
  InvokerError,
  isInvokerError,
  isQfaasConfigError,
  isQfaasError,
  QfaasConfigError,
  qfaasErrorCodes,
  QuicConnectionClosedError,
  QuicIdleTimeoutError,
  QuicTlsError,
} from '../src/errors.js';
import { h3ErrorCodes } from '../src/transport/h3/error-codes.js';

describe('qfaas errors', () => {
  it('are recognised across two copies of the package (a duplicate install), where instanceof fails', async () => {
    // The same source loaded again as a separate module instance, as a second copy in node_modules would be.
    const secondCopy = '../src/errors.js?second-copy';
    const copy = (await import(/* @vite-ignore */ secondCopy)) as typeof import('../src/errors.js');
    const foreign = new copy.QfaasConfigError('port', 'must be a number');
    expect(foreign).not.toBeInstanceOf(QfaasConfigError);
    expect(isQfaasError(foreign)).toBe(true);
    expect(isQfaasConfigError(foreign)).toBe(true);
    expect(copy.isQfaasConfigError(new QfaasConfigError('port', 'must be a number'))).toBe(true);
  });

  it('are told apart by name, and nothing else passes for one', () => {
    const timeout = new InvokerError('QFAAS_REQUEST_TIMEOUT', 'no response');
    expect(isInvokerError(timeout)).toBe(true);
    expect(isQfaasConfigError(timeout)).toBe(false);
    expect(isQfaasError(new Error('plain'))).toBe(false);
    expect(isQfaasError({ name: 'InvokerError', code: 'QFAAS_REQUEST_TIMEOUT' })).toBe(false);
    expect(isQfaasError(null)).toBe(false);
  });

  it('carry the retryable and mayHaveRun facts of their code', () => {
    const samples = [
      new QfaasConfigError('port', 'must be a number'),
      new QuicTlsError('local', 48),
      new QuicIdleTimeoutError(30_000),
      new QuicConnectionClosedError('peer', 'transport', 0, ''),
      new Http3GoawayError('the peer is going away'),
      new InvokerError('QFAAS_WORKER_BUSY', 'busy'),
    ];
    for (const error of samples) {
      const { retryable, mayHaveRun } = qfaasErrorCodes[error.code];
      expect({ code: error.code, retryable: error.retryable, mayHaveRun: error.mayHaveRun }).toEqual({ code: error.code, retryable, mayHaveRun });
    }
    // A caller decides on these: the TLS failure is not another worker's to fix; GOAWAY did not run the request.
    expect(samples[1]).toMatchObject({ retryable: false, mayHaveRun: false });
    expect(samples[4]).toMatchObject({ retryable: true, mayHaveRun: false });
  });

  it('a TLS name mismatch lists the certificate\'s names, at most 16 of them', () => {
    const names = Array.from({ length: 20 }, (_, i) => `n${i}.qfaas.internal`);
    const error = new QuicTlsError('local', 42, { serverName: 'x.qfaas.internal', remote: { host: '::1', port: 4433 }, certificateNames: names });
    expect(error.message).toBe(
      `QUIC TLS handshake with [::1]:4433 failed: the server's certificate does not carry the name x.qfaas.internal; it names ${names.slice(0, 16).join(', ')}, … and 4 more (bad_certificate)`,
    );
    expect(error.certificateNames).toEqual(names);
    expect(new QuicTlsError('peer', 116, { serverName: 'w.qfaas.internal', remote: { host: '10.0.0.7', port: 443 } }).message).toBe(
      'QUIC TLS handshake with w.qfaas.internal (10.0.0.7:443) failed: the peer refused the handshake (certificate_required)',
    );
  });

  it('say otherwise for themselves where the instance knows better', () => {
    // RFC 9114 section 4.1.1: H3_REQUEST_REJECTED from the server means no processing happened.
    const rejected = new Http3Error(h3ErrorCodes.H3_REQUEST_REJECTED, 'rejected', { scope: 'stream', initiator: 'peer' });
    expect(rejected).toMatchObject({ code: 'QFAAS_H3_PROTOCOL_ERROR', errorName: 'H3_REQUEST_REJECTED', retryable: true, mayHaveRun: false });
    const malformed = new Http3Error(h3ErrorCodes.H3_MESSAGE_ERROR, 'bad', { scope: 'stream', initiator: 'local' });
    expect(malformed).toMatchObject({ errorName: 'H3_MESSAGE_ERROR', retryable: false, mayHaveRun: true });
    expect(new Http3Error(0x1f * 7 + 0x21, 'grease', { scope: 'stream' }).errorName).toBe('H3_UNKNOWN_ERROR');
    // A request timeout before the request left did not run it.
    expect(new InvokerError('QFAAS_REQUEST_TIMEOUT', 'late', { mayHaveRun: false })).toMatchObject({ retryable: true, mayHaveRun: false });
  });
});
