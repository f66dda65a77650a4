import { connectionError, streamError, type Http3Error } from './errors.js';
import type { FrameReader } from './frame-reader.js';
import { encodeFrameHeader, frameType, http2OnlyFrameTypes } from './frames.js';
import { nextFrameEvent } from './stream-reading.js';
import type { H3Stream } from './transport.js';

/** Chunks up to this size are copied behind their DATA header and sent in one write. */
const coalesceLimit = 16 * 1024;

const notYet = Symbol('not yet');
/**
 * Settles after a few microtask hops: a body already in memory (a Response made from a string or
 * buffer) yields its next chunk, or its end, within two.
 */
function shortly(): Promise<typeof notYet> {
  return Promise.resolve()
    .then(() => undefined)
    .then(() => undefined)
    .then(() => undefined)
    .then(() => notYet);
}

function dataFrame(chunk: Uint8Array, prefix?: Uint8Array): Uint8Array {
  const header = encodeFrameHeader(frameType.data, chunk.length);
  const before = prefix?.length ?? 0;
  const frame = new Uint8Array(before + header.length + chunk.length);
  if (prefix !== undefined) frame.set(prefix, 0);
  frame.set(header, before);
  frame.set(chunk, before + header.length);
  return frame;
}

/**
 * Sends a message: its HEADERS frame, the body as DATA frames, then FIN. Reads the body only as
 * fast as the stream accepts bytes, so a large upload is never buffered whole. A small body that
 * fits one chunk leaves together with its headers and the FIN in a single write.
 */
export async function writeMessage(stream: H3Stream, headersFrame: Uint8Array, body: ReadableStream<Uint8Array> | null): Promise<void> {
  if (body === null) {
    await stream.end(headersFrame);
    return;
  }
  const reader = body.getReader();
  let pending: Uint8Array | undefined = headersFrame;
  try {
    for (;;) {
      const next = reader.read();
      // Bytes held back (headers, a small frame) wait for the next chunk only a few microtasks: a
      // body already in memory leaves in one write with its FIN, while a body that produces slowly
      // (or waits for the peer) never has its bytes held up.
      if (pending !== undefined && (await Promise.race([next, shortly()])) === notYet) {
        await stream.write(pending);
        pending = undefined;
      }
      const { done, value } = await next;
      if (done) break;
      if (value.length === 0) continue;
      if (value.length > coalesceLimit) {
        if (pending !== undefined) await stream.write(pending);
        pending = undefined;
        await stream.write(encodeFrameHeader(frameType.data, value.length));
        await stream.write(value);
        continue;
      }
      if (pending !== undefined && pending.length + value.length <= coalesceLimit) {
        pending = dataFrame(value, pending);
        continue;
      }
      if (pending !== undefined) await stream.write(pending);
      pending = dataFrame(value);
    }
  } catch (error) {
    await reader.cancel(error).catch(() => undefined);
    throw error;
  } finally {
    reader.releaseLock();
  }
  await stream.end(pending);
}

/** Frames that may follow a message's HEADERS on a request stream, and what ends it. */
export interface BodySource {
  stream: H3Stream;
  reader: FrameReader;
  /** Declared content-length, checked against the DATA received (RFC 9114 section 4.1.2). */
  contentLength: number | undefined;
  /** Decodes and checks a trailer section. */
  decodeTrailers(payload: Uint8Array): Promise<Headers> | Headers;
  /** A PUSH_PROMISE on this stream: the caller says which error it is. */
  onPushPromise(): Http3Error;
  /** Called once the body ended cleanly, with the trailers if any. */
  onEnd(trailers: Headers | undefined): void;
  /** Called on any failure; a connection-scoped Http3Error must close the connection. */
  onError(error: unknown): void;
  /**
   * The consumer cancelled the body (it does not want the rest). Without this, a cancel is a
   * failure (`onError` with the reason).
   */
  onCancel?(reason: unknown): void;
}

/**
 * A web ReadableStream over the DATA frames of a message. Pulls from QUIC only when the consumer
 * reads (backpressure). Trailers end the body; a frame after them is H3_FRAME_UNEXPECTED.
 */
export function createBodyStream(source: BodySource): ReadableStream<Uint8Array> {
  let received = 0;
  let trailers: Headers | undefined;
  const finish = (controller: ReadableStreamDefaultController<Uint8Array>) => {
    if (source.contentLength !== undefined && received !== source.contentLength) {
      throw streamError('H3_MESSAGE_ERROR', `content-length ${source.contentLength} but ${received} bytes of DATA`);
    }
    controller.close();
    source.onEnd(trailers);
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          for (;;) {
            const event = await nextFrameEvent(source.stream, source.reader);
            if (event === 'end') {
              finish(controller);
              return;
            }
            if (trailers !== undefined) throw connectionError('H3_FRAME_UNEXPECTED', 'frame after trailers');
            if (event.kind === 'data') {
              received += event.chunk.length;
              if (source.contentLength !== undefined && received > source.contentLength) {
                throw streamError('H3_MESSAGE_ERROR', `more DATA than content-length ${source.contentLength}`);
              }
              controller.enqueue(event.chunk);
              return;
            }
            if (event.type === frameType.headers) {
              trailers = await source.decodeTrailers(event.payload);
              continue;
            }
            if (event.type === frameType.pushPromise) throw source.onPushPromise();
            throw unexpectedOnRequestStream(event.type);
          }
        } catch (error) {
          source.onError(error);
          throw error;
        }
      },
      cancel(reason) {
        if (source.onCancel !== undefined) source.onCancel(reason);
        else source.onError(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/** Control-stream frames and HTTP/2-only frames on a request stream (RFC 9114 section 7.2). */
export function unexpectedOnRequestStream(type: number): Http3Error {
  const name = http2OnlyFrameTypes.has(type) ? 'an HTTP/2-only frame' : `frame 0x${type.toString(16)}`;
  return connectionError('H3_FRAME_UNEXPECTED', `${name} on a request stream`);
}
