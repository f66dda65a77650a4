import { QuicStreamStoppedError } from '../../errors.js';
import { connectionError, streamError } from './protocol-errors.js';
import { h3ErrorCodes } from './error-codes.js';
import { Http3FieldSectionTooLargeError } from '../../errors.js';
import { FrameReader } from './frame-reader.js';
import { frameType } from './frames.js';
import { appendOutgoingHeaders, headersRecord, type IncomingHeaders, type OutgoingHeaders } from './header-fields.js';
import { MessageBody, unexpectedOnRequestStream } from './message-body.js';
import { checkTrailers, declaredContentLength, parseResponseHead } from './message.js';
import { writeMessage, type BodyInput } from './message-writer.js';
import { fieldSectionSize, type Field } from './qpack/field-section.js';
import { nextFrameEvent } from './stream-reading.js';
import type { H3Stream } from './transport.js';

/** A request for {@link Http3Connection.request}, in the style of undici's `Dispatcher.request()`. */
export interface Http3RequestOptions {
  /** @default 'GET' */
  method?: string;
  /** Path and query, origin-form (e.g. `/function/hello?x=1`). */
  path: string;
  /** The `:authority`: the server's name (and port, when not the default). */
  authority: string;
  /** @default 'https' */
  scheme?: string;
  /** @default none */
  headers?: OutgoingHeaders;
  /** @default none: no body */
  body?: BodyInput;
  /** Aborts the exchange, body included: the stream is reset and reads reject with the reason. @default none */
  signal?: AbortSignal;
}

/** A response from {@link Http3Connection.request} (undici's `ResponseData`, plus transport facts). */
export interface Http3ResponseData {
  statusCode: number;
  /** Lower-case names; repeated fields joined with ', '. */
  headers: IncomingHeaders;
  /** Every field as received, in order (repeated fields kept apart, e.g. set-cookie). */
  headerList: readonly Field[];
  body: MessageBody;
  /** Filled in once the body has been read to its end (empty when the response had none). */
  trailers: IncomingHeaders;
  streamId: number;
  /** The request left in 0-RTT early data (and the server accepted it). */
  earlyData: boolean;
}

/** What a client exchange needs from its connection. */
export interface ClientRequestHost {
  openStream(): Promise<H3Stream>;
  /** The peer's limit on header sections now (received, remembered or default). */
  peerMaxFieldSectionSize(): number;
  maxHeadersPayload(): number;
  decodeFields(payload: Uint8Array, what: string): Field[];
  track(stream: H3Stream): void;
  release(stream: H3Stream): void;
  /** Turns whatever failed the request into the error the caller sees, and cleans up. */
  failRequest(stream: H3Stream, error: unknown): Error;
}

/** One request/response exchange on a client connection; `cancel` aborts it at any point. */
export class ClientExchange {
  readonly response: Promise<Http3ResponseData>;
  readonly #host: ClientRequestHost;
  readonly #onSettled: (() => void) | undefined;
  #resolve!: (response: Http3ResponseData) => void;
  #reject!: (error: unknown) => void;
  #stream: H3Stream | undefined;
  #body: MessageBody | undefined;
  /** 'head': waiting for the response's header section; 'body': streaming it; 'done'. */
  #phase: 'head' | 'body' | 'done' = 'head';
  #cancelReason: unknown;
  #cancelled = false;

  /** @internal */
  constructor(host: ClientRequestHost, options: Http3RequestOptions, onSettled?: () => void) {
    this.#host = host;
    this.#onSettled = onSettled;
    this.response = new Promise<Http3ResponseData>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    void this.#run(options);
  }

