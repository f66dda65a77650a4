/**
 * Every error qfaas throws: one base class, one namespace of stable `QFAAS_*` codes, and for each
 * code the two facts a caller decides on. Codes never change meaning; messages may.
 */
import { isIP } from 'node:net';
import { h3ErrorCodes, knownH3ErrorName, type H3ErrorName } from './transport/h3/error-codes.js';
import { tlsAlertName, transportErrorName } from './transport/quic/error-codes.js';

/** What an error means for the request it ended. */
export interface ErrorCodeFacts {
  /** Another worker (or a later attempt) may serve the request: the fault is not the request's. */
  readonly retryable: boolean;
  /** The worker may have executed the request: send it again only if it is idempotent. */
  readonly mayHaveRun: boolean;
  /** One line on what happened. */
  readonly summary: string;
}

const facts = (retryable: boolean, mayHaveRun: boolean, summary: string): ErrorCodeFacts => Object.freeze({ retryable, mayHaveRun, summary });

/**
 * Every code, with its facts. An error may say otherwise for itself (an invoker timeout before
 * the request left did not run it; H3_REQUEST_REJECTED from the peer was not processed): read
 * `retryable` and `mayHaveRun` on the error, not here.
 */
export const qfaasErrorCodes = Object.freeze({
  // Misuse and configuration: fix the caller, do not retry.
  QFAAS_INVALID_CONFIG: facts(false, false, 'an option was refused; `field` names it'),
  QFAAS_INVALID_CREDENTIALS: facts(false, false, 'a credentials bundle was refused; `field` names the part'),
  QFAAS_SESSION_MINTING_FAILED: facts(false, false, 'the generator could not mint a session for these configurations'),
  QFAAS_WATCHDOG_START_FAILED: facts(false, false, 'the function process did not become ready'),
  // The invoker.
  QFAAS_INVOKER_CLOSED: facts(false, false, 'the invoker is closed'),
  QFAAS_CONNECT_TIMEOUT: facts(true, false, 'no handshake with the worker within connectTimeoutMs'),
  QFAAS_REQUEST_TIMEOUT: facts(true, true, 'no response within requestTimeoutMs'),
  QFAAS_POOL_EXHAUSTED: facts(true, false, 'every pooled connection is busy'),
  QFAAS_WORKER_DRAINING: facts(true, false, 'the worker is going away and did not run the request'),
  QFAAS_WORKER_BUSY: facts(true, false, 'the worker refused the connection and did not run the request'),
  QFAAS_REQUEST_INTERRUPTED: facts(true, true, 'the connection failed after the request left'),
  QFAAS_PEER_UNREACHABLE: facts(true, true, 'the worker stopped answering or lost the connection'),
  // The worker.
  QFAAS_INVALID_REQUEST_TARGET: facts(false, false, 'a request path or query was refused (the worker answers 400)'),
  QFAAS_EXEC_TIMEOUT: facts(false, true, 'the function ran past its exec timeout'),
  QFAAS_IDEMPOTENCY_STORE_UNAVAILABLE: facts(true, false, 'the idempotency store did not answer; the request was not run'),
  QFAAS_STRIKE_REGISTER_UNAVAILABLE: facts(true, false, 'the strike register did not answer; the early request waits for the handshake'),
  QFAAS_TICKET_STORE_FAILED: facts(true, false, 'the ticket store failed; the invoker carries on without it'),
  // QUIC.
  QFAAS_QUIC_CONNECTION_CLOSED: facts(true, true, 'the connection was closed with CONNECTION_CLOSE'),
  QFAAS_QUIC_TLS_FAILED: facts(false, false, 'the TLS handshake failed (`alertName` says why)'),
  QFAAS_QUIC_IDLE_TIMEOUT: facts(true, true, 'no packet within the idle timeout'),
  QFAAS_QUIC_STATELESS_RESET: facts(true, true, 'the peer no longer knows the connection (restarted)'),
  QFAAS_QUIC_STREAM_RESET: facts(true, true, 'the peer reset the stream (RESET_STREAM)'),
  QFAAS_QUIC_STREAM_STOPPED: facts(true, true, 'the peer stopped reading the stream (STOP_SENDING)'),
  QFAAS_QUIC_STREAM_STATE: facts(false, false, 'a stream was used after it ended'),
  QFAAS_QUIC_ENDPOINT_CLOSED: facts(false, false, 'the endpoint is closed'),
  QFAAS_QUIC_INTERNAL: facts(false, true, 'the QUIC implementation failed; the connection is closed'),
  // HTTP/3.
  QFAAS_H3_PROTOCOL_ERROR: facts(false, true, 'an HTTP/3 or QPACK error (`errorName` is the RFC name)'),
  QFAAS_H3_FIELD_SECTION_TOO_LARGE: facts(false, false, "a header section exceeds the peer's limit; nothing was sent"),
  QFAAS_H3_GOAWAY: facts(true, false, 'the peer sent GOAWAY; the request was not processed'),
});

