import { ByteWriter } from '../byte-writer.js';
import { connectionError } from '../protocol-errors.js';
import { type Http3Error } from '../../../errors.js';
import { huffmanDecode, huffmanEncode, huffmanEncodedLength } from './huffman.js';
import { readPrefixedInt, writePrefixedInt } from './prefixed-int.js';
import { staticTable } from './static-table.js';

/** A header or trailer field: lowercase name and value, both byte strings (latin1). */
export type Field = readonly [name: string, value: string];

/**
 * QPACK field sections (RFC 9204 section 4.5) without a dynamic table: this side advertises
 * SETTINGS_QPACK_MAX_TABLE_CAPACITY 0, so it never needs encoder or decoder streams, and any
 * reference to the dynamic table from a peer is QPACK_DECOMPRESSION_FAILED.
 */

const exactIndex = new Map<string, number>();
const nameIndex = new Map<string, number>();
staticTable.forEach(([name, value], index) => {
  exactIndex.set(`${name}\u0000${value}`, index);
  if (!nameIndex.has(name)) nameIndex.set(name, index);
});

/** Fields whose values should never be indexed by an intermediary (RFC 9204 section 7.1.3). */
const sensitiveNames = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie']);

/** The size RFC 9114 section 4.2.2 limits: name and value lengths plus 32 per field. */
export function fieldSectionSize(fields: readonly Field[]): number {
  let size = 0;
  for (const [name, value] of fields) size += name.length + value.length + 32;
  return size;
}

/**
 * Encoded literal field lines of recent (name, value) pairs: the same few headers repeat on every
 * request of a platform, and Huffman-coding them again each time is most of the encoder's work.
 * Bounded, cleared when full; sensitive fields are never kept.
 */
const lineCache = new Map<string, Uint8Array>();
const lineCacheLimit = 4096;
const cacheableLength = 256;

/**
 * Fields whose value is new on every request (the 0-RTT nonce and timestamp, call ids, dates):
 * caching their lines would only churn the cache and clear the lines that do repeat. Their
 * values are encoded each time; the name part of the line is still cached.
 */
const uniqueValueNames: ReadonlySet<string> = new Set(['qfaas-early-nonce', 'qfaas-early-timestamp', 'x-call-id', 'idempotency-key', 'date', 'content-length']);
const namePrefixCache = new Map<string, Uint8Array>();

/** Encodes fields as a QPACK field section (static table and literals; Huffman where shorter). */
export function encodeFieldSection(fields: readonly Field[]): Uint8Array {
  const out = new ByteWriter();
  writeFieldSection(out, fields);
  return out.toBytes();
}

/** Appends `fields` as a QPACK field section to `out`. */
export function writeFieldSection(out: ByteWriter, fields: readonly Field[]): void {
  // Encoded Required Insert Count 0 and Delta Base 0: no dynamic table references.
  out.byte(0);
  out.byte(0);
  for (const [name, value] of fields) {
    const key = `${name}\u0000${value}`;
    const exact = exactIndex.get(key);
    if (exact !== undefined) {
      writePrefixedInt(out, 0b1100_0000, 6, exact);
      continue;
    }
    const cached = lineCache.get(key);
    if (cached !== undefined) {
      out.bytes(cached);
      continue;
    }
    if (uniqueValueNames.has(name)) {
      let prefix = namePrefixCache.get(name);
      if (prefix === undefined) {
        const before = out.length;
        writeLiteralName(out, name);
        prefix = out.view().slice(before);
        namePrefixCache.set(name, prefix);
      } else {
        out.bytes(prefix);
      }
      writeString(out, value);
      continue;
    }
    const cacheable = key.length <= cacheableLength && !sensitiveNames.has(name);
    const start = out.length;
    writeLiteralLine(out, name, value);
    if (cacheable) {
      if (lineCache.size >= lineCacheLimit) lineCache.clear();
      lineCache.set(key, out.view().slice(start));
    }
  }
}

function writeLiteralLine(out: ByteWriter, name: string, value: string): void {
  writeLiteralName(out, name);
  writeString(out, value);
}

/** The first part of a literal field line: its name, by static-table reference or as a string. */
function writeLiteralName(out: ByteWriter, name: string): void {
  const never = sensitiveNames.has(name) ? 0x20 : 0;
  const named = nameIndex.get(name);
  if (named !== undefined) {
    writePrefixedInt(out, 0b0101_0000 | never, 4, named);
  } else {
    const huffmanLength = huffmanEncodedLength(name);
    const huffman = huffmanLength < name.length;
    writePrefixedInt(out, 0b0010_0000 | (never >> 1) | (huffman ? 0x08 : 0), 3, huffman ? huffmanLength : name.length);
    if (huffman) huffmanEncode(name, out, huffmanLength);
    else out.latin1(name);
  }
}

