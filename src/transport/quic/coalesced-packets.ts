import { readVarint } from './varint.js';

const quicV1 = 0x00000001;
const longHeaderTypeRetry = 3;
const longHeaderTypeInitial = 0;

/**
 * The lengths of the QUIC packets coalesced in a datagram (RFC 9000 section 12.2): a long-header
 * packet carries its own length, a short-header packet runs to the end of the datagram. Undefined
 * when the datagram is not a run of QUIC v1 long-header packets we can measure (a short header
 * first, a Version Negotiation or Retry packet, another version, a truncated header): the caller
 * then hands the datagram over whole.
 */
export function coalescedPacketLengths(datagram: Uint8Array): number[] | undefined {
  const lengths: number[] = [];
  let at = 0;
  while (at < datagram.length) {
    const first = datagram[at] as number;
    if ((first & 0x80) === 0) {
      // A short header: the rest of the datagram. Only ever last (RFC 9000 section 12.2).
      if (lengths.length === 0) return undefined;
      lengths.push(datagram.length - at);
      return lengths;
    }
    if (at + 6 > datagram.length) return undefined;
    const version = ((datagram[at + 1] as number) << 24) | ((datagram[at + 2] as number) << 16) | ((datagram[at + 3] as number) << 8) | (datagram[at + 4] as number);
    if (version !== quicV1) return undefined;
    const type = (first & 0x30) >> 4;
    if (type === longHeaderTypeRetry) return undefined;
    let cursor = at + 5;
    const destinationLength = datagram[cursor] as number;
    cursor += 1 + destinationLength;
    if (cursor >= datagram.length) return undefined;
    const sourceLength = datagram[cursor] as number;
    cursor += 1 + sourceLength;
    if (type === longHeaderTypeInitial) {
      const token = readVarint(datagram, cursor);
      if (token === undefined) return undefined;
      cursor = token.next + token.value;
    }
    const length = readVarint(datagram, cursor);
    if (length === undefined) return undefined;
    const end = length.next + length.value;
    if (end > datagram.length) return undefined;
    lengths.push(end - at);
    at = end;
  }
  return lengths;
}
