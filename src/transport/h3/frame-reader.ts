import { connectionError } from './protocol-errors.js';
import { frameType } from './frames.js';
import { readVarint } from '../quic/varint.js';

/** What the reader produced from the bytes pushed so far. */
export type FrameReaderEvent =
  /** Part of a DATA frame's payload, delivered as it arrives so bodies are never buffered whole. */
  | { kind: 'data'; chunk: Uint8Array }
  /** A complete frame other than DATA, with its whole payload. */
  | { kind: 'frame'; type: number; payload: Uint8Array };

/**
 * Incremental HTTP/3 frame parser for one stream (RFC 9114 section 7.1). Bytes go in with `push`
 * in any fragmentation, even one at a time; `next()` returns the next event or undefined when it
 * needs more bytes. Non-DATA payloads are buffered up to `maxFramePayload` (larger is
 * H3_EXCESSIVE_LOAD); unknown and reserved frame types are skipped without buffering.
 */
export class FrameReader {
  readonly #maxFramePayload: number;
  readonly #chunks: Uint8Array[] = [];
  #buffered = 0;
  /** Type and remaining payload of the frame being read, once its header is parsed. */
  #current: { type: number; remaining: number; skip: boolean } | undefined;
  #payloadParts: Uint8Array[] = [];
  #payloadLength = 0;

  constructor(options: { maxFramePayload: number }) {
    this.#maxFramePayload = options.maxFramePayload;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
  }

  /** True between frames: the stream may end here without a truncated frame. */
  get atFrameBoundary(): boolean {
    return this.#current === undefined && this.#buffered === 0;
  }

  next(): FrameReaderEvent | undefined {
    for (;;) {
      if (this.#current === undefined) {
        if (!this.#readHeader()) return undefined;
      }
      const current = this.#current as { type: number; remaining: number; skip: boolean };
      if (current.type === frameType.data) {
        if (current.remaining === 0) {
          this.#current = undefined;
          continue; // an empty DATA frame carries nothing
        }
        const chunk = this.#take(current.remaining);
        if (chunk === undefined) return undefined;
        current.remaining -= chunk.length;
        if (current.remaining === 0) this.#current = undefined;
        return { kind: 'data', chunk };
      }
      while (current.remaining > 0) {
        const chunk = this.#take(current.remaining);
        if (chunk === undefined) return undefined;
        current.remaining -= chunk.length;
        if (!current.skip) {
          this.#payloadParts.push(chunk);
          this.#payloadLength += chunk.length;
        }
      }
      this.#current = undefined;
      if (current.skip) continue;
      const payload = this.#joinPayload();
      return { kind: 'frame', type: current.type, payload };
    }
  }

  #readHeader(): boolean {
    if (this.#buffered === 0) return false;
    // A frame header is at most 16 bytes: join just that much to parse it.
    const head = this.#peek(16);
    const type = readVarint(head, 0);
    if (type === undefined) return false;
    const length = readVarint(head, type.next);
    if (length === undefined) return false;
    this.#discard(length.next);
    const known = isKnownFrameType(type.value);
    if (known && type.value !== frameType.data && length.value > this.#maxFramePayload) {
      throw connectionError('H3_EXCESSIVE_LOAD', `frame 0x${type.value.toString(16)} of ${length.value} bytes exceeds ${this.#maxFramePayload}`);
    }
    if (!Number.isSafeInteger(length.value)) throw connectionError('H3_FRAME_ERROR', 'frame length out of range');
    this.#current = { type: type.value, remaining: length.value, skip: !known };
    return true;
  }

  /** Takes up to `max` bytes from the front, without copying when one chunk suffices. */
  #take(max: number): Uint8Array | undefined {
    const first = this.#chunks[0];
    if (first === undefined) return undefined;
    if (first.length <= max) {
      this.#chunks.shift();
      this.#buffered -= first.length;
      return first;
    }
    this.#chunks[0] = first.subarray(max);
    this.#buffered -= max;
    return first.subarray(0, max);
  }

  #peek(max: number): Uint8Array {
    const first = this.#chunks[0] as Uint8Array;
    if (first.length >= max || this.#chunks.length === 1) return first.subarray(0, Math.min(max, first.length));
    const out = new Uint8Array(Math.min(max, this.#buffered));
    let offset = 0;
    for (const chunk of this.#chunks) {
      const part = chunk.subarray(0, out.length - offset);
      out.set(part, offset);
      offset += part.length;
      if (offset === out.length) break;
    }
    return out;
  }

  #discard(count: number): void {
    let rest = count;
    while (rest > 0) {
      const chunk = this.#take(rest) as Uint8Array;
      rest -= chunk.length;
    }
  }

  #joinPayload(): Uint8Array {
    const parts = this.#payloadParts;
    const length = this.#payloadLength;
    this.#payloadParts = [];
    this.#payloadLength = 0;
    if (parts.length === 1) return parts[0] as Uint8Array;
    const out = new Uint8Array(length);
    let offset = 0;
    for (const part of parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }
}

const knownFrameTypes: ReadonlySet<number> = new Set([
  frameType.data,
  frameType.headers,
  frameType.cancelPush,
  frameType.settings,
  frameType.pushPromise,
  frameType.goaway,
  frameType.maxPushId,
  // HTTP/2-only types are "known" so that the stream logic can refuse them (H3_FRAME_UNEXPECTED).
  0x02,
  0x06,
  0x08,
  0x09,
]);

function isKnownFrameType(type: number): boolean {
  return knownFrameTypes.has(type);
}
