import type { ByteWriter } from '../byte-writer.js';

/**
 * Prefixed integers (RFC 7541 section 5.1, used by QPACK, RFC 9204 section 4.1.1): the low
 * `prefixBits` bits of the first byte, continued in 7-bit groups.
 */
export function writePrefixedInt(out: ByteWriter, flags: number, prefixBits: number, value: number): void {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out.byte(flags | value);
    return;
  }
  out.byte(flags | max);
  let rest = value - max;
  while (rest >= 0x80) {
    out.byte((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.byte(rest);
}

/** Largest value accepted: field sections never need more, and it keeps arithmetic exact. */
const maxPrefixedInt = 2 ** 32;

/**
 * Reads a prefixed integer. Returns undefined when the bytes end first and 'overflow' when the
 * value exceeds 2^32 (no valid field section needs that).
 */
export function readPrefixedInt(
  data: Uint8Array,
  offset: number,
  prefixBits: number,
): { value: number; next: number } | undefined | 'overflow' {
  if (offset >= data.length) return undefined;
  const max = (1 << prefixBits) - 1;
  let value = (data[offset] as number) & max;
  let next = offset + 1;
  if (value < max) return { value, next };
  let multiplier = 1;
  for (;;) {
    if (next >= data.length) return undefined;
    const byte = data[next++] as number;
    value += (byte & 0x7f) * multiplier;
    if (value > maxPrefixedInt) return 'overflow';
    if ((byte & 0x80) === 0) return { value, next };
    multiplier *= 0x80;
  }
}
