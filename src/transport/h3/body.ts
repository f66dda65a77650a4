import { connectionError, streamError, type Http3Error } from './errors.js';
import type { FrameReader } from './frame-reader.js';
import { encodeFrameHeader, frameType, http2OnlyFrameTypes } from './frames.js';
import { nextFrameEvent } from './stream-reading.js';
import type { H3Stream } from './transport.js';

/** Chunks up to this size are copied behind their DATA header and sent in one write. */
const coalesceLimit = 16 * 1024;

/**
 * Sends a body as DATA frames, then FIN. Reads the source only as fast as the stream accepts
 * bytes, so a large upload is never buffered whole.
 */
export async function writeBody(stream: H3Stream, body: ReadableStream<Uint8Array> | null): Promise<void> {
  if (body === null) {
    await stream.end();
    return;
  }
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (value.length === 0) continue;
      const header = encodeFrameHeader(frameType.data, value.length);
      if (value.length <= coalesceLimit) {
        const frame = new Uint8Array(header.length + value.length);
        frame.set(header, 0);
        frame.set(value, header.length);
        await stream.write(frame);
      } else {
        await stream.write(header);
        await stream.write(value);
      }
    }
  } catch (error) {
    await reader.cancel(error).catch(() => undefined);
    throw error;
  } finally {
    reader.releaseLock();
  }
  await stream.end();
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
        source.onError(reason);
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