function writeString(out: ByteWriter, value: string): void {
  const huffmanLength = huffmanEncodedLength(value);
  if (huffmanLength < value.length) {
    writePrefixedInt(out, 0x80, 7, huffmanLength);
    huffmanEncode(value, out, huffmanLength);
  } else {
    writePrefixedInt(out, 0, 7, value.length);
    out.latin1(value);
  }
}

export interface DecodeOptions {
  /** Largest decoded size (RFC 9114 section 4.2.2 accounting) accepted. */
  maxFieldSectionSize: number;
}

/** The decoded section exceeded `maxFieldSectionSize`; decoding stopped there. */
export interface OversizedSection {
  oversized: true;
  size: number;
}

/**
 * Decodes a complete field section (one HEADERS frame payload). Throws an Http3Error
 * QPACK_DECOMPRESSION_FAILED for anything invalid: dynamic table references, truncation, bad
 * Huffman, out-of-range static indices.
 */
export function decodeFieldSection(data: Uint8Array, options: DecodeOptions): Field[] | OversizedSection {
  const requiredInsertCount = readPrefixedInt(data, 0, 8);
  if (requiredInsertCount === undefined || requiredInsertCount === 'overflow') throw decompressionFailed('truncated field section prefix');
  if (requiredInsertCount.value !== 0) throw decompressionFailed('reference to the dynamic table, whose capacity is 0');
  const base = readPrefixedInt(data, requiredInsertCount.next, 7);
  if (base === undefined || base === 'overflow') throw decompressionFailed('truncated field section prefix');
  const cursor = new FieldLineCursor(data, base.next);
  const fields: Field[] = [];
  let size = 0;
  while (cursor.offset < data.length) {
    const first = data[cursor.offset] as number;
    let field: Field;
    if (first & 0x80) {
      // Indexed field line: T bit 0x40 selects the static table.
      if ((first & 0x40) === 0) throw decompressionFailed('indexed field line refers to the dynamic table');
      field = staticEntry(cursor.readInt(6));
    } else if (first & 0x40) {
      // Literal field line with name reference: N 0x20, T 0x10.
      if ((first & 0x10) === 0) throw decompressionFailed('name reference into the dynamic table');
      const [name] = staticEntry(cursor.readInt(4));
      const huffman = ((data[cursor.offset] as number) & 0x80) !== 0;
      field = [name, cursor.readString(huffman, 7)];
    } else if (first & 0x20) {
      // Literal field line with literal name: N 0x10, H 0x08, 3-bit length prefix.
      const name = cursor.readString((first & 0x08) !== 0, 3);
      if (cursor.offset >= data.length) throw decompressionFailed('truncated field line');
      const huffman = ((data[cursor.offset] as number) & 0x80) !== 0;
      field = [name, cursor.readString(huffman, 7)];
    } else {
      // 0001xxxx and 0000xxxx: post-base references, which only exist with a dynamic table.
      throw decompressionFailed('post-base reference to the dynamic table');
    }
    size += field[0].length + field[1].length + 32;
    if (size > options.maxFieldSectionSize) return { oversized: true, size };
    fields.push(field);
  }
  return fields;
}

function decompressionFailed(detail: string): Http3Error {
  return connectionError('QPACK_DECOMPRESSION_FAILED', detail);
}

function staticEntry(index: number): readonly [string, string] {
  const entry = staticTable[index];
  if (entry === undefined) throw decompressionFailed(`static table index ${index} out of range`);
  return entry;
}

/** Reads a field section's lines front to back (one object per section, no closures). */
class FieldLineCursor {
  readonly #data: Uint8Array;
  offset: number;

  constructor(data: Uint8Array, offset: number) {
    this.#data = data;
    this.offset = offset;
  }

  readInt(prefixBits: number): number {
    const result = readPrefixedInt(this.#data, this.offset, prefixBits);
    if (result === undefined) throw decompressionFailed('truncated field line');
    if (result === 'overflow') throw decompressionFailed('integer too large');
    this.offset = result.next;
    return result.value;
  }

  readString(huffman: boolean, prefixBits: number): string {
    const length = this.readInt(prefixBits);
    if (this.offset + length > this.#data.length) throw decompressionFailed('truncated string literal');
    const bytes = this.#data.subarray(this.offset, this.offset + length);
    this.offset += length;
    if (!huffman) return latin1(bytes);
    const decoded = huffmanDecode(bytes);
    if (decoded === undefined) throw decompressionFailed('invalid Huffman-coded string');
    return decoded;
  }
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}
