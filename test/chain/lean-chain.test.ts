import dgram from 'node:dgram';
import { beforeAll, describe, expect, it } from 'vitest';
import { chain, chainHeaders } from '../../src/chain/index.js';
import { chainCredentialsEnvVar, encodeChainCredentials } from '../../src/zero-rtt/index.js';
import { ReplayGuard } from '../../src/replay-guard/index.js';
import { useChainTestbed } from '../helpers/chain.js';
import { startUdpRelay } from '../../interop/udp-relay.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('chain.request (lean) through the chain gateway', () => {
  // One guard instance, so that the test can read what it decided.
  const guard = new ReplayGuard();
  // A replayed flight never completes its handshake: a short handshake timeout ends it soon.
  const testbed = useChainTestbed({ replayGuard: guard, handshakeTimeoutMs: 500 });
  const runs = new Map<string, number>();
  const probes: Array<{ nonces: number; earlyData: boolean }> = [];
  const count = (name: string) => runs.set(name, (runs.get(name) ?? 0) + 1);

  beforeAll(async () => {
    // a → b → c, each calling the next with the lean form and its own request as parent.
    await testbed.deploy('c', () => async (request, info) => {
      count('c');
      return {
        statusCode: 200,
        headers: { 'content-type': 'text/plain' },
        body: `c(call ${request.headers[chainHeaders.callId]}, hops ${request.headers[chainHeaders.hops]}, caller ${request.headers[chainHeaders.caller]}, early ${info.earlyData}, body ${await request.body.text()})`,
      };
    });
    for (const [name, next] of [
      ['b', 'c'],
      ['a', 'b'],
    ] as const) {
      await testbed.deploy(name, (client) => async (request) => {
        count(name);
        const response = await client.request(next, { parent: request });
        return { statusCode: response.statusCode, body: `${name}>${await response.body.text()}` };
      });
    }
    await testbed.deploy('orders', () => async (request) => {
      count('orders');
      return { statusCode: 201, headers: { location: `/orders/${runs.get('orders')}` }, body: `ordered ${await request.body.text()}` };
    });
    await testbed.deploy('probe', () => (request, info) => {
      probes.push({ nonces: request.headerList.filter(([name]) => name === 'qfaas-early-nonce').length, earlyData: info.earlyData });
      return { statusCode: 204 };
    });
    await testbed.deploy('boom', () => () => ({ statusCode: 503, body: 'function failed' }));
    await testbed.deploy('loop', (client) => async (request) => {
      const response = await client.request('loop', { parent: request });
      return { statusCode: response.statusCode, headers: response.headerList.flat(), body: response.body };
    });
  });

  it("a lean chain a → b → c: one call id along it, hop counts, the caller named by the gateway", async () => {
    const entry = testbed.client('a');
    const response = await entry.request('a', { headers: { 'x-call-id': 'call-7' } });
    expect(response.statusCode).toBe(200);
    expect(response.headers[chainHeaders.callId]).toBe('call-7');
    const text = await response.body.text();
    expect(text).toMatch(/^a>b>c\(call call-7, hops 3, caller i-1\.b, early (true|false), body \)$/);
  });

  it('chain.request from the environment (QFAAS_CHAIN_CREDENTIALS), with web Headers as parent', async () => {
    const saved = process.env[chainCredentialsEnvVar];
    process.env[chainCredentialsEnvVar] = encodeChainCredentials(testbed.worker('b').credentials);
    try {
      const response = await chain.request('c', { method: 'POST', body: 'from env', parent: new Headers({ 'x-call-id': 'env-call', 'x-qfaas-hops': '2' }) });
      expect(response.statusCode).toBe(200);
      expect(response.headers[chainHeaders.callId]).toBe('env-call');
      expect(await response.body.text()).toMatch(/^c\(call env-call, hops 3, caller i-1\.b, early false, body from env\)$/);
    } finally {
      await chain.close();
      if (saved === undefined) delete process.env[chainCredentialsEnvVar];
      else process.env[chainCredentialsEnvVar] = saved;
    }
  });

  it("a cold worker's first lean call leaves in 0-RTT: the transport says so and the gateway marks it", async () => {
    const cold = testbed.client('c');
    const response = await cold.request('c', { method: 'PUT', body: 'idempotent' });
    expect(response).toMatchObject({ earlyData: true, transport: { earlyDataAttempted: true, reusedConnection: false } });
    expect(response.headers[chainHeaders.earlyData]).toBe('1');
    expect(await response.body.text()).toContain('body idempotent');
    const again = await cold.request('c');
    expect(again.transport.reusedConnection).toBe(true);
    expect(again.headers[chainHeaders.earlyData]).toBeUndefined();
    await again.body.dump();
  });

  it("a call that reached the gateway in 0-RTT and goes on in 0-RTT runs early at the worker: the caller's replay mark is not forwarded", async () => {
    // A cold caller (first call: 0-RTT to the gateway) and a worker the gateway has not called yet (0-RTT to it).
    const response = await testbed.client('orders').request('probe');
    expect(response.statusCode).toBe(204);
    expect(response.headers[chainHeaders.earlyData]).toBe('1');
    // Exactly one mark (the gateway's own, for its hop), which the worker's guard accepts.
    expect(probes).toEqual([{ nonces: 1, earlyData: true }]);
    expect(testbed.worker('probe').server.metrics().replayGuard).toMatchObject({ earlyAccepted: 1, earlyDeferred: 0 });
  });

  it('function errors and platform errors read as plain header values in the lean form', async () => {
    const caller = testbed.client('a');
    const failed = await caller.request('boom');
    expect(failed.statusCode).toBe(503);
    expect(failed.headers[chainHeaders.error]).toBe('function');
    expect(await failed.body.text()).toBe('function failed');
    const missing = await caller.request('nope');
    expect(missing.statusCode).toBe(503);
    expect(missing.headers[chainHeaders.error]).toBe('platform');
    await missing.body.dump();
    const looping = await caller.request('loop');
    expect(looping.statusCode).toBe(508);
    expect(looping.headers[chainHeaders.error]).toBe('platform');
    expect(await looping.body.text()).toContain('hop limit of 16');
    await expect(caller.request('Not_A_Name')).rejects.toMatchObject({ code: 'QFAAS_INVALID_CONFIG' });
  });

  it('a platform error answered to a call that arrived in 0-RTT keeps its status and label', async () => {
    // A fresh client: its first call reaches the gateway in early data.
    const cold = testbed.client('c');
    const missing = await cold.request('nope');
    expect(missing.transport.earlyDataAttempted).toBe(true);
    expect(missing.statusCode).toBe(503);
    expect(missing.headers[chainHeaders.error]).toBe('platform');
    expect(missing.headers[chainHeaders.earlyData]).toBe('1');
    expect(await missing.body.text()).toBe('function "nope" is not available\n');
  });

  it('Idempotency-Key is honoured at the gateway: a repeated keyed POST gets the stored answer; the function runs once', async () => {
    const caller = testbed.client('a');
    const before = runs.get('orders') ?? 0;
    const callsBefore = testbed.gateway.metrics().calls;
    const order = () => caller.request('orders', { method: 'POST', headers: { 'idempotency-key': 'order-42' }, body: 'two books' });
    const first = await order();
    expect(first.statusCode).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    const firstBody = await first.body.text();
    expect(firstBody).toBe('ordered two books');
    const repeat = await order();
    expect(repeat.statusCode).toBe(201);
    expect(repeat.headers['idempotent-replayed']).toBe('true');
    expect(repeat.headers.location).toBe(first.headers.location);
    expect(repeat.headers[chainHeaders.callId]).toBe(first.headers[chainHeaders.callId]);
    expect(await repeat.body.text()).toBe(firstBody);
    expect(runs.get('orders')).toBe(before + 1);
    // The gateway did not even route the repeat.
    expect(testbed.gateway.metrics().calls).toBe(callsBefore + 1);
    expect(guard.metrics().idempotentRepeats).toBeGreaterThanOrEqual(1);
    // Another key is another operation.
    const other = await caller.request('orders', { method: 'POST', headers: { 'idempotency-key': 'order-43' }, body: 'one pen' });
    expect(await other.body.text()).toBe('ordered one pen');
    expect(runs.get('orders')).toBe(before + 2);
  });

  it('a replayed early call that the gateway defers never completes its handshake: it is refused (425) and nothing runs again', async () => {
    const relay = await startUdpRelay({ targetPort: testbed.gateway.address.port });
    try {
      // 'always' sends the POST in 0-RTT; the gateway's default guard defers it to the handshake.
      const client = testbed.client('b', { gateway: { host: '127.0.0.1', port: relay.port }, zeroRtt: 'always' });
      const before = runs.get('orders') ?? 0;
      const deferredBefore = guard.metrics().earlyDeferred;
      const response = await client.request('orders', { method: 'POST', body: 'captured' });
      expect(response.transport.earlyDataAttempted).toBe(true);
      expect(response.headers[chainHeaders.earlyData]).toBeUndefined();
      expect(await response.body.text()).toBe('ordered captured');
      expect(runs.get('orders')).toBe(before + 1);
      expect(guard.metrics().earlyDeferred).toBe(deferredBefore + 1);
      const [flight] = relay.firstFlights() as [Uint8Array[]];
      const callsBefore = testbed.gateway.metrics().calls;

      const socket = dgram.createSocket('udp4');
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
      try {
        for (const datagram of flight) await new Promise<void>((resolve) => socket.send(datagram, testbed.gateway.address.port, '127.0.0.1', () => resolve()));
        // The replay is deferred like the original ...
        await expect.poll(() => guard.metrics().earlyDeferred, { timeout: 5_000 }).toBe(deferredBefore + 2);
        // ... and once its handshake timed out, it was answered 425 without running.
        await sleep(1_500);
      } finally {
        socket.close();
      }
      expect(runs.get('orders')).toBe(before + 1);
      expect(testbed.gateway.metrics().calls).toBe(callsBefore);
    } finally {
      await relay.close();
    }
  }, 30_000);
});
