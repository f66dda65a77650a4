import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandlerServer, type HandlerServer } from '../../src/handler-server/index.js';
import { getResponseInfo, InvokerClient } from '../../src/invoker-client/index.js';
import { RedisStrikeRegister } from '../../src/replay-guard/index.js';
import { createPlatformCA, MemoryTicketStore, ZeroRttGenerator, type Provisioned } from '../../src/zero-rtt/index.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { startUdpRelay, type UdpRelay } from '../../interop/udp-relay.js';
import { fetchTarget } from '../helpers/fetch-target.js';

/**
 * The replay attack: an on-path attacker records the client's first flight of a 0-RTT connection
 * and sends it again, from new source ports, to the same worker and to another instance that
 * shares the ticket key. quiche accepts such a flight every time; the replay guard must keep it
 * from executing anything a second time.
 */
describe('replaying a captured 0-RTT flight', () => {
  let redis: RedisServer;
  let relay: UdpRelay;
  let workerA: HandlerServer;
  let workerB: HandlerServer;
  let provisioned: Provisioned;
  let postFlight: Uint8Array[];
  let getFlight: Uint8Array[];
  const registers: RedisStrikeRegister[] = [];
  const invokers: InvokerClient[] = [];
  const freshnessWindowMs = 2000;
  const state = { counter: 0, executions: 0 };

  const replay = async (flight: Uint8Array[], times: number, port: number) => {
    for (let i = 0; i < times; i++) {
      // A fresh source port for every replay, as an attacker would use.
      const socket = dgram.createSocket('udp4');
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
      for (const datagram of flight) await new Promise<void>((resolve) => socket.send(datagram, port, '127.0.0.1', () => resolve()));
      setTimeout(() => socket.close(), 500);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await new Promise((resolve) => setTimeout(resolve, 400));
  };

  beforeAll(async () => {
    redis = await startRedis();
    const ca = await createPlatformCA();
    const generator = new ZeroRttGenerator({ ca });
    provisioned = await generator.provision({ functionName: 'counter', instanceId: 'i-1', hosts: ['127.0.0.1'] });
    const handler = async (request: Request) => {
      state.executions++;
      if (request.method === 'POST' && new URL(request.url).pathname === '/increment') state.counter++;
      return Response.json({ counter: state.counter });
    };
    const guard = () => {
      const strikeRegister = new RedisStrikeRegister({ redis: redis.url });
      registers.push(strikeRegister);
      // 'always': eligible early requests run at once, so the strike register alone must stop replays.
      return { policy: 'always' as const, strikeRegister, freshnessWindowMs };
    };
    // A replayed flight can never finish its handshake, so the connection it opens lingers until the
    // idle timeout and absorbs further copies of the same flight; a short timeout lets the test
    // below reach the guard again after the freshness window.
    const transport = { maxIdleTimeoutMs: 1000 };
    workerA = await createHandlerServer({ credentials: provisioned.worker, host: '127.0.0.1', handler, replayGuard: guard(), transport });
    // A second instance with the same credentials, hence the same ticket key.
    workerB = await createHandlerServer({ credentials: provisioned.worker, host: '127.0.0.1', handler, replayGuard: guard(), transport });
    relay = await startUdpRelay({ targetPort: workerA.address.port });

    const ticketStore = new MemoryTicketStore();
    ticketStore.set(provisioned.serverName, provisioned.session);
    const certificate = await generator.invokerCertificate();
    const target = (path: string) => ({ serverName: provisioned.serverName, host: '127.0.0.1', port: relay.port, path });
    // (a) a POST that increments the counter, sent in 0-RTT (policy 'always'), on one connection...
    const poster = new InvokerClient({ ca, certificate, ticketStore, zeroRtt: 'always' });
    const post = await fetchTarget(poster, target('/increment'), { method: 'POST', body: 'add one' });
    expect(await post.json()).toEqual({ counter: 1 });
    expect(getResponseInfo(post)).toMatchObject({ earlyData: true, transport: { earlyDataAttempted: true } });
    // ...and (b) a GET, in 0-RTT, on another (a new client socket).
    const getter = new InvokerClient({ ca, certificate, ticketStore });
    const get = await fetchTarget(getter, target('/read'));
    expect(await get.json()).toEqual({ counter: 1 });
    expect(getResponseInfo(get)).toMatchObject({ earlyData: true, transport: { earlyDataAttempted: true } });
    invokers.push(poster, getter);
    [postFlight, getFlight] = relay.firstFlights() as [Uint8Array[], Uint8Array[]];
    expect(postFlight.length).toBeGreaterThan(0);
    expect(getFlight.length).toBeGreaterThan(0);
    expect(state.executions).toBe(2);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(invokers.map((invoker) => invoker.close()));
    await workerA?.close({ timeoutMs: 100 });
    await workerB?.close({ timeoutMs: 100 });
    await relay?.close();
    await Promise.all(registers.map((register) => register.close()));
    await redis?.stop();
  });

  it('replayed 1, 10 and 100 times to the same worker, with the original connections still open: nothing runs again', async () => {
    for (const times of [1, 10, 100]) {
      await replay(postFlight, times, workerA.address.port);
      await replay(getFlight, times, workerA.address.port);
    }
    expect(state.counter).toBe(1);
    expect(state.executions).toBe(2);
    const guard = workerA.metrics().replayGuard;
    expect(guard?.replaysDetected).toBeGreaterThan(0);
    expect(guard?.earlyAccepted).toBe(2); // the two honest requests only
  }, 60_000);

  it('replayed to a second instance sharing the ticket key: the Redis strike register stops it', async () => {
    await replay(postFlight, 10, workerB.address.port);
    await replay(getFlight, 10, workerB.address.port);
    expect(state.counter).toBe(1);
    expect(state.executions).toBe(2);
    expect(workerB.metrics().replayGuard?.replaysDetected).toBeGreaterThan(0);
    expect(workerB.metrics().replayGuard?.earlyAccepted).toBe(0);
  }, 30_000);

  it('replayed after the freshness window: refused as stale', async () => {
    // Past the window, and past the idle timeout of the connections earlier replays left behind.
    await new Promise((resolve) => setTimeout(resolve, freshnessWindowMs + 1500));
    const before = workerA.metrics().replayGuard?.replaysDetected ?? 0;
    await replay(postFlight, 3, workerA.address.port);
    expect(state.counter).toBe(1);
    expect(state.executions).toBe(2);
    expect(workerA.metrics().replayGuard?.replaysDetected).toBeGreaterThan(before);
  }, 30_000);

  it('the workers stay healthy and keep answering honest clients', async () => {
    const [poster] = invokers as [InvokerClient];
    for (const port of [relay.port, workerB.address.port]) {
      const response = await fetchTarget(poster, { serverName: provisioned.serverName, host: '127.0.0.1', port, path: '/increment' }, { method: 'POST', body: 'honest' });
      expect(response.status).toBe(200);
      await response.text();
    }
    expect(state.counter).toBe(3);
  }, 30_000);
});
