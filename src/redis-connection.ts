import { Redis, type RedisOptions } from 'ioredis';

/** A Redis client a store either was given (and must leave open) or created (and must close). */
export interface RedisConnection {
  readonly client: Redis;
  close(): Promise<void>;
}

/**
 * Uses the given ioredis client, or creates one that fails fast when Redis is down: commands
 * wait for the first connection, but never longer than `commandTimeoutMs`, with one retry, and
 * the client keeps reconnecting in the background (at most every 2 s) so a restarted Redis is used
 * again. Its error events are absorbed: failures surface on the commands.
 */
export function connectRedis(redis: Redis | RedisOptions | string, commandTimeoutMs: number): RedisConnection {
  if (redis instanceof Redis) return { client: redis, close: async () => undefined };
  const failFast: RedisOptions = {
    enableOfflineQueue: true,
    maxRetriesPerRequest: 1,
    commandTimeout: commandTimeoutMs,
    connectTimeout: 1000,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
  };
  const client = typeof redis === 'string' ? new Redis(redis, failFast) : new Redis({ ...failFast, ...redis });
  client.on('error', () => undefined);
  return {
    client,
    async close() {
      try {
        await client.quit();
      } catch {
        client.disconnect();
      }
    },
  };
}
