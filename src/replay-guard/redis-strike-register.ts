import { Redis, type RedisOptions } from 'ioredis';
import { StrikeRegisterUnavailableError, type StrikeRegister } from './strike-register.js';

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
  readonly #redis: Redis;
  readonly #owned: boolean;
  readonly #prefix: string;

  constructor(options: RedisStrikeRegisterOptions) {
    this.#prefix = options.keyPrefix ?? 'qfaas:strike:';
    if (options.redis instanceof Redis) {
      this.#redis = options.redis;
      this.#owned = false;
    } else {
      const failFast: RedisOptions = {
        enableOfflineQueue: true,
        maxRetriesPerRequest: 1,
        commandTimeout: options.commandTimeoutMs ?? 100,
        connectTimeout: 1000,
        retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
      };
      this.#redis = typeof options.redis === 'string' ? new Redis(options.redis, failFast) : new Redis({ ...failFast, ...options.redis });
      this.#owned = true;
      this.#redis.on('error', () => undefined);
    }
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

  async close(): Promise<void> {
    if (!this.#owned) return;
    try {
      await this.#redis.quit();
    } catch {
      this.#redis.disconnect();
    }
  }
}
