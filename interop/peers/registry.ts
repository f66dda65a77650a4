/**
 * The peers of the matrix, in column order. quic-go's adapter is part of this tree. ngtcp2's
 * adapter (interop/peers/ngtcp2.ts) is written separately: until that file exists its column is
 * 'n/a' with the reason "adapter not present", never a pass. Once it exists it is imported here
 * and used; it must export a `Peer` (interop/types.ts), by any name.
 *
 * To make it a static import instead, replace its `optionalAdapters` entry with one line,
 * `import { ngtcp2Peer } from './ngtcp2.js';`, and list it in `loadPeers`.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Peer } from '../types.js';
import { quicGoPeer } from './quic-go.js';

/** A column of the matrix: a peer, or why it has none. */
export type PeerEntry = { name: string; peer: Peer } | { name: string; absent: string };

/** Adapters that may not be in this tree yet: name and module file (without extension). */
const optionalAdapters = [{ name: 'ngtcp2', module: 'ngtcp2' }] as const;

function isPeer(value: unknown): value is Peer {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<Record<keyof Peer, unknown>>;
  return (
    typeof candidate.name === 'string' &&
    typeof candidate.unavailable === 'function' &&
    typeof candidate.version === 'function' &&
    typeof candidate.startServer === 'function' &&
    typeof candidate.runClient === 'function'
  );
}

/** The peers, with `only` (names) if given. */
export async function loadPeers(only?: readonly string[]): Promise<PeerEntry[]> {
  const entries: PeerEntry[] = [{ name: quicGoPeer.name, peer: quicGoPeer }];
  for (const adapter of optionalAdapters) {
    const source = fileURLToPath(new URL(`./${adapter.module}.ts`, import.meta.url));
    if (!existsSync(source)) {
      entries.push({ name: adapter.name, absent: 'adapter not present' });
      continue;
    }
    // A computed specifier: the type checker must not require a file that may not exist yet.
    const specifier = `./${adapter.module}.js`;
    try {
      const loaded = (await import(specifier)) as Record<string, unknown>;
      const peer = Object.values(loaded).find(isPeer);
      entries.push(peer === undefined ? { name: adapter.name, absent: `interop/peers/${adapter.module}.ts exports no Peer` } : { name: adapter.name, peer });
    } catch (error) {
      entries.push({ name: adapter.name, absent: `interop/peers/${adapter.module}.ts failed to load: ${(error as Error).message}` });
    }
  }
  return only === undefined ? entries : entries.filter((entry) => only.includes(entry.name));
}
