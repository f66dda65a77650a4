/**
 * QUIC variable-length integers (RFC 9000 section 16), used by every HTTP/3 frame and stream
 * header. Values up to 2^53 - 1 are exact as numbers; larger encodings are refused by the callers
 * that need exact values.
 */
export const maxVarint = 2 ** 62 - 1;

/** Encoded length for `value`. */
export function varintLength(value: number): 1 | 2 | 4 | 8 {
  if (value < 0x40) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x40000000) return 4;
  return 8;
}

/** Writes `value` at `offset`; returns the offset after it. */
export function writeVarint(out: Uint8Array, offset: number, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`varint out of range: ${value}`);
  const length = varintLength(value);
  switch (length) {
    case 1:
      out[offset] = value;
      return offset + 1;
    case 2:
      out[offset] = 0x40 | (value >>> 8);
      out[offset + 1] = value & 0xff;
      return offset + 2;
    case 4:
      out[offset] = 0x80 | (value >>> 24);
      out[offset + 1] = (value >>> 16) & 0xff;
      out[offset + 2] = (value >>> 8) & 0xff;
      out[offset + 3] = value & 0xff;
      return offset + 4;
    default: {
      const high = Math.floor(value / 2 ** 32);
      const low = value >>> 0;
      out[offset] = 0xc0 | (high >>> 24);
      out[offset + 1] = (high >>> 16) & 0xff;
      out[offset + 2] = (high >>> 8) & 0xff;
      out[offset + 3] = high & 0xff;
      out[offset + 4] = low >>> 24;
      out[offset + 5] = (low >>> 16) & 0xff;
      out[offset + 6] = (low >>> 8) & 0xff;
      out[offset + 7] = low & 0xff;
      return offset + 8;
    }
  }
}

export function encodeVarint(value: number): Uint8Array {
  const out = new Uint8Array(varintLength(value));
  writeVarint(out, 0, value);
  return out;
}

/**
 * Reads a varint at `offset`. Returns undefined when the bytes end first ("need more bytes").
 * Values above 2^53 - 1 come back as Number.MAX_SAFE_INTEGER + 1 or more, never wrapped, so a
 * caller comparing against a limit still refuses them.
 */
export function readVarint(data: Uint8Array, offset: number): { value: number; next: number } | undefined {
  if (offset >= data.length) return undefined;
  const first = data[offset] as number;
  const length = 1 << (first >> 6);
  if (offset + length > data.length) return undefined;
  let value = first & 0x3f;
  for (let i = 1; i < length; i++) value = value * 256 + (data[offset + i] as number);
  return { value, next: offset + length };
}
