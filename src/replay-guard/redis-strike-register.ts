import type { Redis, RedisOptions } from 'ioredis';
import { connectRedis, type RedisConnection } from '../redis-connection.js';
import { StrikeRegisterUnavailableError } from '../errors.js';
import { type StrikeRegister } from './strike-register.js';

/** Options of `RedisStrikeRegister`: the Redis connection, key prefix and timeouts. */
export interface RedisStrikeRegisterOptions {
  /** An ioredis client (not closed by `close()`), or options/URL to create one. */
  redis: Redis | RedisOptions | string;
  /** @default 'qfaas:strike:' */
  keyPrefix?: string;
  /** Per-command timeout for a client this register creates. @default 100 */
  commandTimeoutMs?: number;
}

/**
 * A strike register in Redis (`SET key 1 NX PX ttl`), for ticket keys shared by several worker
 * instances: a flight replayed to another instance finds its nonce already there. When Redis does
 * not answer, inserts fail and the guard makes early requests wait for the handshake.
 */
export class RedisStrikeRegister implements StrikeRegister {
  readonly #connection: RedisConnection;
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(options: RedisStrikeRegisterOptions) {
    this.#prefix = options.keyPrefix ?? 'qfaas:strike:';
    this.#connection = connectRedis(options.redis, options.commandTimeoutMs ?? 100);
    this.#redis = this.#connection.client;
  }

  async insert(nonce: string, ttlMs: number): Promise<boolean> {
    let result: string | null;
    try {
      result = await this.#redis.set(`${this.#prefix}${nonce}`, '1', 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX');
    } catch (error) {
      throw new StrikeRegisterUnavailableError(`Redis strike register unavailable: ${(error as Error).message}`, { cause: error });
    }
    return result === 'OK';
  }

  /** Closes the Redis client if this register created it. */
  close(): Promise<void> {
    return this.#connection.close();
  }
}
