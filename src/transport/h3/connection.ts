import { QfaasConfigError, withoutStack } from '../../errors.js';
import { QuicConnectionClosedError, QuicStreamResetError, QuicStreamStoppedError } from '../../errors.js';
import { ConnectionFacts } from './connection-facts.js';
import { ClientExchange, type ClientRequestHost, type Http3RequestOptions, type Http3ResponseData } from './client-request.js';
import { connectionError, streamError } from './protocol-errors.js';
import { h3ErrorCodes } from './error-codes.js';
import { Http3Error, Http3GoawayError } from '../../errors.js';
import { FrameReader } from './frame-reader.js';
import {
  encodeFrame,
  encodeGoawayFrame,
  encodeSettingsFrame,
  encodeStreamType,
  frameType,
  greaseValue,
  parseSettingsPayload,
  parseSingleVarintPayload,
  streamType,
} from './frames.js';
import { decodeFieldSection, type Field } from './qpack/field-section.js';
import { QpackDecoderStreamChecker, QpackEncoderStreamChecker } from './qpack/instruction-streams.js';
import { serveRequestStream, ServerRequestState, type Http3RequestHandler, type ServerRequestHost } from './server-request.js';
import {
  checkSettingsAfterZeroRtt,
  defaultMaxFieldSectionSize,
  defaultPeerSettings,
  localSettings,
  peerSettingsFrom,
  type Http3PeerSettings,
} from './settings.js';
import { nextFrameEvent, readStreamType } from './stream-reading.js';
import { UnfinishedHeaderSections } from './unfinished-headers.js';
import type { H3Stream, H3Transport } from './transport.js';
import { fetchWeb, webRequestHandler, type Http3Handler } from './web-adapters.js';
import { nonNegative } from '../../option-checks.js';

/** Options of an HTTP/3 connection: limits, remembered SETTINGS, and the handler on a server. */
export interface Http3ConnectionOptions {
  /**
   * Largest header section accepted, in bytes as RFC 9114 section 4.2.2 counts them (names and
   * values plus 32 per field). Advertised in SETTINGS; a larger request gets 431, a larger
   * response fails the request.
   * @default 65536
   */
  maxFieldSectionSize?: number;
  /** Send reserved (grease) settings and frames so peers stay tolerant of unknown values. @default true */
  grease?: boolean;
  /**
   * Client: the server's SETTINGS remembered with the session. They apply in 0-RTT until the
   * server's SETTINGS arrive (RFC 9114 section 7.2.4.2). @default the RFC defaults
   */
  rememberedPeerSettings?: Http3PeerSettings;
  /** Server: answers each request with the lean request and response (give this or `handler`). @default none */
  onRequest?: Http3RequestHandler;
  /** Server: answers each request with web `Request`/`Response` objects, built only for this form. @default none */
  handler?: Http3Handler;
  /**
   * Server: a request's header section must be complete this long after its stream's first byte,
   * or the stream is reset with H3_REQUEST_INCOMPLETE (Node's `headersTimeout`). 0 disables it.
   * @default 10_000
   */
  headersTimeoutMs?: number;
  /**
   * Server: bytes that unfinished request header sections may buffer together on one connection;
   * more closes the connection with H3_EXCESSIVE_LOAD. 0 means no cap. Must leave room for one
   * largest HEADERS frame (about twice `maxFieldSectionSize`).
   * @default 1_048_576
   */
  maxUnfinishedHeaderBytes?: number;
  /** Server: told about what the connection does on its own, for metrics. @default none */
  events?: Http3ServerEvents;
}

/** What a server connection reports to whoever keeps its metrics. */
export interface Http3ServerEvents {
  /** A response header section is about to be sent, whoever produced it (handler, 431, 501, 421…). */
  response?(status: number): void;
  /** A request's header section missed `headersTimeoutMs`; its stream was reset. */
  headersTimedOut?(): void;
  /** Unfinished header sections exceeded `maxUnfinishedHeaderBytes`; the connection was closed. */
  headerBytesExceeded?(): void;
}

