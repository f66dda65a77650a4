import type { ByteWriter } from '../byte-writer.js';
import { huffmanCodes, huffmanLengths } from './huffman-table.js';

/**
 * The HPACK Huffman code (RFC 7541 section 5.2 and Appendix B), which QPACK string literals use
 * (RFC 9204 section 4.1.2).
 */

const eos = 256;

/**
 * Decoding tree: the children of internal node n are at children[2n] (bit 0) and children[2n + 1]
 * (bit 1); a leaf is stored as -(symbol + 1), and 0 marks a missing child.
 */
const children = buildTree();

function buildTree(): Int32Array {
  // 257 leaves need 256 internal nodes.
  const kids = new Int32Array(2 * 256);
  let nodes = 1;
  for (let sym = 0; sym <= eos; sym++) {
    const code = huffmanCodes[sym] as number;
    const length = huffmanLengths[sym] as number;
    let node = 0;
    for (let bit = length - 1; bit > 0; bit--) {
      const b = Math.floor(code / 2 ** bit) & 1;
      const slot = 2 * node + b;
      if (kids[slot] === 0) kids[slot] = nodes++;
      node = kids[slot] as number;
    }
    kids[2 * node + (code & 1)] = -(sym + 1);
  }
  return kids;
}

/** Length in bytes of the Huffman encoding of `value` (a latin1 byte string). */
export function huffmanEncodedLength(value: string): number {
  let bits = 0;
  for (let i = 0; i < value.length; i++) bits += huffmanLengths[value.charCodeAt(i) & 0xff] as number;
  return Math.ceil(bits / 8);
}

/** Appends the Huffman encoding of `value`, padded with the most significant bits of EOS (ones). */
export function huffmanEncode(value: string, out: ByteWriter, encodedLength = huffmanEncodedLength(value)): void {
  // Bits accumulate in a number below 2^53: at most 7 pending bits plus a 30-bit code.
  let pending = 0;
  let pendingBits = 0;
  const buffer = out.reserve(encodedLength);
  const offset = out.length;
  let position = offset;
  for (let i = 0; i < value.length; i++) {
    const sym = value.charCodeAt(i) & 0xff;
    const length = huffmanLengths[sym] as number;
    pending = pending * 2 ** length + (huffmanCodes[sym] as number);
    pendingBits += length;
    while (pendingBits >= 8) {
      pendingBits -= 8;
      const divisor = 2 ** pendingBits;
      const byte = Math.floor(pending / divisor);
      buffer[position++] = byte;
      pending -= byte * divisor;
    }
  }
  if (pendingBits > 0) {
    const padding = 8 - pendingBits;
    buffer[position++] = pending * 2 ** padding + (2 ** padding - 1);
  }
  out.commit(position - offset);
}

/**
 * Decodes a Huffman-coded string to a latin1 string. Returns undefined for an invalid encoding:
 * EOS inside the string, padding longer than 7 bits, or padding that is not all ones
 * (RFC 7541 section 5.2), which the caller reports as QPACK_DECOMPRESSION_FAILED.
 */
export function huffmanDecode(data: Uint8Array): string | undefined {
  let node = 0;
  let depth = 0; // bits consumed since the last complete symbol
  let allOnes = true; // those bits are all ones (a valid EOS prefix so far)
  let result = '';
  for (let i = 0; i < data.length; i++) {
    const byte = data[i] as number;
    for (let bit = 7; bit >= 0; bit--) {
      const b = (byte >> bit) & 1;
      const next = children[2 * node + b] as number;
      if (next < 0) {
        const sym = -next - 1;
        if (sym === eos) return undefined;
        result += String.fromCharCode(sym);
        node = 0;
        depth = 0;
        allOnes = true;
      } else if (next === 0) {
        return undefined;
      } else {
        node = next;
        depth++;
        if (b === 0) allOnes = false;
      }
    }
  }
  if (depth > 7 || !allOnes) return undefined;
  return result;
}