/** Every code a qfaas error can carry. */
export type QfaasErrorCode = keyof typeof qfaasErrorCodes;

/** Options every qfaas error takes: its cause, and facts that differ from its code's. */
export interface QfaasErrorOptions {
  /** What led to this error. @default none */
  cause?: unknown;
  /** @default the code's (qfaasErrorCodes) */
  retryable?: boolean;
  /** @default the code's (qfaasErrorCodes) */
  mayHaveRun?: boolean;
}

/**
 * One base class for every error qfaas throws, with a literal `name`, a stable `code` that callers
 * can switch on without parsing messages, and the facts a caller decides on (`retryable`,
 * `mayHaveRun`).
 */
export abstract class QfaasError extends Error {
  abstract override readonly name: string;
  readonly code: QfaasErrorCode;
  /** Another worker (or a later attempt) may serve the request: the fault is not the request's. */
  readonly retryable: boolean;
  /** The worker may have executed the request: send it again only if it is idempotent. */
  readonly mayHaveRun: boolean;

  constructor(code: QfaasErrorCode, message: string, options?: QfaasErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options?.retryable ?? qfaasErrorCodes[code].retryable;
    this.mayHaveRun = options?.mayHaveRun ?? qfaasErrorCodes[code].mayHaveRun;
  }
}

/**
 * A brand on every qfaas error, registered with `Symbol.for`: two copies of the package (a
 * duplicate install) have different classes, so `instanceof` fails across them, but the brand
 * does not. The `is…Error` functions check it.
 */
const qfaasErrorBrand = Symbol.for('qfaas.error');
Object.defineProperty(QfaasError.prototype, qfaasErrorBrand, { value: true });

/** True for any error thrown by qfaas, also one from another copy of the package. */
export function isQfaasError(value: unknown): value is QfaasError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[qfaasErrorBrand] === true;
}

function isNamed<T extends QfaasError>(value: unknown, name: T['name']): value is T {
  return isQfaasError(value) && value.name === name;
}

/**
 * Builds an error without capturing a stack trace. For the reason a connection or stream ended,
 * made on every close whether or not anyone reads it: its stack would only show the event loop,
 * and capturing one would be a cost on every connection (docs/performance.md).
 */
