import { connectionError } from './protocol-errors.js';
import type { FrameReader, FrameReaderEvent } from './frame-reader.js';
import type { H3Stream } from './transport.js';
import { readVarint } from '../quic/varint.js';

/**
 * The next frame event from a stream, reading more bytes as needed; 'end' when the stream ends
 * between frames. A stream that ends inside a frame is H3_FRAME_ERROR (RFC 9114 section 7.1).
 */
export async function nextFrameEvent(stream: H3Stream, reader: FrameReader): Promise<FrameReaderEvent | 'end'> {
  for (;;) {
    const event = reader.next();
    if (event !== undefined) return event;
    const chunk = await stream.read();
    if (chunk === null) {
      if (!reader.atFrameBoundary) throw connectionError('H3_FRAME_ERROR', `stream ${stream.id} ended inside a frame`);
      return 'end';
    }
    reader.push(chunk);
  }
}

/**
 * Reads the stream-type varint that starts a unidirectional stream (RFC 9114 section 6.2).
 * Returns the type and any bytes after it, or undefined if the stream ended first.
 */
export async function readStreamType(stream: H3Stream): Promise<{ type: number; rest: Uint8Array } | undefined> {
  let buffered = new Uint8Array(0);
  for (;;) {
    const parsed = readVarint(buffered, 0);
    if (parsed !== undefined) return { type: parsed.value, rest: buffered.subarray(parsed.next) };
    const chunk = await stream.read();
    if (chunk === null) return undefined;
    const joined = new Uint8Array(buffered.length + chunk.length);
    joined.set(buffered, 0);
    joined.set(chunk, buffered.length);
    buffered = joined;
  }
}
