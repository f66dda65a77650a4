import { connectionError } from './protocol-errors.js';
import { h3ErrorCodes } from './error-codes.js';
import { FrameReader } from './frame-reader.js';
import { appendOutgoingHeaders, appendWebHeaders, headersRecord, type IncomingHeaders, type OutgoingHeaders } from './header-fields.js';
import { MessageBody } from './message-body.js';
import { checkTrailers, declaredContentLength, parseRequestHead } from './message.js';
import { writeMessage, type BodyInput } from './message-writer.js';
import { decodeFieldSection, fieldSectionSize, type Field } from './qpack/field-section.js';
import { requestRefusal } from './request-policy.js';
import { readRequestHeaders } from './request-headers.js';
import type { ConnectionFacts, PeerIdentity } from './connection-facts.js';
import type { HandshakeInfo } from '../quic/connection.js';
import type { H3Stream } from './transport.js';
import type { UnfinishedHeaderSections } from './unfinished-headers.js';

/** A request as a server receives it, in the style of Node's `IncomingMessage`: no web objects. */
export interface Http3IncomingRequest {
  method: string;
  /**
   * The `:path` exactly as received (origin-form, or `*`): never normalized, so a proxy checks
   * the text the client sent.
   */
  path: string;
  /** `:authority`, or the host field when it was absent. */
  authority: string;
  scheme: string;
  /** Lower-case names; repeated fields joined with ', '. */
  headers: IncomingHeaders;
  /** Every field as received, in order. */
  headerList: readonly Field[];
  /** Empty for GET and HEAD (a body there has no meaning; it is still read and checked). */
  body: MessageBody;
  /** Filled in once the body has been read to its end. */
  trailers: IncomingHeaders;
}

/** What a handler answers: a status, headers, and a body of bytes, text or chunks. */
export interface OutgoingResponse {
  statusCode: number;
  headers?: OutgoingHeaders | Headers;
  body?: BodyInput;
}

/** What a server handler learns about a request besides the request itself. */
export interface Http3RequestInfo {
  /** QUIC stream ID of the request. */
  readonly streamId: number;
  /** The request arrived in 0-RTT early data, before the handshake completed (RFC 8470). */
  readonly earlyData: boolean;
  /** Settles once the connection's handshake completed (rejects if it never does). */
  readonly handshake: Promise<HandshakeInfo>;
  /** The connection's handshake facts once complete, undefined before. */
  readonly handshakeInfo: HandshakeInfo | undefined;
  /** DER of the client certificate (mutual TLS), leaf first; undefined without one. */
  peerCertificateChain(): Uint8Array[] | undefined;
  /** The client certificate's subject CN and OU, parsed once per connection; empty without one. */
  peerIdentity(): PeerIdentity;
  /**
   * Aborted when the client cancels (a reset or STOP_SENDING seen while reading the body or writing
   * the response) or the connection closes. Made only when read: a request that never asks costs
   * no AbortController.
   */
  readonly signal: AbortSignal;
  /** True once the client cancelled or the connection closed (no signal needed to ask). */
  readonly aborted: boolean;
}

/** The lean server handler: a request and its info in, `{ statusCode, headers?, body? }` out. */
export type Http3RequestHandler = (request: Http3IncomingRequest, info: Http3RequestInfo) => OutgoingResponse | Promise<OutgoingResponse>;

/** Per-request state the connection keeps: the request's cancellation, made into a signal on demand. */
export class ServerRequestState implements Http3RequestInfo {
  readonly streamId: number;
  readonly earlyData: boolean;
  readonly #facts: ConnectionFacts;
  #controller: AbortController | undefined;
  #aborted = false;
  #reason: unknown;
  #onAbort: ((reason: unknown) => void) | undefined;

  constructor(stream: H3Stream, facts: ConnectionFacts) {
    this.streamId = stream.id;
    this.earlyData = stream.earlyData;
    this.#facts = facts;
  }

  get handshake(): Promise<HandshakeInfo> {
    return this.#facts.handshake;
  }

  get handshakeInfo(): HandshakeInfo | undefined {
    return this.#facts.handshakeInfo;
  }

  peerCertificateChain(): Uint8Array[] | undefined {
    return this.#facts.peerCertificateChain();
  }

  peerIdentity(): PeerIdentity {
    return this.#facts.peerIdentity();
  }

  /** One listener for the abort, without an AbortSignal (the layer above sets it, once). */
  set onAbort(listener: ((reason: unknown) => void) | undefined) {
    this.#onAbort = listener;
  }

  get abortReason(): unknown {
    return this.#reason;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
    this.#onAbort?.(reason);
  }
}

/** What a server request needs from its connection. */
export interface ServerRequestHost {
  readonly maxFieldSectionSize: number;
  maxHeadersPayload(): number;
  readonly unfinished: UnfinishedHeaderSections;
  decodeFields(payload: Uint8Array, what: string): Field[];
  peerMaxFieldSectionSize(): number;
  onHeaderBytesExceeded(): void;
  onResponse(status: number): void;
  failStream(stream: H3Stream, error: unknown): void;
}

const emptyBody = (): MessageBody => new MessageBody(undefined);

/**
 * Serves one request stream: reads and checks the header section, runs the handler, sends its
 * answer. A failure of the stream (reset, malformed body) aborts `state` and writes nothing more.
 */