  /** Aborts the exchange: the stream is reset (H3_REQUEST_CANCELLED); the response or body rejects with `reason`. */
  cancel(reason: unknown): void {
    if (this.#phase === 'done' || this.#cancelled) return;
    this.#cancelled = true;
    this.#cancelReason = reason;
    const stream = this.#stream;
    if (this.#phase === 'body') this.#body?.abort(reason);
    if (stream !== undefined) {
      stream.reset(h3ErrorCodes.H3_REQUEST_CANCELLED);
      stream.stopSending(h3ErrorCodes.H3_REQUEST_CANCELLED);
    }
    if (this.#phase === 'head') this.#reject(reason);
    this.#settle();
  }

  #settle(): void {
    if (this.#phase === 'done') return;
    this.#phase = 'done';
    if (this.#stream !== undefined) this.#host.release(this.#stream);
    this.#onSettled?.();
  }

  async #run(options: Http3RequestOptions): Promise<void> {
    let stream: H3Stream | undefined;
    try {
      const method = options.method ?? 'GET';
      const fields: Field[] = [
        [':method', method],
        [':scheme', options.scheme ?? 'https'],
        [':authority', options.authority],
        [':path', options.path],
      ];
      appendOutgoingHeaders(fields, options.headers);
      const size = fieldSectionSize(fields);
      const limit = this.#host.peerMaxFieldSectionSize();
      if (size > limit) throw new Http3FieldSectionTooLargeError(size, limit);
      stream = await this.#host.openStream();
      if (this.#cancelled) {
        stream.reset(h3ErrorCodes.H3_REQUEST_CANCELLED);
        return;
      }
      this.#stream = stream;
      this.#host.track(stream);
      const body = options.body;
      if (body === null || body === undefined) {
        await writeMessage(stream, fields, body);
      } else {
        // The upload proceeds while the response is awaited: a server may answer (and stop it) early.
        const sending = stream;
        void writeMessage(sending, fields, body).catch((error: unknown) => {
          // After a complete response the server may stop the upload with H3_NO_ERROR (RFC 9114 section 4.1).
          if (error instanceof QuicStreamStoppedError && error.errorCode === h3ErrorCodes.H3_NO_ERROR) return;
          if (this.#phase !== 'done') sending.reset(h3ErrorCodes.H3_REQUEST_CANCELLED);
        });
      }
      const response = await this.#readResponse(stream, method);
      if (this.#cancelled) return;
      this.#phase = 'body';
      this.#resolve(response);
    } catch (error) {
      if (this.#cancelled) return;
      this.#reject(stream === undefined ? error : this.#host.failRequest(stream, error));
      this.#settle();
    }
  }

  async #readResponse(stream: H3Stream, method: string): Promise<Http3ResponseData> {
    const reader = new FrameReader({ maxFramePayload: this.#host.maxHeadersPayload() });
    for (;;) {
      const event = await nextFrameEvent(stream, reader);
      if (event === 'end') throw streamError('H3_REQUEST_INCOMPLETE', 'the response stream ended before its header section');
      if (event.kind === 'data') throw connectionError('H3_FRAME_UNEXPECTED', 'DATA before the response header section');
      if (event.type === frameType.pushPromise) throw connectionError('H3_ID_ERROR', 'PUSH_PROMISE, but no MAX_PUSH_ID was sent');
      if (event.type !== frameType.headers) throw unexpectedOnRequestStream(event.type);
      const head = parseResponseHead(this.#host.decodeFields(event.payload, 'response'));
      if (head.status < 200) continue; // informational responses precede the final one
      const noBody = method === 'HEAD' || head.status === 204 || head.status === 205 || head.status === 304;
      const trailers = Object.create(null) as IncomingHeaders;
      const body = new MessageBody({
        stream,
        reader,
        contentLength: noBody ? 0 : declaredContentLength(head.headers),
        decodeTrailers: (payload) => checkTrailers(this.#host.decodeFields(payload, 'trailers')),
        onPushPromise: () => connectionError('H3_ID_ERROR', 'PUSH_PROMISE, but no MAX_PUSH_ID was sent'),
        onEnd: (received) => {
          if (received !== undefined) Object.assign(trailers, headersRecord(received));
          this.#settle();
        },
        onError: (error) => {
          if (this.#phase === 'done') return;
          this.#host.failRequest(stream, error);
          this.#settle();
        },
        onCancel: () => {
          stream.stopSending(h3ErrorCodes.H3_REQUEST_CANCELLED);
          stream.reset(h3ErrorCodes.H3_REQUEST_CANCELLED);
          this.#settle();
        },
      });
      this.#body = body;
      const headers = headersRecord(head.headers);
      // No content here (RFC 9110 section 6.4.1): the stream is still read to its end, and checked.
      if (noBody) void body.dump().catch(() => undefined);
      return {
        statusCode: head.status,
        headers,
        headerList: head.headers,
        body: noBody ? new MessageBody(undefined) : body,
        trailers,
        streamId: stream.id,
        earlyData: stream.earlyData,
      };
    }
  }
}
