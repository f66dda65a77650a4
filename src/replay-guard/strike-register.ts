import { QfaasConfigError, StrikeRegisterUnavailableError } from '../errors.js';
import { positiveInteger } from '../option-checks.js';

/**
 * Remembers the nonces of early requests for a while, so that a nonce seen twice is a replay.
 * `insert` returns true when the nonce was new and is now recorded, false when it was already
 * there; it throws (or rejects) when it cannot tell, and the guard then fails closed (the request
 * waits for the handshake, which a replay never completes).
 */
export interface StrikeRegister {
  insert(nonce: string, ttlMs: number): boolean | Promise<boolean>;
}

/** Options of `MemoryStrikeRegister`. */
export interface MemoryStrikeRegisterOptions {
  /** Live nonces at most; beyond it inserts fail (and requests wait for the handshake). @default 1_000_000 */
  maxEntries?: number;
  /** Width of an expiry bucket. @default 1000 */
  bucketMs?: number;
  /** @default `Date.now` */
  now?: () => number;
}

/**
 * An in-process strike register with bounded memory: nonces live in time buckets, and a whole
 * bucket is dropped once its newest nonce has expired (no per-entry timers). Enough when each
 * worker instance has its own ticket key, since a replay can then only reach that instance.
 */
export class MemoryStrikeRegister implements StrikeRegister {
  readonly #buckets = new Map<number, Set<string>>();
  readonly #maxEntries: number;
  readonly #bucketMs: number;
  readonly #now: () => number;
  #size = 0;

  constructor(options: MemoryStrikeRegisterOptions = {}) {
    this.#maxEntries = options.maxEntries ?? 1_000_000;
    this.#bucketMs = options.bucketMs ?? 1000;
    this.#now = options.now ?? Date.now;
    positiveInteger(this.#maxEntries, 'maxEntries');
    if (!(this.#bucketMs > 0)) throw new QfaasConfigError('bucketMs', 'must be positive');
  }

  /** Nonces currently remembered. */
  get size(): number {
    return this.#size;
  }

  insert(nonce: string, ttlMs: number): boolean {
    const now = this.#now();
    this.#expire(now);
    for (const bucket of this.#buckets.values()) if (bucket.has(nonce)) return false;
    if (this.#size >= this.#maxEntries) throw new StrikeRegisterUnavailableError(`strike register full (${this.#maxEntries} live nonces)`);
    // A bucket is keyed by the time its nonces stop mattering, rounded up.
    const key = Math.ceil((now + ttlMs) / this.#bucketMs);
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      bucket = new Set();
      this.#buckets.set(key, bucket);
    }
    bucket.add(nonce);
    this.#size++;
    return true;
  }

  #expire(now: number): void {
    const current = Math.floor(now / this.#bucketMs);
    for (const [key, bucket] of this.#buckets) {
      if (key <= current) {
        this.#size -= bucket.size;
        this.#buckets.delete(key);
      }
    }
  }
}
