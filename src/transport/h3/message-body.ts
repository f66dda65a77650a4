import { connectionError, streamError } from './protocol-errors.js';
import { type Http3Error } from '../../errors.js';
import type { FrameReader } from './frame-reader.js';
import { frameType, http2OnlyFrameTypes } from './frames.js';
import type { Field } from './qpack/field-section.js';
import { nextFrameEvent } from './stream-reading.js';
import type { H3Stream } from './transport.js';

/** Frames that may follow a message's HEADERS on a request stream, and what ends it. */
export interface BodySource {
  stream: H3Stream;
  reader: FrameReader;
  /** Declared content-length, checked against the DATA received (RFC 9114 section 4.1.2). */
  contentLength: number | undefined;
  /** Decodes and checks a trailer section. */
  decodeTrailers(payload: Uint8Array): Field[];
  /** A PUSH_PROMISE on this stream: the caller says which error it is. */
  onPushPromise(): Http3Error;
  /** Called once the body ended cleanly, with the trailers if any. */
  onEnd(trailers: readonly Field[] | undefined): void;
  /** Called once on any failure; a connection-scoped Http3Error must close the connection. */
  onError(error: unknown): void;
  /** The consumer does not want the rest of the body (not a failure). */
  onCancel(reason: unknown): void;
}

type BodyState = 'open' | 'ended' | 'failed' | 'cancelled';

/**
 * The body of a received HTTP/3 message (a response on the client, a request on a server), read
 * straight off the stream's DATA frames: no web stream, no copy, a pull per chunk (backpressure).
 * Consume it once, as chunks (`for await`) or whole (`bytes`, `text`, `json`); `dump()` reads and
 * discards the rest, still enforcing the frame and content-length rules.
 */
export class MessageBody implements AsyncIterable<Uint8Array> {
  readonly #source: BodySource | undefined;
  #state: BodyState;
  #received = 0;
  #trailers: Field[] | undefined;
  #used = false;
  #abortReason: unknown;
  #ended: { promise: Promise<void>; resolve: () => void } | undefined;

  /** @internal built by the HTTP/3 layer; `undefined` makes an empty body. */
  constructor(source: BodySource | undefined) {
    this.#source = source;
    this.#state = source === undefined ? 'ended' : 'open';
  }

  /** True once a consumer started reading (a body is read once). */
  get bodyUsed(): boolean {
    return this.#used;
  }

  /** The next chunk, or null at the end of the body. Rejects on a malformed or cut message. */
  async read(): Promise<Uint8Array | null> {
    this.#used = true;
    const source = this.#source;
    if (source === undefined || this.#state === 'ended' || this.#state === 'cancelled') return null;
    if (this.#state === 'failed') throw this.#abortReason;
    try {
      for (;;) {
        const event = await nextFrameEvent(source.stream, source.reader);
        if (event === 'end') {
          if (source.contentLength !== undefined && this.#received !== source.contentLength) {
            throw streamError('H3_MESSAGE_ERROR', `content-length ${source.contentLength} but ${this.#received} bytes of DATA`);
          }
          this.#finish('ended');
          source.onEnd(this.#trailers);
          return null;
        }
        if (this.#trailers !== undefined) throw connectionError('H3_FRAME_UNEXPECTED', 'frame after trailers');
        if (event.kind === 'data') {
          if (event.chunk.length === 0) continue;
          this.#received += event.chunk.length;
          if (source.contentLength !== undefined && this.#received > source.contentLength) {
            throw streamError('H3_MESSAGE_ERROR', `more DATA than content-length ${source.contentLength}`);
          }
          return event.chunk;
        }
        if (event.type === frameType.headers) {
          this.#trailers = source.decodeTrailers(event.payload);
          continue;
        }
        if (event.type === frameType.pushPromise) throw source.onPushPromise();
        throw unexpectedOnRequestStream(event.type);
      }
    } catch (error) {
      // An abort wakes the pending read with the stream's own error: report the abort's reason.
      // (Read again: abort() and cancel() may have run while this read waited.)
      const state = this.#state as BodyState;
      if (state === 'failed') throw this.#abortReason;
      if (state === 'cancelled') return null;
      this.#abortReason = error;
      this.#finish('failed');
      source.onError(error);
      throw error;
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array, void, undefined> {
    let finished = false;
    try {
      for (let chunk = await this.read(); chunk !== null; chunk = await this.read()) yield chunk;
      finished = true;
    } finally {
      // A consumer that breaks out early does not want the rest.
      if (!finished && this.#state === 'open') this.cancel();
    }
  }

  /** The whole body in one buffer. */
  async bytes(): Promise<Uint8Array> {
    const first = await this.read();
    if (first === null) return new Uint8Array(0);
    const second = await this.read();
    if (second === null) return first;
    const chunks = [first, second];
    let length = first.length + second.length;
    for (let chunk = await this.read(); chunk !== null; chunk = await this.read()) {
      chunks.push(chunk);
      length += chunk.length;
    }
    const out = new Uint8Array(length);
    let offset = 0;
    for (const chunk of chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = await this.bytes();
    return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
      ? (bytes.buffer as ArrayBuffer)
      : (bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  }

  async text(): Promise<string> {
    return textDecoder.decode(await this.bytes());
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text()) as unknown;
  }

  /** Reads and discards the rest, still checking it (a malformed body still rejects). */
  async dump(): Promise<void> {
    this.#used = true;
    while ((await this.read()) !== null) {
      // discarded
    }
  }

  /**
   * Stops receiving: the peer is asked to stop sending (STOP_SENDING H3_NO_ERROR on a server, so
   * a response still goes out; H3_REQUEST_CANCELLED on a client). Reads after it return null.
   */
  cancel(reason?: unknown): void {
    if (this.#state !== 'open') return;
    this.#finish('cancelled');
    this.#source?.onCancel(reason);
  }

  /** @internal the exchange was aborted (timeout, signal, reset): reads reject with `reason`. */
  abort(reason: unknown): void {
    if (this.#state !== 'open') return;
    this.#abortReason = reason;
    this.#finish('failed');
  }

  /**
   * Settles (never rejects) once the body ended, failed or was cancelled. Made on first use: a
   * body nobody waits on costs no promise.
   */
  get ended(): Promise<void> {
    if (this.#ended === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.#ended = { promise, resolve };
      if (this.#state !== 'open') resolve();
    }
    return this.#ended.promise;
  }

  #finish(state: Exclude<BodyState, 'open'>): void {
    this.#state = state;
    this.#ended?.resolve();
  }

  /** @internal trailers received with the body, once it ended. */
  get trailerFields(): readonly Field[] | undefined {
    return this.#trailers;
  }

  /** A web ReadableStream over this body (for the `Request`/`Response` adapters). */
  toWebStream(): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          const chunk = await this.read();
          if (chunk === null) controller.close();
          else controller.enqueue(chunk);
        },
        cancel: (reason) => this.cancel(reason),
      },
      { highWaterMark: 0 },
    );
  }
}

const textDecoder = new TextDecoder();

/** Control-stream frames and HTTP/2-only frames on a request stream (RFC 9114 section 7.2). */
export function unexpectedOnRequestStream(type: number): Http3Error {
  const name = http2OnlyFrameTypes.has(type) ? 'an HTTP/2-only frame' : `frame 0x${type.toString(16)}`;
  return connectionError('H3_FRAME_UNEXPECTED', `${name} on a request stream`);
}
