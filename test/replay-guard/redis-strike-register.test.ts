import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markEarlyRequest, RedisStrikeRegister, ReplayGuard, StrikeRegisterUnavailableError } from '../../src/replay-guard/index.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';

describe('RedisStrikeRegister against a real redis-server', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  }, 30_000);
  afterAll(async () => {
    await redis?.stop();
  });

  it('SET NX PX: the first insert wins, even when 20 race for the same nonce', async () => {
    const registers = Array.from({ length: 4 }, () => new RedisStrikeRegister({ redis: redis.url }));
    try {
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (registers[i % 4] as RedisStrikeRegister).insert('race', 5_000)));
      expect(results.filter(Boolean)).toHaveLength(1);
      const inspector = new Redis(redis.url);
      const ttl = await inspector.pttl('qfaas:strike:race');
      inspector.disconnect();
      expect(ttl).toBeGreaterThan(4_000);
    } finally {
      await Promise.all(registers.map((r) => r.close()));
    }
  });

  it('expires with the ttl', async () => {
    const register = new RedisStrikeRegister({ redis: redis.url });
    try {
      expect(await register.insert('short', 100)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await register.insert('short', 100)).toBe(true);
    } finally {
      await register.close();
    }
  });

  it('with Redis down, inserts fail fast and the guard defers early requests to the handshake', async () => {
    const register = new RedisStrikeRegister({ redis: redis.url, commandTimeoutMs: 100 });
    await register.insert('warm-up', 1000);
    await redis.stop();
    const started = performance.now();
    await expect(register.insert('x', 1000)).rejects.toBeInstanceOf(StrikeRegisterUnavailableError);
    expect(performance.now() - started).toBeLessThan(2000);
    const guard = new ReplayGuard({ strikeRegister: register });
    const request = new Request('https://w/');
    markEarlyRequest(request.headers);
    expect(await guard.check(request, true)).toEqual({ action: 'defer' });
    await register.close();
  });
});
