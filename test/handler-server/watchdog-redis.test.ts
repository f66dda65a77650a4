import type { ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWatchdogConfig } from '../../src/handler-server/index.js';
import { getResponseInfo, InvokerClient } from '../../src/invoker-client/index.js';
import { createPlatformCA, credentialsEnvValue, MemoryTicketStore, type Provisioned, ZeroRttGenerator } from '../../src/zero-rtt/index.js';
import { freePort } from '../helpers/ports.js';
import { spawnTs, waitForStderr } from '../helpers/processes.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { startUdpRelay, type UdpRelay } from '../../interop/udp-relay.js';
import { fetchTarget } from '../helpers/fetch-target.js';

describe('QFAAS_REDIS_URL', () => {
  it('is validated without quoting the value (it may hold a password)', () => {
    expect(readWatchdogConfig({ fprocess: 'x', QFAAS_REDIS_URL: 'redis://:s3cret@127.0.0.1:6379' }).redisUrl).toBe('redis://:s3cret@127.0.0.1:6379');
    expect(readWatchdogConfig({ fprocess: 'x' }).redisUrl).toBeUndefined();
    for (const bad of ['http://:s3cret@host', 's3cret']) {
      let message = '';
      try {
        readWatchdogConfig({ fprocess: 'x', QFAAS_REDIS_URL: bad });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(/QFAAS_REDIS_URL/);
      expect(message).not.toContain('s3cret');
    }
  });
});

/**
 * Two qfaas-watchdog replicas started from one bundle (one ticket key), as a Deployment with two
 * replicas and one Secret would run them. With QFAAS_REDIS_URL they share the strike register and
 * the Idempotency-Key store: a flight captured towards one is refused by the other, and a keyed
 * POST repeated on the other is answered from the store instead of running again.
 */
describe('two qfaas-watchdog replicas of one bundle with QFAAS_REDIS_URL', () => {
  let redis: RedisServer;
  let provisioned: Provisioned;
  let client: InvokerClient;
  let relay: UdpRelay;
  const replicas: Array<{ child: ChildProcess; exited: Promise<unknown>; port: number }> = [];

  beforeAll(async () => {
    redis = await startRedis();
    const ca = await createPlatformCA();
    const generator = new ZeroRttGenerator({ ca });
    provisioned = await generator.provision({ functionName: 'pay', instanceId: 'shared', hosts: ['127.0.0.1'] });
    const line = credentialsEnvValue(provisioned.worker);
    for (let i = 0; i < 2; i++) {
      const upstreamPort = await freePort();
      const child = spawnTs('src/cli/qfaas-watchdog.ts', [], {
        fprocess: `${process.execPath} test/fixtures/function-server.mjs`,
        PORT: String(upstreamPort),
        upstream_url: `http://127.0.0.1:${upstreamPort}`,
        port: '0',
        QFAAS_HOST: '127.0.0.1',
        QFAAS_CREDENTIALS: line,
        QFAAS_REDIS_URL: redis.url,
      });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      const match = await waitForStderr(child, /udp\/(\d+) \(HTTP\/3\)/);
      replicas.push({ child, exited, port: Number(match[1]) });
    }
    const ticketStore = new MemoryTicketStore();
    ticketStore.set(provisioned.serverName, provisioned.session);
    client = new InvokerClient({ ca, certificate: await generator.invokerCertificate(), ticketStore });
    relay = await startUdpRelay({ targetPort: (replicas[0] as { port: number }).port });
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    await relay?.close();
    // SIGTERM: the watchdog stops its function process (a SIGKILLed watchdog would orphan it).
    for (const replica of replicas) {
      replica.child.kill('SIGTERM');
      const forced = setTimeout(() => replica.child.kill('SIGKILL'), 10_000);
      await replica.exited;
      clearTimeout(forced);
    }
    await redis?.stop();
  });

  const target = (port: number, path: string) => ({ serverName: provisioned.serverName, host: '127.0.0.1', port, path });

  it('a keyed POST run on one replica is answered from Redis by the other, without running again', async () => {
    const [a, b] = replicas.map((replica) => replica.port) as [number, number];
    const init = { method: 'POST', body: 'ten euros', headers: { 'idempotency-key': 'order-42' } };
    const first = await fetchTarget(client, target(a, '/charge'), init);
    const firstBody = await first.text();
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const repeat = await fetchTarget(client, target(b, '/charge'), init);
    expect(repeat.headers.get('idempotent-replayed')).toBe('true');
    expect(await repeat.text()).toBe(firstBody);
  }, 30_000);

  it('a 0-RTT flight captured towards one replica is refused by the other (shared strike register)', async () => {
    const b = (replicas[1] as { port: number }).port;
    const runs = async () => ((await (await fetchTarget(client, target(b, '/runs'))).json()) as { served: number }).served;
    const response = await fetchTarget(client, target(relay.port, '/read'));
    expect(await response.json()).toMatchObject({ path: '/read', earlyData: '1' });
    expect(getResponseInfo(response)).toMatchObject({ earlyData: true, transport: { earlyDataAttempted: true } });
    const [flight] = relay.firstFlights() as [Uint8Array[]];
    const before = await runs();
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    let answered = 0;
    socket.on('message', () => answered++);
    for (const datagram of flight) await new Promise<void>((resolve) => socket.send(datagram, b, '127.0.0.1', () => resolve()));
    await new Promise((resolve) => setTimeout(resolve, 800));
    socket.close();
    // QUIC on the replica accepted the flight (it answered), but the request never reached the function.
    expect(answered).toBeGreaterThan(0);
    expect(await runs()).toBe(before);
  }, 30_000);
});
