import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQuicClient, createQuicConfig, type QuicEndpoint } from '../../src/transport/index.js';
import { createPlatformCA, createWorkerQuicConfig, RedisTicketStore, ZeroRttGenerator, type PlatformCA } from '../../src/zero-rtt/index.js';
import { createHttp3Server } from '../../src/transport/index.js';
import { runToEnd, spawnTs } from '../helpers/processes.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { callWithStore } from '../helpers/store-client.js';
import { label, session } from '../helpers/sessions.js';

describe('RedisTicketStore against a real redis-server', () => {
  let redis: RedisServer;
  let ca: PlatformCA;
  let endpoint: QuicEndpoint;
  beforeAll(async () => {
    redis = await startRedis();
    ca = await createPlatformCA();
    endpoint = await createQuicClient();
  }, 30_000);
  afterAll(async () => {
    await endpoint?.close();
    await redis?.stop();
  });

  it('stores, replaces and deletes under its prefix, with the key expiring with the session', async () => {
    const store = new RedisTicketStore({ redis: redis.url, keyPrefix: 'test:' });
    const inspector = new Redis(redis.url);
    try {
      await store.set('w1', session('first', Date.now() + 30_000));
      await store.set('w1', session('second', Date.now() + 30_000));
      expect(label(await store.get('w1'))).toBe('second');
      expect((await store.get('w1'))?.settings?.maxFieldSectionSize).toBe(65_536);
      const ttl = await inspector.pttl('test:w1');
      expect(ttl).toBeGreaterThan(25_000);
      expect(ttl).toBeLessThanOrEqual(30_000);
      await inspector.set('test:corrupt', 'not json');
      expect(await store.get('corrupt')).toBeUndefined();
      expect(await inspector.exists('test:corrupt')).toBe(0);
      // An entry whose settings are not what the store writes is dropped, not handed to a connection.
      const entry = JSON.parse((await inspector.get('test:w1')) as string) as Record<string, unknown>;
      await inspector.set('test:tampered', JSON.stringify({ ...entry, st: { maxFieldSectionSize: -1, qpackMaxTableCapacity: 0, qpackBlockedStreams: 0 } }));
      expect(await store.get('tampered')).toBeUndefined();
      expect(await inspector.exists('test:tampered')).toBe(0);
      await store.delete('w1');
      expect(await store.get('w1')).toBeUndefined();
      await store.set('gone', session('x', Date.now() - 1));
      expect(await inspector.exists('test:gone')).toBe(0);
    } finally {
      inspector.disconnect();
      await store.close();
    }
  });

  it('two gateway processes share sessions: one stores, the other sends 0-RTT; with Redis killed, requests still succeed over 1-RTT', async () => {
    const generator = new ZeroRttGenerator({ ca });
    const provisioned = await generator.provision({ functionName: 'shared', instanceId: 'i-1', hosts: ['127.0.0.1'] });
    const invoker = await generator.invokerCertificate();
    const worker = await createHttp3Server({
      config: createWorkerQuicConfig(provisioned.worker),
      handler: (_request, info) => new Response(info.earlyData ? 'early' : 'not early'),
    });
    const store = new RedisTicketStore({ redis: redis.url });
    try {
      // This process (gateway A) stores the provisioned session...
      await store.set(provisioned.serverName, provisioned.session);
      const env = { CA_CERT: ca.certPem, INVOKER_CERT: invoker.certPem, INVOKER_KEY: invoker.keyPem };
      const args = [redis.url, provisioned.serverName, String(worker.address.port)];
      // ...and gateway B, another process, finds it and sends its first request in 0-RTT.
      const first = JSON.parse(await runToEnd(spawnTs('test/fixtures/gateway-from-redis.ts', args, env)));
      expect(first).toMatchObject({ status: 200, body: 'early', earlyDataAccepted: true, usedSession: true, storeFailures: 0 });
      // The worker's fresh ticket went back to Redis; this process can use it too.
      const config = createQuicConfig({ role: 'client', caPem: ca.certPem, certificate: invoker });
      const again = await callWithStore({ endpoint, config, store, serverName: provisioned.serverName, port: worker.address.port });
      expect(again).toMatchObject({ body: 'early', earlyDataAccepted: true });

      await redis.stop();
      const withoutRedis = JSON.parse(await runToEnd(spawnTs('test/fixtures/gateway-from-redis.ts', args, env)));
      expect(withoutRedis).toMatchObject({ status: 200, body: 'not early', earlyDataAccepted: false, usedSession: false });
      expect(withoutRedis.storeFailures).toBeGreaterThan(0);
    } finally {
      await store.close();
      await worker.close({ timeoutMs: 100 });
    }
  }, 60_000);
});
