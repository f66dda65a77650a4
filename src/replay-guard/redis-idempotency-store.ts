import { createHash } from 'node:crypto';
import type { Redis, RedisOptions } from 'ioredis';
import { connectRedis, type RedisConnection } from '../redis-connection.js';
import { IdempotencyStoreUnavailableError } from '../errors.js';
import { type IdempotencyRecord, type IdempotencyStore, type StoredResponse } from './idempotency-store.js';

/** Options of `RedisIdempotencyStore`: the Redis connection, key prefix and timeouts. */
export interface RedisIdempotencyStoreOptions {
  /** An ioredis client (not closed by `close()`), or options/URL to create one. */
  redis: Redis | RedisOptions | string;
  /**
   * Prefix of every key. Functions that share a Redis and could see the same method, path and
   * `Idempotency-Key` need one prefix each (e.g. `qfaas:idem:<function>:`). @default 'qfaas:idem:'
   */
  keyPrefix?: string;
  /** Per-command timeout for a client this store creates. @default 200 */
  commandTimeoutMs?: number;
}

/** The value kept under a key: a small JSON head, then the body's bytes. */
interface Head {
  state: 'running' | 'done';
  status?: number;
  headers?: Array<[string, string]>;
  /** Body length; -1 for no body, -2 for a response too large to keep. */
  bodyLength?: number;
}

const running = Buffer.from(JSON.stringify({ state: 'running' } satisfies Head));

/**
 * `Idempotency-Key`s in Redis, shared by every replica of a function and surviving a worker's
 * restart. A claim is `SET key running NX PX window`; a finished request replaces it with its
 * response for the window. A claim left by a worker that crashed mid-request stays `running` until
 * the window ends, so repeats get 409 (the first may have run) rather than a second execution.
 */
export class RedisIdempotencyStore implements IdempotencyStore {
  readonly #connection: RedisConnection;
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(options: RedisIdempotencyStoreOptions) {
    this.#prefix = options.keyPrefix ?? 'qfaas:idem:';
    this.#connection = connectRedis(options.redis, options.commandTimeoutMs ?? 200);
    this.#redis = this.#connection.client;
  }

  async claim(key: string, windowMs: number): Promise<IdempotencyRecord | undefined> {
    const redisKey = this.#key(key);
    try {
      // Twice at most: the key may expire between a refused SET and the GET.
      for (let attempt = 0; attempt < 2; attempt++) {
        const set = await this.#redis.set(redisKey, running, 'PX', Math.max(1, Math.ceil(windowMs)), 'NX');
        if (set === 'OK') return undefined;
        const value = await this.#redis.getBuffer(redisKey);
        if (value !== null) return decode(value);
      }
    } catch (error) {
      throw new IdempotencyStoreUnavailableError(`Redis idempotency store unavailable: ${(error as Error).message}`, { cause: error });
    }
    throw new IdempotencyStoreUnavailableError('Redis idempotency store: the key changed twice while it was read');
  }

  async complete(key: string, response: StoredResponse | undefined, windowMs: number): Promise<void> {
    await this.#redis.set(this.#key(key), encode(response), 'PX', Math.max(1, Math.ceil(windowMs)));
  }

  async release(key: string): Promise<void> {
    await this.#redis.del(this.#key(key));
  }

  /** Closes the Redis client if this store created it. */
  close(): Promise<void> {
    return this.#connection.close();
  }

  // Keys are client-chosen and unbounded in length: hashed, they stay short and opaque.
  #key(key: string): string {
    return `${this.#prefix}${createHash('sha256').update(key).digest('base64url')}`;
  }
}

function encode(response: StoredResponse | undefined): Buffer {
  const head: Head =
    response === undefined
      ? { state: 'done', bodyLength: -2 }
      : { state: 'done', status: response.status, headers: response.headers, bodyLength: response.body === undefined ? -1 : response.body.length };
  const headBytes = Buffer.from(JSON.stringify(head));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(headBytes.length);
  return Buffer.concat([length, headBytes, response?.body ?? Buffer.alloc(0)]);
}

function decode(value: Buffer): IdempotencyRecord {
  if (value.equals(running)) return { state: 'running' };
  if (value.length < 4) throw new Error('malformed idempotency record');
  const headLength = value.readUInt32BE(0);
  const head = JSON.parse(value.subarray(4, 4 + headLength).toString()) as Head;
  if (head.state === 'running') return { state: 'running' };
  if (head.bodyLength === -2 || head.status === undefined) return { state: 'done', response: undefined };
  const body = head.bodyLength === -1 ? undefined : Uint8Array.from(value.subarray(4 + headLength));
  return { state: 'done', response: { status: head.status, headers: head.headers ?? [], body } };
}
