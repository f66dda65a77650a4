/**
 * QUIC version 1 packets as they appear in a datagram (RFC 9000 section 17): the invariant header
 * fields an observer reads without keys, and removal of header protection and packet protection
 * once the keys are known.
 */
import { decodePacketNumber, headerProtectionMask, openPayload, type PacketKeys } from './quic-crypto.js';
import { readVarint } from '../../src/transport/quic/varint.js';

export type PacketType = 'initial' | '0rtt' | 'handshake' | 'retry' | 'version-negotiation' | '1rtt';

/** One packet of a datagram, before any decryption. */
export interface WirePacket {
  type: PacketType;
  /** The whole packet (header and protected payload). */
  bytes: Uint8Array;
  dcid: Uint8Array;
  /** Long headers only. */
  scid?: Uint8Array;
  /** Initial packets: the token (empty when none); Retry: the retry token. */
  token?: Uint8Array;
  /** Offset of the packet number field in `bytes` (long headers with a Length, and 1-RTT). */
  pnOffset?: number;
}


const longTypes: readonly PacketType[] = ['initial', '0rtt', 'handshake', 'retry'];

/**
 * Splits a datagram into its coalesced packets. A short-header packet takes the rest of the
 * datagram; its connection ID is `shortDcidLength` bytes (an observer must know it). Stops at
 * anything that does not parse (trailing padding, a version other than 1).
 */
export function parseDatagram(datagram: Uint8Array, shortDcidLength: number | undefined): WirePacket[] {
  const packets: WirePacket[] = [];
  let offset = 0;
  while (offset < datagram.length) {
    const first = datagram[offset] as number;
    if ((first & 0x80) === 0) {
      if ((first & 0x40) === 0 || shortDcidLength === undefined) break;
      const bytes = datagram.subarray(offset);
      if (bytes.length < 1 + shortDcidLength + 20) break;
      packets.push({ type: '1rtt', bytes, dcid: bytes.subarray(1, 1 + shortDcidLength), pnOffset: 1 + shortDcidLength });
      break;
    }
    const packet = parseLongHeader(datagram, offset);
    if (packet === undefined) break;
    packets.push(packet);
    offset += packet.bytes.length;
  }
  return packets;
}

function parseLongHeader(datagram: Uint8Array, start: number): WirePacket | undefined {
  const view = datagram.subarray(start);
  if (view.length < 7) return undefined;
  const version = ((view[1] as number) << 24) | ((view[2] as number) << 16) | ((view[3] as number) << 8) | (view[4] as number);
  let offset = 5;
  const dcidLength = view[offset++] as number;
  const dcid = view.subarray(offset, offset + dcidLength);
  offset += dcidLength;
  const scidLength = view[offset++];
  if (scidLength === undefined) return undefined;
  const scid = view.subarray(offset, offset + scidLength);
  offset += scidLength;
  if (offset > view.length) return undefined;
  if (version === 0) return { type: 'version-negotiation', bytes: view, dcid, scid };
  if (version !== 1) return undefined;
  const type = longTypes[((view[0] as number) >> 4) & 0x03] as PacketType;
  if (type === 'retry') return { type, bytes: view, dcid, scid, token: view.subarray(offset, Math.max(offset, view.length - 16)) };
  let token: Uint8Array | undefined;
  if (type === 'initial') {
    const tokenLength = readVarint(view, offset);
    if (tokenLength === undefined) return undefined;
    token = view.subarray(tokenLength.next, tokenLength.next + tokenLength.value);
    offset = tokenLength.next + tokenLength.value;
  }
  const length = readVarint(view, offset);
  if (length === undefined || length.next + length.value > view.length) return undefined;
  return {
    type,
    bytes: view.subarray(0, length.next + length.value),
    dcid,
    scid,
    ...(token === undefined ? {} : { token }),
    pnOffset: length.next,
  };
}

/** A packet after removal of its protection. */
export interface OpenedPacket {
  packetNumber: number;
  /** 1-RTT: the key phase bit. */
  keyPhase: number;
  payload: Buffer;
}

/**
 * Removes header protection with `keys` and reads the key phase and packet number, without
 * checking anything (a wrong key gives garbage; `openPacket` then fails to authenticate).
 */
export function unmaskHeader(packet: WirePacket, keys: PacketKeys, largest: number): { header: Buffer; packetNumber: number; keyPhase: number } | undefined {
  const pnOffset = packet.pnOffset;
  if (pnOffset === undefined || packet.bytes.length < pnOffset + 4 + 16) return undefined;
  const mask = headerProtectionMask(keys, packet.bytes.subarray(pnOffset + 4, pnOffset + 20));
  const long = ((packet.bytes[0] as number) & 0x80) !== 0;
  const first = (packet.bytes[0] as number) ^ ((mask[0] as number) & (long ? 0x0f : 0x1f));
  const pnLength = (first & 0x03) + 1;
  const header = Buffer.from(packet.bytes.subarray(0, pnOffset + pnLength));
  header[0] = first;
  let truncated = 0;
  for (let i = 0; i < pnLength; i++) {
    const byte = (header[pnOffset + i] as number) ^ (mask[1 + i] as number);
    header[pnOffset + i] = byte;
    truncated = truncated * 256 + byte;
  }
  return { header, packetNumber: decodePacketNumber(largest, truncated, pnLength * 8), keyPhase: (first >> 2) & 1 };
}

/** Removes header and packet protection; undefined when the keys do not open it. */
export function openPacket(packet: WirePacket, keys: PacketKeys, largest: number, payloadKeys: PacketKeys = keys): OpenedPacket | undefined {
  const unmasked = unmaskHeader(packet, keys, largest);
  if (unmasked === undefined) return undefined;
  const payload = openPayload(payloadKeys, unmasked.packetNumber, unmasked.header, packet.bytes.subarray(unmasked.header.length));
  if (payload === undefined) return undefined;
  return { packetNumber: unmasked.packetNumber, keyPhase: unmasked.keyPhase, payload };
}

/** A CRYPTO frame's data at its offset. */
export interface CryptoChunk {
  offset: number;
  data: Uint8Array;
}

/**
 * Reads the frames an Initial or Handshake packet may carry (RFC 9000 section 12.4: PADDING, PING,
 * ACK, CRYPTO, CONNECTION_CLOSE) and returns the CRYPTO data. Stops at an unexpected frame.
 */
export function cryptoFrames(payload: Uint8Array): CryptoChunk[] {
  const chunks: CryptoChunk[] = [];
  let offset = 0;
  const varint = (): number => {
    const read = readVarint(payload, offset);
    if (read === undefined) throw new RangeError('truncated frame');
    offset = read.next;
    return read.value;
  };
  try {
    while (offset < payload.length) {
      const type = varint();
      if (type === 0x00 || type === 0x01) continue;
      if (type === 0x02 || type === 0x03) {
        varint(); // largest acknowledged
        varint(); // ack delay
        const ranges = varint();
        varint(); // first range
        for (let i = 0; i < ranges; i++) {
          varint();
          varint();
        }
        if (type === 0x03) for (let i = 0; i < 3; i++) varint();
        continue;
      }
      if (type === 0x06) {
        const at = varint();
        const length = varint();
        if (offset + length > payload.length) break;
        chunks.push({ offset: at, data: payload.subarray(offset, offset + length) });
        offset += length;
        continue;
      }
      break;
    }
  } catch {
    // A truncated frame ends the packet's useful content.
  }
  return chunks;
}
