import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQuicClient, createQuicheConfig, type QuicEndpoint } from '../../src/transport/index.js';
import {
  createPlatformCA,
  createWorkerQuicConfig,
  FailSafeTicketStore,
  MemoryTicketStore,
  RedisTicketStore,
  Secret,
  ZeroRttGenerator,
  type PlatformCA,
  type StoredSession,
  type TicketStore,
} from '../../src/zero-rtt/index.js';
import { createHttp3Server } from '../../src/transport/index.js';
import { runToEnd, spawnTs } from '../helpers/processes.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { callWithStore } from '../helpers/store-client.js';

const session = (label: string, expiresAt = Date.now() + 60_000): StoredSession => ({
  session: new Secret(Buffer.from(label), 'session ticket'),
  expiresAt,
  settings: { maxFieldSectionSize: 65_536, qpackMaxTableCapacity: 0, qpackBlockedStreams: 0 },
});
const label = (stored: StoredSession | undefined) => (stored === undefined ? undefined : Buffer.from(stored.session.reveal()).toString());

describe('MemoryTicketStore', () => {
  it('keeps the most recently used entries up to maxEntries', () => {
    const store = new MemoryTicketStore({ maxEntries: 2 });
    store.set('a', session('A'));
    store.set('b', session('B'));
    expect(label(store.get('a'))).toBe('A'); // a is now the most recent
    store.set('c', session('C'));
    expect(store.get('b')).toBeUndefined();
    expect(label(store.get('a'))).toBe('A');
    expect(label(store.get('c'))).toBe('C');
    expect(store.size).toBe(2);
  });

  it('forgets sessions at their own expiry or the TTL, whichever comes first', () => {
    let now = 1_000_000;
    const store = new MemoryTicketStore({ ttlMs: 10_000, now: () => now });
    store.set('short', session('S', now + 5_000));
    store.set('long', session('L', now + 60_000));
    now += 6_000;
    expect(store.get('short')).toBeUndefined();
    expect(label(store.get('long'))).toBe('L');
    now += 5_000;
    expect(store.get('long')).toBeUndefined();
  });

  it('a newer session replaces the stored one; delete removes it; maxEntries 0 stores nothing', () => {
    const store = new MemoryTicketStore();
    store.set('w', session('old'));
    store.set('w', session('new'));
    expect(label(store.get('w'))).toBe('new');
    store.delete('w');
    expect(store.get('w')).toBeUndefined();
    const disabled = new MemoryTicketStore({ maxEntries: 0 });
    disabled.set('w', session('x'));
    expect(disabled.get('w')).toBeUndefined();
  });
});

describe('FailSafeTicketStore', () => {
  it('turns a throwing or slow store into "no session" and counts the failures', async () => {
    const errors: string[] = [];
    const broken: TicketStore = {
      get: () => {
        throw new Error('disk on fire');
      },
      set: () => Promise.reject(new Error('nope')),
      delete: () => new Promise(() => undefined),
    };
    const store = new FailSafeTicketStore(broken, { timeoutMs: 50, onError: (e) => errors.push(`${e.operation}: ${e.message}`) });
    expect(await store.get('w')).toBeUndefined();
    await store.set('w', session('x'));
    const started = performance.now();
    await store.delete('w');
    expect(performance.now() - started).toBeLessThan(1000);
    expect(store.failures).toBe(3);
    expect(errors[0]).toContain('disk on fire');
    expect(errors[2]).toContain('no answer within 50 ms');
  });

  it('does not return an expired session, and deletes it', async () => {
    const inner = new MemoryTicketStore({ now: () => 0 });
    inner.set('w', session('x', 1_000));
    const store = new FailSafeTicketStore(inner, { now: () => 2_000 });
    expect(await store.get('w')).toBeUndefined();
    await new Promise((resolve) => setImmediate(resolve));
    expect(inner.get('w')).toBeUndefined();
  });
});

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
      const config = createQuicheConfig({ role: 'client', caPem: ca.certPem, certificate: invoker });
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
