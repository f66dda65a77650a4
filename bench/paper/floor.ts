/**
 * The physical floor of an exchange: the round trips its protocol cannot avoid × the link's RTT,
 * plus the time both ends spend on it, taken from the same transport on a warm connection over the
 * same link set to zero delay (one round trip of the undelayed link, plus that time).
 */
export const unavoidableRoundTrips = {
  /** A TCP handshake, then the request. */
  tcp: 2,
  /** TCP, a TLS 1.3 handshake (resumed or full: Node sends no early data), then the request. */
  tls13: 3,
  /** TCP, an abbreviated TLS 1.2 handshake (the request follows the client's Finished), the request. */
  tls12Resumed: 3,
  /** TCP, a full TLS 1.2 handshake (two round trips), the request. */
  tls12Full: 4,
  /** The request rides in the QUIC client's first flight. */
  quicZeroRtt: 1,
  /** The QUIC/TLS 1.3 handshake, then the request. */
  quicOneRtt: 2,
  /** An open connection: the request. */
  warm: 1,
} as const;

/** What a warm exchange costs beyond its one round trip: `warm median − RTT`, both at zero delay. */
export function endTimeMs(warmMedianAtZeroMs: number, rttAtZeroMs: number): number {
  return Math.max(0, warmMedianAtZeroMs - rttAtZeroMs);
}

export function physicalFloorMs(roundTrips: number, linkRttMs: number, endMs: number): number {
  return roundTrips * linkRttMs + endMs;
}
