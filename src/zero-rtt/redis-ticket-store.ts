import type { Redis, RedisOptions } from 'ioredis';
import { connectRedis, type RedisConnection } from '../redis-connection.js';
import { QfaasConfigError } from '../errors.js';
import { deserializePeerSettings, isSerializedPeerSettings, serializePeerSettings, type SerializedPeerSettings } from '../transport/h3/settings.js';
import { Secret } from './secret.js';
import type { StoredSession, TicketStore } from './ticket-store.js';
import { zeroRttDefaults } from './defaults.js';

/** Options of `RedisTicketStore`: the Redis connection, key prefix and timeouts. */
export interface RedisTicketStoreOptions {
  /** An ioredis client to use (not closed by `close()`), or options/URL to create one. */
  redis: Redis | RedisOptions | string;
  /** Prefix of every key. @default 'qfaas:session:' */
  keyPrefix?: string;
  /** Upper bound on a key's time to live, whatever the session's own expiry. @default 24 hours */
  ttlMs?: number;
  /** Per-command timeout for a client this store creates. @default 200 */
  commandTimeoutMs?: number;
  /** @default `Date.now` */
  now?: () => number;
}

interface Entry {
  s: string;
  e: number;
  st?: SerializedPeerSettings;
}

/**
 * Sessions in Redis, shared by every gateway replica. Keys expire with the session (`SET … PX`).
 * A client this store creates fails fast when Redis is down (a per-command timeout, one retry), so
 * that the invoker falls back to 1-RTT instead of waiting; wrap it in FailSafeTicketStore.
 */
export class RedisTicketStore implements TicketStore {
  readonly #connection: RedisConnection;
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(options: RedisTicketStoreOptions) {
    this.#prefix = options.keyPrefix ?? 'qfaas:session:';
    this.#ttlMs = options.ttlMs ?? zeroRttDefaults.sessionLifetimeMs;
    this.#now = options.now ?? Date.now;
    if (!(this.#ttlMs > 0)) throw new QfaasConfigError('ttlMs', 'must be positive');
    this.#connection = connectRedis(options.redis, options.commandTimeoutMs ?? zeroRttDefaults.redisCommandTimeoutMs);
    this.#redis = this.#connection.client;
  }

  async get(serverName: string): Promise<StoredSession | undefined> {
    const raw = await this.#redis.get(this.#key(serverName));
    if (raw === null) return undefined;
    let entry: Entry;
    try {
      entry = JSON.parse(raw) as Entry;
      if (typeof entry.s !== 'string' || typeof entry.e !== 'number' || (entry.st !== undefined && !isSerializedPeerSettings(entry.st))) throw new TypeError('bad entry');
    } catch {
      await this.#redis.del(this.#key(serverName));
      return undefined;
    }
    return {
      session: new Secret(Uint8Array.from(Buffer.from(entry.s, 'base64')), 'session ticket'),
      expiresAt: entry.e,
      ...(entry.st === undefined ? {} : { settings: deserializePeerSettings(entry.st) }),
    };
  }

  async set(serverName: string, session: StoredSession): Promise<void> {
    const ttl = Math.min(this.#ttlMs, session.expiresAt - this.#now());
    if (ttl <= 0) {
      await this.delete(serverName);
      return;
    }
    const entry: Entry = {
      s: Buffer.from(session.session.reveal()).toString('base64'),
      e: session.expiresAt,
      ...(session.settings === undefined ? {} : { st: serializePeerSettings(session.settings) }),
    };
    await this.#redis.set(this.#key(serverName), JSON.stringify(entry), 'PX', Math.ceil(ttl));
  }

  async delete(serverName: string): Promise<void> {
    await this.#redis.del(this.#key(serverName));
  }

  /** Closes the Redis client if this store created it. */
  close(): Promise<void> {
    return this.#connection.close();
  }

  #key(serverName: string): string {
    return `${this.#prefix}${serverName}`;
  }
}