export async function serveRequestStream(host: ServerRequestHost, stream: H3Stream, state: ServerRequestState, handler: Http3RequestHandler): Promise<void> {
  let failed = false;
  const fail = (error: unknown) => {
    if (failed) return;
    failed = true;
    state.abort(error);
    host.failStream(stream, error);
  };
  try {
    const reader = new FrameReader({ maxFramePayload: host.maxHeadersPayload() });
    const payload = await readRequestHeaders(stream, reader, host.unfinished, host.onHeaderBytesExceeded);
    const decoded = decodeFieldSection(payload, { maxFieldSectionSize: host.maxFieldSectionSize });
    // Too large to handle: answer 431 and ask the client to stop the body (RFC 9114 section 4.2.2).
    if (!Array.isArray(decoded)) return await answerWithoutReading(host, stream, 431);
    const head = parseRequestHead(decoded);
    const refusal = requestRefusal(head);
    if (refusal !== undefined) return await answerWithoutReading(host, stream, refusal);
    const trailers = Object.create(null) as IncomingHeaders;
    const wire = new MessageBody({
      stream,
      reader,
      contentLength: declaredContentLength(head.headers),
      decodeTrailers: (trailerPayload) => checkTrailers(host.decodeFields(trailerPayload, 'trailers')),
      onPushPromise: () => connectionError('H3_FRAME_UNEXPECTED', 'PUSH_PROMISE from a client'),
      onEnd: (received) => {
        if (received !== undefined) Object.assign(trailers, headersRecord(received));
      },
      onError: fail,
      // A handler that answers without the request body (a stored Idempotency-Key response, a
      // refusal) only stops the client's sending: its response still goes out (RFC 9114 section 4.1.1).
      onCancel: () => stream.stopSending(h3ErrorCodes.H3_NO_ERROR),
    });
    // A GET or HEAD body has no meaning here (RFC 9110 section 9.3.1): it is read and checked, not handed over.
    const bodyless = head.method === 'GET' || head.method === 'HEAD';
    if (bodyless) void wire.dump().catch(() => undefined);
    let authority = head.authority;
    let fields = head.headers;
    if (fields.some(isHost)) {
      authority ??= fields.find(isHost)?.[1];
      fields = fields.filter((field) => !isHost(field));
    }
    const request: Http3IncomingRequest = {
      method: head.method,
      path: head.path ?? '',
      authority: authority ?? '',
      scheme: head.scheme ?? 'https',
      headers: headersRecord(fields),
      headerList: fields,
      body: bodyless ? emptyBody() : wire,
      trailers,
    };
    let response: OutgoingResponse;
    try {
      response = await handler(request, state);
      if (typeof response?.statusCode !== 'number') throw new TypeError('the handler did not return a response');
    } catch {
      response = { statusCode: 500 };
    }
    if (failed) {
      await cancelBody(response.body);
      return;
    }
    await respond(host, stream, response, head.method === 'HEAD');
    // The response is out: a request body nobody read is not needed. Stopping it (H3_NO_ERROR,
    // RFC 9114 section 4.1) ends the stream; left unread, a large one held its stream open for the
    // connection's life, and a few such requests used up the client's stream credit.
    wire.cancel();
  } catch (error) {
    fail(error);
  }
}

const isHost = (field: Field) => field[0] === 'host';

async function answerWithoutReading(host: ServerRequestHost, stream: H3Stream, status: number): Promise<void> {
  await respond(host, stream, { statusCode: status }, false);
  stream.stopSending(h3ErrorCodes.H3_NO_ERROR);
}

async function respond(host: ServerRequestHost, stream: H3Stream, response: OutgoingResponse, headRequest: boolean): Promise<void> {
  const status = response.statusCode;
  // A response that cannot be sent as the handler wrote it (bad status, header or size) is the
  // handler's bug: the client gets a plain 500 with none of the handler's fields or body.
  let plainError = !validStatus(status);
  let fields: Field[] = [[':status', plainError ? '500' : String(status)]];
  const headers = response.headers;
  if (!plainError) {
    try {
      if (headers instanceof Headers) appendWebHeaders(fields, headers);
      else appendOutgoingHeaders(fields, headers);
    } catch {
      plainError = true;
    }
    if (!plainError && fieldSectionSize(fields) > host.peerMaxFieldSectionSize()) plainError = true;
  }
  if (plainError) fields = [[':status', '500']];
  host.onResponse(plainError ? 500 : status);
  // HEAD, 204, 205 and 304 carry no content (RFC 9110 sections 9.3.2, 15.3.5, 15.3.6, 15.4.5).
  const bodyless = plainError || headRequest || status === 204 || status === 205 || status === 304;
  if (bodyless) await cancelBody(response.body);
  await writeMessage(stream, fields, bodyless ? null : response.body);
}

function validStatus(status: number): boolean {
  return Number.isInteger(status) && status >= 200 && status <= 999;
}

/** Tells an iterable body's producer it will not be read (a web stream is cancelled). */
async function cancelBody(body: BodyInput): Promise<void> {
  if (body === null || body === undefined || typeof body === 'string' || body instanceof Uint8Array) return;
  if (body instanceof MessageBody) {
    body.cancel();
    return;
  }
  if (body instanceof ReadableStream) {
    await body.cancel().catch(() => undefined);
    return;
  }
  try {
    await body[Symbol.asyncIterator]().return?.();
  } catch {
    // the producer's own failure
  }
}

