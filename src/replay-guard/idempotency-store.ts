import { IdempotencyStoreUnavailableError } from '../errors.js';
import { positiveInteger } from '../option-checks.js';

/** A response kept so that a repeat of its `Idempotency-Key` gets the same answer. */
export interface StoredResponse {
  status: number;
  headers: Array<[string, string]>;
  body: Uint8Array | undefined;
}

/**
 * What a store holds for a key: the first request is still running, or it finished (with its
 * response, or `undefined` when that was too large to keep).
 */
export type IdempotencyRecord = { state: 'running' } | { state: 'done'; response: StoredResponse | undefined };

/**
 * Where `Idempotency-Key`s are remembered. `claim` is atomic: exactly one caller per key and
 * window gets `undefined` (the key is now its own, marked running); every other caller gets the
 * record. A store that cannot answer throws {@link IdempotencyStoreUnavailableError} (or any
 * error): the request is then refused with 503 rather than risk running twice.
 */
export interface IdempotencyStore {
  claim(key: string, windowMs: number): IdempotencyRecord | undefined | Promise<IdempotencyRecord | undefined>;
  /** The claimed request finished: keep its response for the window. */
  complete(key: string, response: StoredResponse | undefined, windowMs: number): void | Promise<void>;
  /** The claimed request failed before completing: a retry may run it. */
  release(key: string): void | Promise<void>;
}

/** Options of `MemoryIdempotencyStore`. */
export interface MemoryIdempotencyStoreOptions {
  /** Keys remembered at most; the oldest go first. @default 10_000 */
  maxEntries?: number;
  /** @default `Date.now` */
  now?: () => number;
}

type Entry = IdempotencyRecord & { until: number };

/**
 * Keys in this process's memory: enough for one instance while it lives. A restarted worker, or
 * another replica, does not see them; use {@link RedisIdempotencyStore} for those.
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(options: MemoryIdempotencyStoreOptions = {}) {
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#now = options.now ?? Date.now;
    positiveInteger(this.#maxEntries, 'idempotency.maxEntries');
  }

  /** Keys currently remembered. */
  get size(): number {
    return this.#entries.size;
  }

  claim(key: string, windowMs: number): IdempotencyRecord | undefined {
    const now = this.#now();
    const existing = this.#entries.get(key);
    if (existing !== undefined && existing.until > now) return existing.state === 'running' ? { state: 'running' } : { state: 'done', response: existing.response };
    this.#entries.delete(key);
    while (this.#entries.size >= this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value as string);
    this.#entries.set(key, { state: 'running', until: now + windowMs });
    return undefined;
  }

  complete(key: string, response: StoredResponse | undefined, windowMs: number): void {
    this.#entries.set(key, { state: 'done', response, until: this.#now() + windowMs });
  }

  release(key: string): void {
    this.#entries.delete(key);
  }
}
