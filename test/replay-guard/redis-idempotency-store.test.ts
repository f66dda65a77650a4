import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisIdempotencyStore, ReplayGuard } from '../../src/replay-guard/index.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { keyedPost as post, runWeb } from '../helpers/web-guard.js';

describe('RedisIdempotencyStore against a real redis-server', () => {
  let redis: RedisServer;
  const stores: RedisIdempotencyStore[] = [];
  const guardOnRedis = (options: { maxBodyBytes?: number } = {}) => {
    const store = new RedisIdempotencyStore({ redis: redis.url });
    stores.push(store);
    return new ReplayGuard({ idempotency: { store, ...options } });
  };
  beforeAll(async () => {
    redis = await startRedis();
  }, 30_000);
  afterAll(async () => {
    await Promise.all(stores.map((store) => store.close()));
    await redis?.stop();
  });

  it('a key run on one worker is answered from Redis by another (or by the same worker after a restart)', async () => {
    const [before, after] = [guardOnRedis(), guardOnRedis()];
    let executions = 0;
    const body = Uint8Array.from([0, 1, 2, 255, 254, 10, 13]);
    const execute = async () => {
      executions++;
      return new Response(body, { status: 201, headers: { 'x-order': '7', 'content-type': 'application/octet-stream' } });
    };
    const first = await runWeb(before, post('order-7'), execute);
    expect(new Uint8Array(await first.arrayBuffer())).toEqual(body);
    const repeat = await runWeb(after, post('order-7'), execute);
    expect(repeat.status).toBe(201);
    expect(repeat.headers.get('idempotent-replayed')).toBe('true');
    expect(repeat.headers.get('x-order')).toBe('7');
    expect(new Uint8Array(await repeat.arrayBuffer())).toEqual(body);
    expect(executions).toBe(1);
    expect(after.metrics().idempotentRepeats).toBe(1);
    // Another path with the same key is another operation.
    const other = await runWeb(after, post('order-7', '/refund'), execute);
    expect(other.headers.get('idempotent-replayed')).toBeNull();
    expect(executions).toBe(2);
  });

  it('while the first runs on one replica, a repeat on another gets 409; a failed first run can be retried', async () => {
    const [a, b] = [guardOnRedis(), guardOnRedis()];
    let release: (() => void) | undefined;
    const first = runWeb(a, post('order-8'), () => new Promise<Response>((resolve) => (release = () => resolve(new Response('done')))));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await runWeb(b, post('order-8'), async () => new Response('second'))).status).toBe(409);
    release?.();
    expect(await (await first).text()).toBe('done');

    await expect(runWeb(a, post('order-9'), () => Promise.reject(new Error('crashed')))).rejects.toThrow('crashed');
    expect(await (await runWeb(b, post('order-9'), async () => new Response('retried'))).text()).toBe('retried');
  });

  it('a response too large to store is 409 on repeat, never a second run', async () => {
    const guard = guardOnRedis({ maxBodyBytes: 4 });
    let executions = 0;
    const execute = async () => {
      executions++;
      return new Response('larger than four bytes');
    };
    expect(await (await runWeb(guard, post('order-10'), execute)).text()).toBe('larger than four bytes');
    expect((await runWeb(guardOnRedis(), post('order-10'), execute)).status).toBe(409);
    expect(executions).toBe(1);
  });

  it('with Redis down, a keyed request gets 503 without running (at most once is kept)', async () => {
    const guard = guardOnRedis();
    await runWeb(guard, post('warm-up'), async () => new Response('ok'));
    await redis.stop();
    let executions = 0;
    const response = await runWeb(guard, post('order-11'), async () => {
      executions++;
      return new Response('ran');
    });
    expect(response.status).toBe(503);
    expect(executions).toBe(0);
  });
});
