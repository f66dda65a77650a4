import { encodeFrameHeader, encodeHeadersFrame, frameType } from './frames.js';
import type { Field } from './qpack/field-section.js';
import type { H3Stream } from './transport.js';

/**
 * A message body to send: bytes, text (UTF-8), or chunks from an async iterable (a web
 * ReadableStream is one, a MessageBody is one, a Node Readable is one).
 */
export type BodyInput = string | Uint8Array | AsyncIterable<Uint8Array | string> | null | undefined;

/** Chunks up to this size are copied behind their DATA header and sent in one write. */
const coalesceLimit = 16 * 1024;

const notYet = Symbol('not yet');
/**
 * Settles after a few microtask hops: a body already in memory (a web Response made from a string
 * or buffer) yields its next chunk, or its end, within them.
 */
function shortly(): Promise<typeof notYet> {
  return Promise.resolve()
    .then(() => undefined)
    .then(() => undefined)
    .then(() => undefined)
    .then(() => undefined)
    .then(() => notYet);
}

const textEncoder = new TextEncoder();

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
 * Sends a message: its HEADERS frame (encoded from `fields` before the first await), the body as
 * DATA frames, then FIN. Bytes in memory leave with the headers and the FIN in one write (one
 * packet when they fit). An iterable is read only as fast as the stream accepts bytes, so a large
 * upload is never buffered whole.
 */
export async function writeMessage(stream: H3Stream, fields: readonly Field[], body: BodyInput): Promise<void> {
  if (body === null || body === undefined) return stream.end(encodeHeadersFrame(fields));
  if (typeof body === 'string') body = textEncoder.encode(body);
  if (body instanceof Uint8Array) {
    if (body.length === 0) return stream.end(encodeHeadersFrame(fields));
    if (body.length <= coalesceLimit) return stream.end(encodeHeadersFrame(fields, body));
    await stream.write(encodeHeadersFrame(fields));
    await stream.write(encodeFrameHeader(frameType.data, body.length));
    return stream.end(body);
  }
  return writeIterable(stream, encodeHeadersFrame(fields), body);
}

async function writeIterable(stream: H3Stream, headersFrame: Uint8Array, body: AsyncIterable<Uint8Array | string>): Promise<void> {
  const iterator = body[Symbol.asyncIterator]();
  let pending: Uint8Array | undefined = headersFrame;
  let finished = false;
  try {
    for (;;) {
      const next = iterator.next();
      // Bytes held back (headers, a small frame) wait for the next chunk only a few microtasks: a
      // body already in memory leaves in one write with its FIN, while a body that produces slowly
      // (or waits for the peer) never has its bytes held up.
      if (pending !== undefined && (await Promise.race([next, shortly()])) === notYet) {
        await stream.write(pending);
        pending = undefined;
      }
      const { done, value } = await next;
      if (done === true) break;
      const chunk = typeof value === 'string' ? textEncoder.encode(value) : value;
      if (chunk.length === 0) continue;
      if (chunk.length > coalesceLimit) {
        if (pending !== undefined) await stream.write(pending);
        pending = undefined;
        await stream.write(encodeFrameHeader(frameType.data, chunk.length));
        await stream.write(chunk);
        continue;
      }
      if (pending !== undefined && pending.length + chunk.length <= coalesceLimit) {
        pending = dataFrame(chunk, pending);
        continue;
      }
      if (pending !== undefined) await stream.write(pending);
      pending = dataFrame(chunk);
    }
    finished = true;
  } finally {
    // Tell the producer its body will not be read to the end (a web stream is cancelled).
    if (!finished) {
      try {
        await iterator.return?.();
      } catch {
        // the producer's own failure; the write already failed
      }
    }
  }
  // Never a bare FIN: quiche drops a zero-length FIN written once the peer acknowledged all the
  // stream's data (cloudflare/quiche#2525), and the peer then waits for the end until its idle
  // timeout. An empty DATA frame (legal, RFC 9114 section 7.2.1) carries the FIN instead.
  await stream.end(pending ?? emptyDataFrame);
}

const emptyDataFrame = encodeFrameHeader(frameType.data, 0);
