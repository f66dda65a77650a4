/**
 * The peers of the matrix, in column order: one import line and one list entry per adapter
 * (interop/types.ts's `Peer`). A peer that cannot run here (a missing Debian package, a failed
 * build) says so through `unavailable()`, and its column is n/a with that reason.
 */
import type { Peer } from '../types.js';
import { ngtcp2Peer } from './ngtcp2.js';
import { quicGoPeer } from './quic-go.js';

/** A column of the matrix: a peer, or why it has none. */
export type PeerEntry = { name: string; peer: Peer } | { name: string; absent: string };

const peers: readonly Peer[] = [quicGoPeer, ngtcp2Peer];

/** The peers, with `only` (names) if given. */
export async function loadPeers(only?: readonly string[]): Promise<PeerEntry[]> {
  const entries: PeerEntry[] = peers.map((peer) => ({ name: peer.name, peer }));
  return only === undefined ? entries : entries.filter((entry) => only.includes(entry.name));
}
