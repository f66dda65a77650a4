import { Http3Error, Http3GoawayError } from '../errors.js';
import { h3ErrorCodes } from '../transport/h3/error-codes.js';
import { drainingReason } from '../transport/h3/server.js';
import { connectionRefusedCode } from '../transport/quic/error-codes.js';
import { QuicConnectionClosedError, QuicIdleTimeoutError, QuicInternalError, QuicStatelessResetError, QuicStreamResetError, QuicStreamStateError, QuicStreamStoppedError } from '../errors.js';
import { InvokerError } from '../errors.js';

/** What the invoker knows about one attempt when it fails. */
export interface AttemptFacts {
  serverName: string;
  host: string;
  port: number;
  /** The request was handed to the connection: its bytes may have reached the worker. */
  sent: boolean;
  /** It was sent in 0-RTT early data, before the handshake completed. */
  earlyData: boolean;
  /** The connection was closed because the peer stopped answering (see peer-watch.ts). */
  peerUnreachable: boolean;
}

/** "name (host:port)": every invoker error names the worker it was about. */
export function describeTarget(facts: Pick<AttemptFacts, 'serverName' | 'host' | 'port'>): string {
  const host = facts.host.includes(':') ? `[${facts.host}]` : facts.host;
  return `${facts.serverName} (${host}:${facts.port})`;
}

/**
 * How the worker refused a request without running it, or undefined. `draining`: it is going away
 * (GOAWAY, RFC 9114 section 5.2; H3_REQUEST_REJECTED; CONNECTION_REFUSED with reason 'draining').
 * Otherwise it refused the connection for another reason (CONNECTION_REFUSED, e.g. "server busy").
 */
export function refusal(error: unknown): { draining: boolean; reason: string } | undefined {
  if (error instanceof Http3GoawayError) return { draining: true, reason: 'it sent GOAWAY' };
  if (error instanceof Http3Error && error.initiator === 'peer' && error.errorCode === h3ErrorCodes.H3_REQUEST_REJECTED) {
    return { draining: true, reason: 'it rejected the request (H3_REQUEST_REJECTED)' };
  }
  if (error instanceof QuicConnectionClosedError && error.initiator === 'peer' && error.kind === 'transport' && error.errorCode === connectionRefusedCode) {
    return { draining: error.reason === drainingReason, reason: `it refused the connection${error.reason === '' ? '' : ` (${error.reason})`}` };
  }
  return undefined;
}

/**
 * The error a failed attempt reports: one InvokerError that says whether the request may have run.
 * Errors of the caller (its signal's reason, a refused configuration) pass through unchanged.
 */
export function describeFailure(error: unknown, facts: AttemptFacts): unknown {
  const target = describeTarget(facts);
  if (error instanceof InvokerError) {
    if (error.code === 'QFAAS_CONNECT_TIMEOUT' && facts.sent) {
      // The request left in 0-RTT: the worker may have run it although the handshake never finished.
      return new InvokerError(
        'QFAAS_REQUEST_INTERRUPTED',
        `no handshake with ${target} in time, after the request had left in 0-RTT early data: the worker may have run it`,
        { cause: error },
      );
    }
    if (error.code === 'QFAAS_REQUEST_TIMEOUT' && error.mayHaveRun !== facts.sent) {
      return new InvokerError(error.code, error.message, { cause: error.cause, mayHaveRun: facts.sent });
    }
    return error;
  }
  const refused = refusal(error);
  if (refused !== undefined) {
    const code = refused.draining ? 'QFAAS_WORKER_DRAINING' : 'QFAAS_WORKER_BUSY';
    return new InvokerError(code, `worker ${target} ${refused.draining ? 'is draining' : 'is busy'}: ${refused.reason}; the request did not run`, { cause: error });
  }
  if (facts.peerUnreachable || error instanceof QuicStatelessResetError) {
    const what = facts.peerUnreachable ? 'stopped answering' : 'no longer knows the connection (stateless reset: restarted?)';
    return new InvokerError('QFAAS_PEER_UNREACHABLE', `worker ${target} ${what}${facts.sent ? '; the request had left and may have run' : ''}`, {
      cause: error,
      mayHaveRun: facts.sent,
    });
  }
  if (!isTransportFailure(error)) return error;
  if (facts.sent) {
    return new InvokerError('QFAAS_REQUEST_INTERRUPTED', `the request to ${target} was cut after it left and may have run: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return error;
}

/**
 * The connection or the stream went away under the request (closed, timed out, cancelled by the
 * worker). TLS failures and protocol errors about the request itself keep their own types.
 */
function isTransportFailure(error: unknown): boolean {
  if (error instanceof Http3Error) {
    return error.scope === 'connection' || error.errorCode === h3ErrorCodes.H3_REQUEST_CANCELLED || error.errorCode === h3ErrorCodes.H3_NO_ERROR;
  }
  return (
    error instanceof QuicConnectionClosedError ||
    error instanceof QuicIdleTimeoutError ||
    error instanceof QuicStreamStateError ||
    error instanceof QuicStreamResetError ||
    error instanceof QuicStreamStoppedError ||
    error instanceof QuicInternalError
  );
}
