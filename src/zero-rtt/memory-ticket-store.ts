import { QfaasConfigError } from '../errors.js';
import type { StoredSession, TicketStore } from './ticket-store.js';
import { zeroRttDefaults } from './defaults.js';

/** Options of `MemoryTicketStore`. */
export interface MemoryTicketStoreOptions {
  /** Sessions kept; the least recently used goes first. 0 disables the store. @default 10_000 */
  maxEntries?: number;
  /** Upper bound on how long a session is kept, whatever its own expiry. @default 24 hours */
  ttlMs?: number;
  /** @default `Date.now` */
  now?: () => number;
}

/** An in-process LRU ticket store with a time-to-live, for a single gateway process. */
export class MemoryTicketStore implements TicketStore {
  readonly #entries = new Map<string, { session: StoredSession; until: number }>();
  readonly #maxEntries: number;
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(options: MemoryTicketStoreOptions = {}) {
    this.#maxEntries = options.maxEntries ?? zeroRttDefaults.memoryStoreMaxEntries;
    this.#ttlMs = options.ttlMs ?? 24 * 3600_000;
    this.#now = options.now ?? Date.now;
    if (!Number.isInteger(this.#maxEntries) || this.#maxEntries < 0) throw new QfaasConfigError('maxEntries', 'must be a non-negative integer');
    if (!(this.#ttlMs > 0)) throw new QfaasConfigError('ttlMs', 'must be positive');
  }

  get size(): number {
    return this.#entries.size;
  }

  get(serverName: string): StoredSession | undefined {
    const entry = this.#entries.get(serverName);
    if (entry === undefined) return undefined;
    if (entry.until <= this.#now()) {
      this.#entries.delete(serverName);
      return undefined;
    }
    // Re-insert: Map iteration order is the LRU order.
    this.#entries.delete(serverName);
    this.#entries.set(serverName, entry);
    return entry.session;
  }

  set(serverName: string, session: StoredSession): void {
    if (this.#maxEntries === 0) return;
    const until = Math.min(session.expiresAt, this.#now() + this.#ttlMs);
    this.#entries.delete(serverName);
    if (until <= this.#now()) return;
    this.#entries.set(serverName, { session, until });
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }

  delete(serverName: string): void {
    this.#entries.delete(serverName);
  }
}
