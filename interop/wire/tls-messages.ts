/**
 * The TLS 1.3 handshake messages an observer reads from Initial packets (RFC 8446 section 4):
 * ClientHello (offered suites, PSK, early data, random) and ServerHello (chosen suite, PSK).
 */
import type { CryptoChunk } from './packets.js';

const extension = { serverName: 0, preSharedKey: 41, earlyData: 42 } as const;

/** The HelloRetryRequest's fixed random (RFC 8446 section 4.1.3). */
const helloRetryRandom = 'cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c';

export interface ClientHelloInfo {
  /** Hex; it names the connection's secrets in a key log. */
  random: string;
  cipherSuites: number[];
  serverName: string | undefined;
  offersPsk: boolean;
  offersEarlyData: boolean;
}

export interface ServerHelloInfo {
  cipherSuite: number;
  pskAccepted: boolean;
  helloRetryRequest: boolean;
}

/** Reassembles one direction's CRYPTO stream at one level from chunks in any order. */
export class CryptoStream {
  readonly #chunks = new Map<number, Uint8Array>();

  add(chunk: CryptoChunk): void {
    const known = this.#chunks.get(chunk.offset);
    if (known === undefined || known.length < chunk.data.length) this.#chunks.set(chunk.offset, Uint8Array.from(chunk.data));
  }

  /** The bytes available from offset 0 without a gap. */
  contiguous(): Uint8Array {
    const parts: Uint8Array[] = [];
    let end = 0;
    for (const [offset, data] of [...this.#chunks].sort((a, b) => a[0] - b[0])) {
      if (offset > end) break;
      if (offset + data.length <= end) continue;
      parts.push(data.subarray(end - offset));
      end = offset + data.length;
    }
    return Buffer.concat(parts);
  }
}

/** The complete handshake messages at the start of a stream: type and body. */
export function handshakeMessages(stream: Uint8Array): Array<{ type: number; body: Uint8Array }> {
  const messages: Array<{ type: number; body: Uint8Array }> = [];
  let offset = 0;
  while (offset + 4 <= stream.length) {
    const length = ((stream[offset + 1] as number) << 16) | ((stream[offset + 2] as number) << 8) | (stream[offset + 3] as number);
    if (offset + 4 + length > stream.length) break;
    messages.push({ type: stream[offset] as number, body: stream.subarray(offset + 4, offset + 4 + length) });
    offset += 4 + length;
  }
  return messages;
}

class Reader {
  offset = 0;
  constructor(readonly data: Uint8Array) {}
  u8(): number {
    if (this.offset + 1 > this.data.length) throw new RangeError('truncated');
    return this.data[this.offset++] as number;
  }
  u16(): number {
    return (this.u8() << 8) | this.u8();
  }
  bytes(length: number): Uint8Array {
    if (this.offset + length > this.data.length) throw new RangeError('truncated');
    const out = this.data.subarray(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }
}

function extensions(reader: Reader): Map<number, Uint8Array> {
  const found = new Map<number, Uint8Array>();
  if (reader.offset >= reader.data.length) return found;
  const end = reader.offset + reader.u16();
  while (reader.offset < end) {
    const type = reader.u16();
    found.set(type, reader.bytes(reader.u16()));
  }
  return found;
}

export function parseClientHello(body: Uint8Array): ClientHelloInfo | undefined {
  try {
    const reader = new Reader(body);
    reader.u16(); // legacy_version
    const random = Buffer.from(reader.bytes(32)).toString('hex');
    reader.bytes(reader.u8()); // legacy_session_id
    const suites = new Reader(reader.bytes(reader.u16()));
    const cipherSuites: number[] = [];
    while (suites.offset < suites.data.length) cipherSuites.push(suites.u16());
    reader.bytes(reader.u8()); // legacy_compression_methods
    const found = extensions(reader);
    let serverName: string | undefined;
    const sni = found.get(extension.serverName);
    if (sni !== undefined && sni.length > 5) {
      const names = new Reader(sni);
      names.u16();
      if (names.u8() === 0) serverName = Buffer.from(names.bytes(names.u16())).toString('latin1');
    }
    return {
      random,
      cipherSuites,
      serverName,
      offersPsk: found.has(extension.preSharedKey),
      offersEarlyData: found.has(extension.earlyData),
    };
  } catch {
    return undefined;
  }
}

export function parseServerHello(body: Uint8Array): ServerHelloInfo | undefined {
  try {
    const reader = new Reader(body);
    reader.u16();
    const random = Buffer.from(reader.bytes(32)).toString('hex');
    reader.bytes(reader.u8());
    const cipherSuite = reader.u16();
    reader.u8();
    const found = extensions(reader);
    return { cipherSuite, pskAccepted: found.has(extension.preSharedKey), helloRetryRequest: random === helloRetryRandom };
  } catch {
    return undefined;
  }
}