/** How long a request's header section may take to arrive (`headersTimeoutMs`). */
export const defaultHeadersTimeoutMs = 10_000;
/** How long a graceful close (GOAWAY, then waiting for requests in flight) waits at most. */
export const defaultDrainTimeoutMs = 10_000;
/** Bytes unfinished header sections may hold on one connection (`maxUnfinishedHeaderBytes`). */
export const defaultMaxUnfinishedHeaderBytes = 1_048_576;

const controlFrameLimit = 16 * 1024;

/**
 * An HTTP/3 connection (RFC 9114) over a QUIC connection: control streams and SETTINGS, request
 * streams mapped to web `Request`/`Response`, GOAWAY, and the error handling the RFC asks for.
 * QPACK runs without a dynamic table (capacity 0).
 */
export class Http3Connection {
  readonly role: 'client' | 'server';
  readonly #transport: H3Transport;
  readonly #maxFieldSectionSize: number;
  readonly #grease: boolean;
  readonly #remembered: Http3PeerSettings | undefined;
  readonly #onRequest: Http3RequestHandler | undefined;
  readonly #events: Http3ServerEvents | undefined;
  /** Server: request header sections begun and not finished (deadline and byte cap). */
  readonly #unfinished: UnfinishedHeaderSections | undefined;
  /**
   * Request streams in progress. On a server each carries its request's `info.signal` controller,
   * aborted when the client cancels or the connection ends.
   */
  readonly #active = new Map<H3Stream, ServerRequestState | undefined>();
  #control: H3Stream | undefined;
  readonly #peerSettings: Promise<Http3PeerSettings>;
  #resolvePeerSettings!: (settings: Http3PeerSettings) => void;
  #currentPeerSettings: Http3PeerSettings | undefined;
  #peerControl = false;
  #peerEncoder = false;
  #peerDecoder = false;
  #peerMaxPushId: number | undefined;
  #goawayReceived: number | undefined;
  #goawaySent: number | undefined;
  #nextRequestId = 0;
  #closeError: Error | undefined;
  readonly #closed: Promise<Error>;
  #resolveClosed!: (error: Error) => void;
  #idleWaiters: Array<() => void> = [];
  #goawayWaiters: Array<() => void> = [];