export function withoutStack<T extends Error>(make: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

// ---- Misuse and configuration ----------------------------------------------------------------

/** A configuration value was refused; `field` names the option, the message says why. */
export class QfaasConfigError extends QfaasError {
  override readonly name = 'QfaasConfigError';
  declare readonly code: 'QFAAS_INVALID_CONFIG';
  readonly field: string;

  constructor(field: string, reason: string, options?: { cause?: unknown }) {
    super('QFAAS_INVALID_CONFIG', `invalid option ${field}: ${reason}`, options);
    this.field = field;
  }
}

/** True for a QfaasConfigError (also from another copy of the package). */
export function isQfaasConfigError(value: unknown): value is QfaasConfigError {
  return isNamed<QfaasConfigError>(value, 'QfaasConfigError');
}

/** A credentials bundle was refused; `field` names the part, the message never quotes a value. */
export class CredentialsError extends QfaasError {
  override readonly name = 'CredentialsError';
  declare readonly code: 'QFAAS_INVALID_CREDENTIALS';
  readonly field: string;

  constructor(field: string, reason: string) {
    // Never quote the value: it may be a key.
    super('QFAAS_INVALID_CREDENTIALS', `invalid credentials: ${field === '' ? 'bundle' : field}: ${reason}`);
    this.field = field;
  }
}

/** The in-memory handshake that mints a session failed, or produced no ticket. */
export class SessionMintingError extends QfaasError {
  override readonly name = 'SessionMintingError';
  declare readonly code: 'QFAAS_SESSION_MINTING_FAILED';

  constructor(message: string, options?: { cause?: unknown }) {
    super('QFAAS_SESSION_MINTING_FAILED', message, options);
  }
}

/** qfaas-watchdog's function process did not become ready (or exited) within its read timeout. */
export class WatchdogStartError extends QfaasError {
  override readonly name = 'WatchdogStartError';
  declare readonly code: 'QFAAS_WATCHDOG_START_FAILED';

  constructor(message: string, options?: { cause?: unknown }) {
    super('QFAAS_WATCHDOG_START_FAILED', message, options);
  }
}

// ---- The invoker -------------------------------------------------------------------------------

/** The codes of InvokerError. */
export type InvokerErrorCode =
  | 'QFAAS_INVOKER_CLOSED'
  | 'QFAAS_CONNECT_TIMEOUT'
  | 'QFAAS_REQUEST_TIMEOUT'
  | 'QFAAS_POOL_EXHAUSTED'
  | 'QFAAS_WORKER_DRAINING'
  | 'QFAAS_WORKER_BUSY'
  | 'QFAAS_REQUEST_INTERRUPTED'
  | 'QFAAS_PEER_UNREACHABLE';

/**
 * The invoker refused or gave up on a request; `code` says why. `mayHaveRun` of
 * QFAAS_PEER_UNREACHABLE and QFAAS_REQUEST_TIMEOUT depends on whether the request had left.
 */
export class InvokerError extends QfaasError {
  override readonly name = 'InvokerError';
  declare readonly code: InvokerErrorCode;

  constructor(code: InvokerErrorCode, message: string, options?: { cause?: unknown; mayHaveRun?: boolean }) {
    super(code, message, options);
  }
}

/** True for an InvokerError (also from another copy of the package). */
export function isInvokerError(value: unknown): value is InvokerError {
  return isNamed<InvokerError>(value, 'InvokerError');
}

// ---- The worker ------------------------------------------------------------------------------

/** A request target (path and query) that could reach outside the function; the worker answers 400. */
export class RequestTargetError extends QfaasError {
  override readonly name = 'RequestTargetError';
  declare readonly code: 'QFAAS_INVALID_REQUEST_TARGET';

  constructor(message: string) {
    super('QFAAS_INVALID_REQUEST_TARGET', message);
  }
}

/** The reason of `info.signal` when the handler ran past its exec timeout (the worker answers 504). */
export class ExecTimeoutError extends QfaasError {
  override readonly name = 'ExecTimeoutError';
  declare readonly code: 'QFAAS_EXEC_TIMEOUT';

  constructor(message: string) {
    super('QFAAS_EXEC_TIMEOUT', message);
  }
}

/** The idempotency store did not answer; the request is refused rather than run unguarded. */
export class IdempotencyStoreUnavailableError extends QfaasError {
  override readonly name = 'IdempotencyStoreUnavailableError';
  declare readonly code: 'QFAAS_IDEMPOTENCY_STORE_UNAVAILABLE';

  constructor(message: string, options?: { cause?: unknown }) {
    super('QFAAS_IDEMPOTENCY_STORE_UNAVAILABLE', message, options);
  }
}

/** The strike register is full or did not answer; the early request waits for the handshake. */
export class StrikeRegisterUnavailableError extends QfaasError {
  override readonly name = 'StrikeRegisterUnavailableError';
  declare readonly code: 'QFAAS_STRIKE_REGISTER_UNAVAILABLE';

  constructor(message: string, options?: { cause?: unknown }) {
    super('QFAAS_STRIKE_REGISTER_UNAVAILABLE', message, options);
  }
}

/** A ticket store operation failed or timed out (reported to `onError`; the caller carries on). */
export class TicketStoreError extends QfaasError {
  override readonly name = 'TicketStoreError';
  declare readonly code: 'QFAAS_TICKET_STORE_FAILED';
  readonly operation: 'get' | 'set' | 'delete';

  constructor(operation: 'get' | 'set' | 'delete', detail: string, options?: { cause?: unknown }) {
    super('QFAAS_TICKET_STORE_FAILED', `ticket store ${operation} failed: ${detail}`, options);
    this.operation = operation;
  }
}

// ---- QUIC --------------------------------------------------------------------------------------

/** Which side ended the connection or stream. */
export type CloseInitiator = 'local' | 'peer';

/** Who a connection was with, for the messages of the errors that end it. */
export interface QuicPeerDescription {
  /** The peer's UDP address. @default none: the message names no address */
  remote?: { host: string; port: number };
  /** The name the client asked the server's certificate to carry (SNI). @default none: the message names the address only */
  serverName?: string;
}

/** "name (host:port)", "host:port" or nothing; IPv6 in brackets. */
function describePeer(peer: QuicPeerDescription): string | undefined {
  const address = peer.remote === undefined ? undefined : `${peer.remote.host.includes(':') ? `[${peer.remote.host}]` : peer.remote.host}:${peer.remote.port}`;
  if (peer.serverName === undefined) return address;
  return address === undefined ? peer.serverName : `${peer.serverName} (${address})`;
}

/**
 * The connection was closed with a CONNECTION_CLOSE frame. `kind` says whether `errorCode` is a
 * QUIC transport code (RFC 9000 section 20.1) or an application code (for example an H3 code).
 */
export class QuicConnectionClosedError extends QfaasError {
  override readonly name = 'QuicConnectionClosedError';
  declare readonly code: 'QFAAS_QUIC_CONNECTION_CLOSED';
  readonly initiator: CloseInitiator;
  readonly kind: 'transport' | 'application';
  readonly errorCode: number;
  readonly reason: string;

  constructor(initiator: CloseInitiator, kind: 'transport' | 'application', errorCode: number, reason: string) {
    const codeText = kind === 'transport' ? transportErrorName(errorCode) : `0x${errorCode.toString(16)}`;
    const by = initiator === 'peer' ? 'by the peer' : 'locally';
    super('QFAAS_QUIC_CONNECTION_CLOSED', `QUIC connection closed ${by} with ${kind} error ${codeText}${reason === '' ? '' : `: ${reason}`}`);
    this.initiator = initiator;
    this.kind = kind;
    this.errorCode = errorCode;
    this.reason = reason;
  }
}

/** What a QuicTlsError knows beyond the alert: with whom, and the names of a certificate that did not match. */
export interface QuicTlsErrorDetails extends QuicPeerDescription {
  /**
   * The DNS names and IP addresses the server's certificate carries, given when `serverName` is
   * not among them (the usual cause of bad_certificate on a client). @default none: the name was not the problem, or is unknown
   */
  certificateNames?: readonly string[];
}

/** How many certificate names a message lists at most: a certificate may carry hundreds. */
const maxListedNames = 16;

function listNames(names: readonly string[]): string {
  if (names.length === 0) return 'no names';
  const shown = names.slice(0, maxListedNames).join(', ');
  return names.length > maxListedNames ? `${shown}, … and ${names.length - maxListedNames} more` : shown;
}

/** What went wrong, in words: the name mismatch when known, else who refused whom. */
function tlsFailureText(initiator: CloseInitiator, alertName: string, details: QuicTlsErrorDetails): string {
  const { serverName, certificateNames } = details;
  if (serverName !== undefined && certificateNames !== undefined) {
    const names = listNames(certificateNames);
    // quiche has BoringSSL compare the name with DNS names only, never with IP addresses.
    if (isIP(serverName) !== 0) {
      return `the server name ${serverName} is an IP address, and certificates are matched by DNS name only; pass serverName, a DNS name the certificate carries: it names ${names}`;
    }
    return `the server's certificate does not carry the name ${serverName}; it names ${names}`;
  }
  return initiator === 'peer' ? 'the peer refused the handshake' : 'the peer could not be verified';
}

/**
 * The TLS handshake failed: certificate signed by another CA, wrong server name, missing client
 * certificate, no common ALPN. `alert` is the TLS alert (RFC 8446 section 6). When the server's
 * certificate does not carry the name the client asked for, `certificateNames` lists the names it
 * does carry, and the message says so.
 */
export class QuicTlsError extends QfaasError {
  override readonly name = 'QuicTlsError';
  declare readonly code: 'QFAAS_QUIC_TLS_FAILED';
  readonly initiator: CloseInitiator;
  readonly alert: number;
  readonly alertName: string;
  /** Client: the name the server's certificate had to carry. */
  readonly serverName: string | undefined;
  /** The names the server's certificate carries, when `serverName` was not among them. */
  readonly certificateNames: readonly string[] | undefined;

  constructor(initiator: CloseInitiator, alert: number, details: QuicTlsErrorDetails = {}) {
    const alertName = tlsAlertName(alert);
    // With the certificate's names the address suffices; otherwise the server name helps find it.
    const peer = describePeer(details.certificateNames === undefined ? details : { ...(details.remote === undefined ? {} : { remote: details.remote }) });
    const failure = tlsFailureText(initiator, alertName, details);
    super('QFAAS_QUIC_TLS_FAILED', `QUIC TLS handshake${peer === undefined ? '' : ` with ${peer}`} failed: ${failure} (${alertName})`);
    this.initiator = initiator;
    this.alert = alert;
    this.alertName = alertName;
    this.serverName = details.serverName;
    this.certificateNames = details.certificateNames === undefined ? undefined : Object.freeze([...details.certificateNames]);
  }
}

/** What an idle timeout ended: a handshake that got no answer at all, one that stalled, or an established connection. */
export type QuicIdleStage = 'no-answer' | 'handshake' | 'established';

/**
 * No packet arrived within the idle timeout (RFC 9000 section 10.1); the connection was dropped
 * silently. A client whose handshake never got an answer is told so: nothing listens at that
 * address, or a firewall drops the packets (UDP gives no "connection refused").
 */
export class QuicIdleTimeoutError extends QfaasError {
  override readonly name = 'QuicIdleTimeoutError';
  declare readonly code: 'QFAAS_QUIC_IDLE_TIMEOUT';
  /** @default 'established' */
  readonly stage: QuicIdleStage;

  /**
   * @param idleMs the idle timeout; for a handshake (stage 'no-answer' or 'handshake'), how long
   *   it was tried (quiche waits at least three probe timeouts, seconds, whatever the idle timeout)
   */
  constructor(idleMs: number, details: QuicPeerDescription & { stage?: QuicIdleStage } = {}) {
    const peer = describePeer(details);
    const stage = details.stage ?? 'established';
    const ms = Math.round(idleMs);
    const message =
      stage === 'no-answer'
        ? `no answer from ${peer ?? 'the server'} within ${ms} ms: nothing listens on that port, or its packets are dropped (QUIC handshake never began)`
        : stage === 'handshake'
          ? `QUIC handshake with ${peer ?? 'the peer'} did not complete within ${ms} ms: the peer stopped answering`
          : `QUIC connection${peer === undefined ? '' : ` with ${peer}`} idle for ${ms} ms and timed out`;
    super('QFAAS_QUIC_IDLE_TIMEOUT', message);
    this.stage = stage;
  }
}

/**
 * The peer answered with a stateless reset (RFC 9000 section 10.3): it no longer knows this
 * connection, typically because the process behind the address was restarted.
 */
export class QuicStatelessResetError extends QfaasError {
  override readonly name = 'QuicStatelessResetError';
  declare readonly code: 'QFAAS_QUIC_STATELESS_RESET';

  constructor() {
    super('QFAAS_QUIC_STATELESS_RESET', 'the peer reset the connection statelessly: it no longer has its state (restarted?)');
  }
}

/** The peer abandoned its sending side of a stream with RESET_STREAM. */
export class QuicStreamResetError extends QfaasError {
  override readonly name = 'QuicStreamResetError';
  declare readonly code: 'QFAAS_QUIC_STREAM_RESET';
  readonly streamId: number;
  readonly errorCode: number;

  constructor(streamId: number, errorCode: number) {
    super('QFAAS_QUIC_STREAM_RESET', `QUIC stream ${streamId} was reset by the peer with error 0x${errorCode.toString(16)}`);
    this.streamId = streamId;
    this.errorCode = errorCode;
  }
}

/** The peer asked this side to stop sending on a stream with STOP_SENDING. */
export class QuicStreamStoppedError extends QfaasError {
  override readonly name = 'QuicStreamStoppedError';
  declare readonly code: 'QFAAS_QUIC_STREAM_STOPPED';
  readonly streamId: number;
  readonly errorCode: number;

  constructor(streamId: number, errorCode: number) {
    super('QFAAS_QUIC_STREAM_STOPPED', `QUIC stream ${streamId} was stopped by the peer with error 0x${errorCode.toString(16)}`);
    this.streamId = streamId;
    this.errorCode = errorCode;
  }
}

/** A stream was used after this side reset or stopped it, or after its connection closed. */
export class QuicStreamStateError extends QfaasError {
  override readonly name = 'QuicStreamStateError';
  declare readonly code: 'QFAAS_QUIC_STREAM_STATE';
  readonly streamId: number;

  constructor(streamId: number, detail: string) {
    super('QFAAS_QUIC_STREAM_STATE', `QUIC stream ${streamId}: ${detail}`);
    this.streamId = streamId;
  }
}

/** The endpoint (its UDP socket) is closed; no new connection can be made on it. */
export class QuicEndpointClosedError extends QfaasError {
  override readonly name = 'QuicEndpointClosedError';
  declare readonly code: 'QFAAS_QUIC_ENDPOINT_CLOSED';

  constructor() {
    super('QFAAS_QUIC_ENDPOINT_CLOSED', 'QUIC endpoint is closed');
  }
}

/** The QUIC implementation failed in a way that does not map to a protocol error; the connection is closed. */
export class QuicInternalError extends QfaasError {
  override readonly name = 'QuicInternalError';
  declare readonly code: 'QFAAS_QUIC_INTERNAL';

  constructor(message: string, options?: { cause?: unknown }) {
    super('QFAAS_QUIC_INTERNAL', message, options);
  }
}

/** Every error a connection can end with. */
export type QuicConnectionError =
  | QuicConnectionClosedError
  | QuicStatelessResetError
  | QuicTlsError
  | QuicIdleTimeoutError
  | QuicInternalError;

// ---- HTTP/3 ------------------------------------------------------------------------------------

/**
 * An HTTP/3 or QPACK protocol error. `errorName` is the RFC name of `errorCode`.
 * `scope: 'connection'` closed the whole connection with CONNECTION_CLOSE; `scope: 'stream'` reset
 * one request stream. `initiator` says which side detected it. H3_REQUEST_REJECTED from the peer
 * means the request was not processed (RFC 9114 section 4.1.1), so it is retryable.
 */
export class Http3Error extends QfaasError {
  override readonly name = 'Http3Error';
  declare readonly code: 'QFAAS_H3_PROTOCOL_ERROR';
  readonly errorName: H3ErrorName | 'H3_UNKNOWN_ERROR';
  readonly errorCode: number;
  readonly scope: 'connection' | 'stream';
  readonly initiator: CloseInitiator;

  constructor(errorCode: number, detail: string, options: { scope: 'connection' | 'stream'; initiator?: CloseInitiator; cause?: unknown }) {
    const name = knownH3ErrorName(errorCode);
    const initiator = options.initiator ?? 'local';
    const rejected = initiator === 'peer' && errorCode === h3ErrorCodes.H3_REQUEST_REJECTED;
    super('QFAAS_H3_PROTOCOL_ERROR', `${name ?? `HTTP/3 error 0x${errorCode.toString(16)}`}: ${detail}`, {
      cause: options.cause,
      ...(rejected ? { retryable: true, mayHaveRun: false } : {}),
    });
    this.errorName = name ?? 'H3_UNKNOWN_ERROR';
    this.errorCode = errorCode;
    this.scope = options.scope;
    this.initiator = initiator;
  }
}

/**
 * A header section was not sent because it exceeds the peer's SETTINGS_MAX_FIELD_SECTION_SIZE
 * (RFC 9114 section 4.2.2); nothing left this side.
 */
export class Http3FieldSectionTooLargeError extends QfaasError {
  override readonly name = 'Http3FieldSectionTooLargeError';
  declare readonly code: 'QFAAS_H3_FIELD_SECTION_TOO_LARGE';
  readonly size: number;
  readonly limit: number;

  constructor(size: number, limit: number) {
    super('QFAAS_H3_FIELD_SECTION_TOO_LARGE', `header section of ${size} bytes exceeds the peer's limit of ${limit} bytes`);
    this.size = size;
    this.limit = limit;
  }
}

/** The peer sent GOAWAY: the request was not processed and may be retried on a new connection. */
export class Http3GoawayError extends QfaasError {
  override readonly name = 'Http3GoawayError';
  declare readonly code: 'QFAAS_H3_GOAWAY';

  constructor(detail: string) {
    super('QFAAS_H3_GOAWAY', detail);
  }
}
