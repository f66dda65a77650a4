import { QfaasError } from '../../errors.js';
import { tlsAlertName, transportErrorName } from './error-codes.js';

/** Which side ended the connection or stream. */
export type CloseInitiator = 'local' | 'peer';

/**
 * The connection was closed with a CONNECTION_CLOSE frame. `kind` says whether `errorCode` is a
 * QUIC transport code (RFC 9000 section 20.1) or an application code (for example an H3 code).
 */
export class QuicConnectionClosedError extends QfaasError {
  override readonly name = 'QuicConnectionClosedError';
  readonly code = 'QUIC_CONNECTION_CLOSED';
  readonly initiator: CloseInitiator;
  readonly kind: 'transport' | 'application';
  readonly errorCode: number;
  readonly reason: string;

  constructor(initiator: CloseInitiator, kind: 'transport' | 'application', errorCode: number, reason: string) {
    const codeText = kind === 'transport' ? transportErrorName(errorCode) : `0x${errorCode.toString(16)}`;
    const by = initiator === 'peer' ? 'by the peer' : 'locally';
    super(`QUIC connection closed ${by} with ${kind} error ${codeText}${reason === '' ? '' : `: ${reason}`}`);
    this.initiator = initiator;
    this.kind = kind;
    this.errorCode = errorCode;
    this.reason = reason;
  }
}

/**
 * The TLS handshake failed: certificate signed by another CA, wrong server name, missing client
 * certificate, no common ALPN. `alert` is the TLS alert (RFC 8446 section 6).
 */
export class QuicTlsError extends QfaasError {
  override readonly name = 'QuicTlsError';
  readonly code = 'QUIC_TLS_FAILED';
  readonly initiator: CloseInitiator;
  readonly alert: number;
  readonly alertName: string;

  constructor(initiator: CloseInitiator, alert: number) {
    const alertName = tlsAlertName(alert);
    const who = initiator === 'peer' ? 'the peer refused the handshake' : 'the peer could not be verified';
    super(`QUIC TLS handshake failed: ${who} (${alertName})`);
    this.initiator = initiator;
    this.alert = alert;
    this.alertName = alertName;
  }
}

/** No packet arrived within the idle timeout (RFC 9000 section 10.1); the connection was dropped silently. */
export class QuicIdleTimeoutError extends QfaasError {
  override readonly name = 'QuicIdleTimeoutError';
  readonly code = 'QUIC_IDLE_TIMEOUT';

  constructor(idleTimeoutMs: number) {
    super(`QUIC connection idle for ${idleTimeoutMs} ms and timed out`);
  }
}

/** The peer abandoned its sending side of a stream with RESET_STREAM. */
export class QuicStreamResetError extends QfaasError {
  override readonly name = 'QuicStreamResetError';
  readonly code = 'QUIC_STREAM_RESET';
  readonly streamId: number;
  readonly errorCode: number;

  constructor(streamId: number, errorCode: number) {
    super(`QUIC stream ${streamId} was reset by the peer with error 0x${errorCode.toString(16)}`);
    this.streamId = streamId;
    this.errorCode = errorCode;
  }
}

/** The peer asked this side to stop sending on a stream with STOP_SENDING. */
export class QuicStreamStoppedError extends QfaasError {
  override readonly name = 'QuicStreamStoppedError';
  readonly code = 'QUIC_STREAM_STOPPED';
  readonly streamId: number;
  readonly errorCode: number;

  constructor(streamId: number, errorCode: number) {
    super(`QUIC stream ${streamId} was stopped by the peer with error 0x${errorCode.toString(16)}`);
    this.streamId = streamId;
    this.errorCode = errorCode;
  }
}

/** A stream was used after this side reset or stopped it, or after its connection closed. */
export class QuicStreamStateError extends QfaasError {
  override readonly name = 'QuicStreamStateError';
  readonly code = 'QUIC_STREAM_STATE';
  readonly streamId: number;

  constructor(streamId: number, detail: string) {
    super(`QUIC stream ${streamId}: ${detail}`);
    this.streamId = streamId;
  }
}

/** The endpoint (its UDP socket) is closed; no new connection can be made on it. */
export class QuicEndpointClosedError extends QfaasError {
  override readonly name = 'QuicEndpointClosedError';
  readonly code = 'QUIC_ENDPOINT_CLOSED';

  constructor() {
    super('QUIC endpoint is closed');
  }
}

/** quiche failed in a way that does not map to a protocol error; the connection is closed. */
export class QuicInternalError extends QfaasError {
  override readonly name = 'QuicInternalError';
  readonly code = 'QUIC_INTERNAL';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The peer answered with a stateless reset (RFC 9000 section 10.3): it no longer knows this
 * connection, typically because the process behind the address was restarted.
 */
export class QuicStatelessResetError extends QfaasError {
  override readonly name = 'QuicStatelessResetError';
  readonly code = 'QUIC_STATELESS_RESET';

  constructor() {
    super('the peer reset the connection statelessly: it no longer has its state (restarted?)');
  }
}

/** Every error a connection can end with. */
export type QuicConnectionError =
  | QuicConnectionClosedError
  | QuicStatelessResetError
  | QuicTlsError
  | QuicIdleTimeoutError
  | QuicInternalError;