  constructor(transport: H3Transport, options: Http3ConnectionOptions = {}) {
    this.role = transport.role;
    this.#transport = transport;
    this.#facts = new ConnectionFacts(transport);
    const max = options.maxFieldSectionSize ?? defaultMaxFieldSectionSize;
    if (!Number.isSafeInteger(max) || max < 1024) throw new QfaasConfigError('maxFieldSectionSize', 'must be an integer of at least 1024');
    this.#maxFieldSectionSize = max;
    this.#grease = options.grease ?? true;
    this.#remembered = options.rememberedPeerSettings;
    if (options.handler !== undefined && options.onRequest !== undefined) throw new QfaasConfigError('handler', 'give one of handler and onRequest');
    this.#onRequest = options.onRequest ?? (options.handler === undefined ? undefined : webRequestHandler(options.handler));
    if (this.role === 'server' && this.#onRequest === undefined) throw new QfaasConfigError('handler', 'a server connection needs a handler (onRequest or handler)');
    this.#events = options.events;
    if (this.role === 'server') {
      const timeoutMs = options.headersTimeoutMs ?? defaultHeadersTimeoutMs;
      const maxBytes = options.maxUnfinishedHeaderBytes ?? defaultMaxUnfinishedHeaderBytes;
      nonNegative(timeoutMs, 'headersTimeoutMs');
      if (!Number.isSafeInteger(maxBytes) || maxBytes < 0 || (maxBytes > 0 && maxBytes < this.#maxHeadersPayload())) {
        throw new QfaasConfigError('maxUnfinishedHeaderBytes', `must be 0 (no cap) or at least ${this.#maxHeadersPayload()} (one largest HEADERS frame)`);
      }
      this.#unfinished = new UnfinishedHeaderSections({
        timeoutMs,
        maxBytes,
        onTimeout: (stream) => {
          this.#events?.headersTimedOut?.();
          stream.stopSending(h3ErrorCodes.H3_REQUEST_INCOMPLETE);
          stream.reset(h3ErrorCodes.H3_REQUEST_INCOMPLETE);
        },
      });
      const unfinished = this.#unfinished;
      this.#serverHost = {
        maxFieldSectionSize: this.#maxFieldSectionSize,
        maxHeadersPayload: () => this.#maxHeadersPayload(),
        unfinished,
        decodeFields: (payload, what) => this.#decodeFields(payload, what),
        peerMaxFieldSectionSize: () => this.effectivePeerSettings.maxFieldSectionSize,
        onHeaderBytesExceeded: () => this.#events?.headerBytesExceeded?.(),
        onResponse: (status) => this.#events?.response?.(status),
        failStream: (stream, error) => this.#failServerStream(stream, error),
      };
    } else {
      this.#serverHost = undefined;
    }
    this.#peerSettings = new Promise((resolve) => {
      this.#resolvePeerSettings = resolve;
    });
    this.#closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    transport.setStreamHandler((stream) => this.#onStream(stream));
    void this.#openControlStream();
    void transport.closed.then((reason) => this.#onTransportClosed(reason));
  }

  /** Resolves with the peer's SETTINGS once they arrive (store them with the session for 0-RTT). */
  get peerSettings(): Promise<Http3PeerSettings> {
    return this.#peerSettings;
  }

  /** The settings that bound what this side sends now: received, remembered, or the defaults. */
  get effectivePeerSettings(): Http3PeerSettings {
    return this.#currentPeerSettings ?? this.#remembered ?? defaultPeerSettings;
  }

  /** Resolves (never rejects) with the reason once the connection is closed. */
  get closed(): Promise<Error> {
    return this.#closed;
  }

  get closeError(): Error | undefined {
    return this.#closeError;
  }

  /** True once the peer sent GOAWAY: no new request may start on this connection. */
  get goingAway(): boolean {
    return this.#goawayReceived !== undefined || this.#goawaySent !== undefined;
  }

  /** Requests in progress, counted from their stream's first byte. */
  get activeRequests(): number {
    return this.#active.size;
  }

  /** Server: request header sections begun and not complete, and the bytes they hold. */
  get unfinishedHeaderSections(): { count: number; bytes: number } {
    return { count: this.#unfinished?.count ?? 0, bytes: this.#unfinished?.bytes ?? 0 };
  }

  // ---- Client ---------------------------------------------------------------------------------

  /**
   * Sends a request and resolves with the response once its header section arrived; the body
   * streams after that (read it, or `dump()` it: the stream stays open until then). Rejects with
   * Http3Error (stream or connection scope), Http3GoawayError (not processed; retry elsewhere),
   * Http3FieldSectionTooLargeError, or the signal's reason.
   */
  request(options: Http3RequestOptions): Promise<Http3ResponseData> {
    const signal = options.signal;
    if (signal === undefined) return this.startRequest(options).response;
    if (signal.aborted) return Promise.reject(signal.reason);
    // One listener per request, removed when the exchange settles: a signal shared by many
    // requests must not collect listeners.
    const onAbort = () => exchange.cancel(signal.reason);
    const exchange = this.startRequest(options, () => signal.removeEventListener('abort', onAbort));
    signal.addEventListener('abort', onAbort, { once: true });
    return exchange.response;
  }

  /**
   * Starts a request; `cancel()` on the exchange aborts it at any point (what `request` does on the
   * signal, without one). `onSettled` runs once the exchange is over: response body read, failed,
   * or cancelled.
   */
  startRequest(options: Http3RequestOptions, onSettled?: () => void): ClientExchange {
    return new ClientExchange(this.#clientHost, options, onSettled);
  }

  /**
   * The web form of {@link request}, with `fetch()`'s arguments: the URL's host is the request's
   * `:authority` (the connection is already made). A `Response` back; its facts from
   * `getResponseInfo`.
   */
  fetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
    // The signal stays out of any Request made here: a Request adds a listener to the signal it is
    // given, and a signal shared by many requests would collect them.
    const { signal, ...rest } = init;
    const request = input instanceof Request && Object.keys(rest).length === 0 ? input : new Request(input, rest);
    return fetchWeb((lean) => this.request(lean), request, signal ?? (input instanceof Request ? input.signal : undefined));
  }

  readonly #clientHost: ClientRequestHost = {
    openStream: () => {
      if (this.role !== 'client') return Promise.reject(new QfaasConfigError('connection', 'request() needs a client connection (from connectHttp3)'));
      if (this.#closeError !== undefined) return Promise.reject(this.#closeError);
      if (this.#goawayReceived !== undefined) return Promise.reject(new Http3GoawayError('the server sent GOAWAY; open a new connection'));
      return this.#transport.openBidirectionalStream();
    },
    peerMaxFieldSectionSize: () => this.effectivePeerSettings.maxFieldSectionSize,
    maxHeadersPayload: () => this.#maxHeadersPayload(),
    decodeFields: (payload, what) => this.#decodeFields(payload, what),
    track: (stream) => this.#active.set(stream, undefined),
    release: (stream) => this.#release(stream),
    failRequest: (stream, error) => this.#failRequest(stream, error),
  };

  // ---- Server ---------------------------------------------------------------------------------

  async #serveRequest(stream: H3Stream): Promise<void> {
    if (this.#goawaySent !== undefined && stream.id >= this.#goawaySent) {
      // Not processed: the client may retry it on a new connection (RFC 9114 section 5.2).
      stream.stopSending(h3ErrorCodes.H3_REQUEST_REJECTED);
      stream.reset(h3ErrorCodes.H3_REQUEST_REJECTED);
      return;
    }
    this.#nextRequestId = Math.max(this.#nextRequestId, stream.id + 4);
    const state = new ServerRequestState(stream, this.#facts);
    this.#active.set(stream, state);
    try {
      await serveRequestStream(this.#serverHost as ServerRequestHost, stream, state, this.#onRequest as Http3RequestHandler);
    } finally {
      this.#release(stream);
    }
  }

  readonly #serverHost: ServerRequestHost | undefined;
  readonly #facts: ConnectionFacts;

  #failServerStream(stream: H3Stream, error: unknown): void {
    if (error instanceof Http3Error && error.scope === 'connection') {
      this.#fail(error);
      return;
    }
    const code = error instanceof Http3Error ? error.errorCode : h3ErrorCodes.H3_INTERNAL_ERROR;
    if (error instanceof QuicStreamResetError || error instanceof QuicStreamStoppedError) {
      // The client cancelled: stop both directions quietly.
      stream.stopSending(h3ErrorCodes.H3_REQUEST_CANCELLED);
      stream.reset(h3ErrorCodes.H3_REQUEST_CANCELLED);
      return;
    }
    stream.stopSending(code);
    stream.reset(code);
  }

  // ---- Shutdown -------------------------------------------------------------------------------

  /**
   * Graceful shutdown (RFC 9114 section 5.2). A server sends GOAWAY: requests already received
   * finish, later ones are rejected with H3_REQUEST_REJECTED (safe to retry). Waits up to
   * `timeoutMs` (default 10_000) for active requests, then closes with H3_NO_ERROR.
   */
  async shutdown(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.#closeError !== undefined) return;
    if (this.#goawaySent === undefined) {
      this.#goawaySent = this.role === 'server' ? this.#nextRequestId : 0;
      // A server's control stream opens only once the handshake completes; if it has not, there
      // is nobody to tell, and waiting for it could last until the idle timeout.
      await this.#control?.write(encodeGoawayFrame(this.#goawaySent)).catch(() => undefined);
    }
    const deadline = performance.now() + (options.timeoutMs ?? defaultDrainTimeoutMs);
    if (this.#active.size > 0) await raceTimeout(new Promise<void>((resolve) => this.#idleWaiters.push(resolve)), deadline - performance.now());
    if (this.role === 'server') {
      // Requests the client sent before it read GOAWAY are still on their way: staying open a
      // moment answers them H3_REQUEST_REJECTED (unprocessed) instead of a close the client cannot
      // tell from a crash. A client that read GOAWAY with nothing in flight closes first.
      await raceTimeout(this.#closed, Math.min(lateRequestGraceMs, deadline - performance.now()));
    }
    this.close();
  }

  /** Closes at once with H3_NO_ERROR (or the given code); requests in progress fail. */
  close(errorCode: number = h3ErrorCodes.H3_NO_ERROR, reason = ''): void {
    if (this.#closeError !== undefined) return;
    this.#fail(withoutStack(() => new Http3Error(errorCode, reason === '' ? 'connection closed locally' : reason, { scope: 'connection' })));
  }

  /** Resolves once the peer sends GOAWAY. */
  whenGoaway(): Promise<void> {
    if (this.#goawayReceived !== undefined) return Promise.resolve();
    return new Promise((resolve) => this.#goawayWaiters.push(resolve));
  }

  // ---- Streams and control ------------------------------------------------------------------

  async #openControlStream(): Promise<void> {
    try {
      const stream = await this.#transport.openUnidirectionalStream();
      const parts = [encodeStreamType(streamType.control), encodeSettingsFrame(localSettings(this.#maxFieldSectionSize, this.#grease))];
      if (this.#grease) parts.push(encodeFrame(greaseValue(), Uint8Array.of(Math.floor(Math.random() * 256))));
      await stream.write(concat(parts));
      this.#control = stream;
    } catch {
      // The connection closed first; `closed` reports why.
    }
  }

  #onStream(stream: H3Stream): void {
    if (this.#closeError !== undefined) return;
    if (stream.bidirectional) {
      if (this.role === 'client') {
        this.#fail(connectionError('H3_STREAM_CREATION_ERROR', 'the server opened a bidirectional stream'));
        return;
      }
      void this.#serveRequest(stream);
      return;
    }
    void this.#readUnidirectional(stream).catch((error: unknown) => this.#onCriticalStreamError(error));
  }

  async #readUnidirectional(stream: H3Stream): Promise<void> {
    const typed = await readStreamType(stream);
    if (typed === undefined) return;
    switch (typed.type) {
      case streamType.control:
        if (this.#peerControl) throw connectionError('H3_STREAM_CREATION_ERROR', 'a second control stream');
        this.#peerControl = true;
        await this.#readControl(stream, typed.rest);
        return;
      case streamType.push:
        if (this.role === 'client') throw connectionError('H3_ID_ERROR', 'a push stream, but no MAX_PUSH_ID was sent');
        throw connectionError('H3_STREAM_CREATION_ERROR', 'a client opened a push stream');
      case streamType.qpackEncoder: {
        if (this.#peerEncoder) throw connectionError('H3_STREAM_CREATION_ERROR', 'a second QPACK encoder stream');
        this.#peerEncoder = true;
        await this.#checkInstructions(stream, typed.rest, new QpackEncoderStreamChecker());
        return;
      }
      case streamType.qpackDecoder: {
        if (this.#peerDecoder) throw connectionError('H3_STREAM_CREATION_ERROR', 'a second QPACK decoder stream');
        this.#peerDecoder = true;
        await this.#checkInstructions(stream, typed.rest, new QpackDecoderStreamChecker());
        return;
      }
      default:
        // Unknown and reserved stream types are not processed (RFC 9114 section 6.2).
        stream.stopSending(h3ErrorCodes.H3_STREAM_CREATION_ERROR);
    }
  }

  async #checkInstructions(stream: H3Stream, first: Uint8Array, checker: QpackEncoderStreamChecker | QpackDecoderStreamChecker): Promise<void> {
    checker.push(first);
    for (;;) {
      const chunk = await stream.read();
      if (chunk === null) throw connectionError('H3_CLOSED_CRITICAL_STREAM', 'a QPACK stream was closed');
      checker.push(chunk);
    }
  }

  async #readControl(stream: H3Stream, first: Uint8Array): Promise<void> {
    const reader = new FrameReader({ maxFramePayload: controlFrameLimit });
    reader.push(first);
    const settings = await nextFrameEvent(stream, reader);
    if (settings === 'end') throw connectionError('H3_CLOSED_CRITICAL_STREAM', 'the control stream was closed');
    if (settings.kind !== 'frame' || settings.type !== frameType.settings) {
      throw connectionError('H3_MISSING_SETTINGS', 'the control stream did not start with SETTINGS');
    }
    this.#applyPeerSettings(peerSettingsFrom(parseSettingsPayload(settings.payload)));
    for (;;) {
      const event = await nextFrameEvent(stream, reader);
      if (event === 'end') throw connectionError('H3_CLOSED_CRITICAL_STREAM', 'the control stream was closed');
      if (event.kind === 'data') throw connectionError('H3_FRAME_UNEXPECTED', 'DATA on the control stream');
      switch (event.type) {
        case frameType.goaway:
          this.#onGoaway(parseSingleVarintPayload(event.payload, 'GOAWAY'));
          break;
        case frameType.maxPushId: {
          if (this.role === 'client') throw connectionError('H3_FRAME_UNEXPECTED', 'MAX_PUSH_ID from a server');
          const pushId = parseSingleVarintPayload(event.payload, 'MAX_PUSH_ID');
          if (this.#peerMaxPushId !== undefined && pushId < this.#peerMaxPushId) throw connectionError('H3_ID_ERROR', 'MAX_PUSH_ID decreased');
          this.#peerMaxPushId = pushId;
          break;
        }
        case frameType.cancelPush: {
          const pushId = parseSingleVarintPayload(event.payload, 'CANCEL_PUSH');
          if (this.role === 'client' || this.#peerMaxPushId === undefined || pushId > this.#peerMaxPushId) {
            throw connectionError('H3_ID_ERROR', `CANCEL_PUSH for push ${pushId}, which cannot exist`);
          }
          break; // this side never pushes: nothing to cancel
        }
        default:
          throw connectionError('H3_FRAME_UNEXPECTED', `frame 0x${event.type.toString(16)} on the control stream`);
      }
    }
  }

  #applyPeerSettings(settings: Http3PeerSettings): void {
    this.#currentPeerSettings = settings;
    this.#resolvePeerSettings(settings);
    const remembered = this.#remembered;
    if (this.role === 'client' && remembered !== undefined) {
      void this.#transport.handshake.then(
        (info) => {
          if (!info.earlyDataAccepted) return;
          try {
            checkSettingsAfterZeroRtt(remembered, settings);
          } catch (error) {
            this.#fail(error as Http3Error);
          }
        },
        () => undefined,
      );
    }
  }

  #onGoaway(id: number): void {
    if (this.role === 'client' && id % 4 !== 0) throw connectionError('H3_ID_ERROR', `GOAWAY with ${id}, not a client request stream`);
    if (this.#goawayReceived !== undefined && id > this.#goawayReceived) throw connectionError('H3_ID_ERROR', 'GOAWAY identifier increased');
    this.#goawayReceived = id;
    for (const resolve of this.#goawayWaiters.splice(0)) resolve();
    if (this.role === 'client') {
      // Requests at or above the identifier were not processed and will not be.
      for (const stream of this.#active.keys()) {
        if (stream.id >= id) {
          stream.reset(h3ErrorCodes.H3_REQUEST_CANCELLED);
          stream.stopSending(h3ErrorCodes.H3_REQUEST_CANCELLED);
        }
      }
    }
  }

  #onCriticalStreamError(error: unknown): void {
    if (this.#closeError !== undefined) return;
    if (error instanceof Http3Error) {
      this.#fail(error);
      return;
    }
    if (error instanceof QuicStreamResetError) {
      this.#fail(connectionError('H3_CLOSED_CRITICAL_STREAM', 'a critical stream was reset'));
    }
    // Otherwise the QUIC connection itself closed; #onTransportClosed reports it.
  }

  // ---- Errors ---------------------------------------------------------------------------------

  #decodeFields(payload: Uint8Array, what: string): Field[] {
    const decoded = decodeFieldSection(payload, { maxFieldSectionSize: this.#maxFieldSectionSize });
    if (!Array.isArray(decoded)) throw streamError('H3_EXCESSIVE_LOAD', `${what} header section exceeds ${this.#maxFieldSectionSize} bytes`);
    return decoded;
  }

  #maxHeadersPayload(): number {
    return 2 * this.#maxFieldSectionSize + 1024;
  }

  /** Turns whatever failed a client request into the error the caller sees, and cleans up. */
  #failRequest(stream: H3Stream, error: unknown): Error {
    const goaway = this.#goawayReceived;
    // Whatever ended it (our own reset on GOAWAY, the close after the drain), the server said it
    // did not process this stream (RFC 9114 section 5.2).
    if (goaway !== undefined && stream.id >= goaway) {
      if (error instanceof Http3Error && error.scope === 'connection') this.#fail(error);
      return new Http3GoawayError('the server sent GOAWAY before processing the request');
    }
    if (error instanceof Http3Error) {
      if (error.scope === 'connection') {
        this.#fail(error);
        return this.#closeError ?? error;
      }
      if (error.initiator === 'local') {
        stream.stopSending(error.errorCode);
        stream.reset(error.errorCode);
      }
      return error;
    }
    if (error instanceof QuicStreamResetError || error instanceof QuicStreamStoppedError) {
      return new Http3Error(error.errorCode, `the server ${error instanceof QuicStreamResetError ? 'reset' : 'stopped'} the request stream`, {
        scope: 'stream',
        initiator: 'peer',
        cause: error,
      });
    }
    if (error instanceof QuicConnectionClosedError) return this.#closeError ?? this.#fromTransportClose(error);
    return error instanceof Error ? error : new Error(String(error));
  }

  #fail(error: Http3Error): void {
    if (this.#closeError !== undefined) return;
    this.#closeError = error;
    this.#transport.close(error.errorCode, error.message.slice(0, 120));
    this.#finish(error);
  }

  #onTransportClosed(reason: Error): void {
    if (this.#closeError !== undefined) return;
    this.#closeError = reason instanceof QuicConnectionClosedError ? this.#fromTransportClose(reason) : reason;
    this.#finish(this.#closeError);
  }

  #fromTransportClose(reason: QuicConnectionClosedError): Error {
    if (reason.kind !== 'application') return reason;
    return withoutStack(() => new Http3Error(reason.errorCode, reason.reason === '' ? 'connection closed' : reason.reason, {
      scope: 'connection',
      initiator: reason.initiator,
      cause: reason,
    }));
  }

  #finish(error: Error): void {
    this.#unfinished?.close();
    this.#resolveClosed(error);
    for (const state of this.#active.values()) state?.abort(error);
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
    for (const resolve of this.#goawayWaiters.splice(0)) resolve();
  }

  #release(stream: H3Stream): void {
    if (!this.#active.delete(stream)) return;
    if (this.#active.size === 0) for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }
}



/** How long a draining server waits, with no request left, for requests that crossed its GOAWAY. */
const lateRequestGraceMs = 250;

/** Waits for `promise` or `ms`, whichever comes first. */
async function raceTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  if (!(ms > 0)) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}


function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
