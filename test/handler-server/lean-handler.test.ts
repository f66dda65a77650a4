import dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { ExecTimeoutError, type LeanRequestHandler, type RequestInfo } from '../../src/handler-server/index.js';
import { InvokerClient } from '../../src/invoker-client/index.js';
import { MemoryTicketStore } from '../../src/zero-rtt/index.js';
import { usePlatformTestbed } from '../helpers/platform.js';
import { startUdpRelay } from '../../interop/udp-relay.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends a captured flight again from a new source port, as an on-path attacker would. */
async function replayFlight(flight: readonly Uint8Array[], port: number): Promise<void> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  try {
    for (const datagram of flight) await new Promise<void>((resolve) => socket.send(datagram, port, '127.0.0.1', () => resolve()));
    // Long enough for the worker to process the flight and answer it (into the void).
    await sleep(400);
  } finally {
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}

describe('createHandlerServer({ onRequest }) — the lean handler form', () => {
  const testbed = usePlatformTestbed();
  const leanWorker = testbed.leanWorker;
  const invoker = testbed.invoker;

  it('a replayed 0-RTT flight never runs the request again; the guard counts the replay', async () => {
    let executions = 0;
    const { provisioned, server } = await leanWorker(
      async (request, info) => {
        executions++;
        return { statusCode: 200, body: `${request.method} ${await request.body.text()} early=${info.earlyData}` };
      },
      // 'always': an early POST runs at once, so only the strike register can stop its replay.
      { replayGuard: { policy: 'always' }, transport: { maxIdleTimeoutMs: 1000 } },
    );
    const relay = await startUdpRelay({ targetPort: server.address.port });
    try {
      const client = invoker(provisioned, { zeroRtt: 'always', transport: { maxIdleTimeoutMs: 1000 } });
      const response = await client.request({ serverName: provisioned.serverName, host: '127.0.0.1', port: relay.port, method: 'POST', path: '/increment', body: 'add one' });
      expect(await response.body.text()).toBe('POST add one early=true');
      expect(response).toMatchObject({ earlyData: true, transport: { earlyDataAttempted: true } });
      expect(executions).toBe(1);
      const [flight] = relay.firstFlights() as [Uint8Array[]];
      expect(flight.length).toBeGreaterThan(0);
      for (let i = 0; i < 3; i++) await replayFlight(flight, server.address.port);
      expect(executions).toBe(1);
      const guard = server.metrics().replayGuard;
      expect(guard?.replaysDetected).toBeGreaterThan(0);
      expect(guard?.earlyRejected).toBeGreaterThan(0);
      expect(guard?.earlyAccepted).toBe(1);
    } finally {
      await relay.close();
    }
  }, 30_000);

  it("an early request the guard rejects ('reject', or stamped before the worker started) gets 425 and is retried after the handshake, run once", async () => {
    const runs: boolean[] = [];
    const handler: LeanRequestHandler = (_request, info) => {
      runs.push(info.earlyData);
      return { statusCode: 200, body: 'ran' };
    };
    const rejecting = await leanWorker(handler, { replayGuard: { ineligible: 'reject' } });
    const post = await invoker(rejecting.provisioned, { zeroRtt: 'always' }).request({ ...rejecting.target, method: 'POST', body: 'not idempotent' });
    expect(await post.body.text()).toBe('ran');
    expect(post).toMatchObject({ transport: { attempts: 2, earlyDataAttempted: false } });
    expect(rejecting.server.metrics().replayGuard).toMatchObject({ earlyRejected: 1, earlyAccepted: 0 });

    // The worker only accepts early data stamped after this (far future) time: every flight looks captured.
    const strict = await leanWorker(handler, { replayGuard: { notBefore: Date.now() + 3_600_000 } });
    const get = await invoker(strict.provisioned).request(strict.target);
    expect(await get.body.text()).toBe('ran');
    expect(get.transport.attempts).toBe(2);
    expect(strict.server.metrics().replayGuard).toMatchObject({ replaysDetected: 1, earlyRejected: 1 });
    expect(runs).toEqual([false, false]);
  });

  it("the default guard defers an early POST until the handshake: it runs once, with info.earlyData false", async () => {
    const seen: Array<{ early: boolean; resumed: boolean }> = [];
    const { provisioned, server, target } = await leanWorker((_request, info) => {
      seen.push({ early: info.earlyData, resumed: info.resumed });
      return { statusCode: 200 };
    });
    const response = await invoker(provisioned, { zeroRtt: 'always' }).request({ ...target, method: 'POST', body: 'x' });
    expect(response.transport.earlyDataAttempted).toBe(true);
    expect(response.statusCode).toBe(200);
    expect(seen).toEqual([{ early: false, resumed: true }]);
    expect(server.metrics().replayGuard).toMatchObject({ earlyDeferred: 1, earlyAccepted: 0 });
    expect(server.metrics()).toMatchObject({ requests: 1, earlyDataRequests: 1 });
  });

  it('Idempotency-Key: a repeat gets the stored lean response (status, headers, streamed body) with idempotent-replayed, and runs nothing', async () => {
    let runs = 0;
    const { server, target } = await leanWorker(async (request) => {
      runs++;
      const received = (await request.body.bytes()).length;
      return {
        statusCode: 201,
        headers: ['location', `/orders/${runs}`, 'set-cookie', 'a=1', 'set-cookie', 'b=2'],
        body: (async function* () {
          yield 'charged ';
          await sleep(1);
          yield `${received} bytes`;
        })(),
      };
    });
    const client = invoker(undefined);
    const order = (path = '/orders', body: Uint8Array | string = new Uint8Array(300_000)) =>
      client.request({ ...target, method: 'POST', path, headers: { 'Idempotency-Key': 'order-1' }, body });
    const first = await order();
    expect(first.statusCode).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(await first.body.text()).toBe('charged 300000 bytes');
    for (let i = 0; i < 2; i++) {
      // The repeat's body is not read: the worker answers from the store at once.
      const repeat = await order();
      expect(repeat.statusCode).toBe(201);
      expect(repeat.headers['idempotent-replayed']).toBe('true');
      expect(repeat.headers.location).toBe('/orders/1');
      expect(repeat.headerList.filter(([name]) => name === 'set-cookie')).toEqual([
        ['set-cookie', 'a=1'],
        ['set-cookie', 'b=2'],
      ]);
      expect(await repeat.body.text()).toBe('charged 300000 bytes');
    }
    expect(runs).toBe(1);
    // The key names one operation on one path (the query aside); another path runs.
    const elsewhere = await order('/refunds?x=1', 'r');
    expect(await elsewhere.body.text()).toBe('charged 1 bytes');
    expect(runs).toBe(2);
    const sameOperation = await order('/orders?page=2', 'ignored');
    expect(sameOperation.headers['idempotent-replayed']).toBe('true');
    await sameOperation.body.dump();
    expect(runs).toBe(2);
    expect(server.metrics().replayGuard?.idempotentRepeats).toBe(3);
  });

  it('Idempotency-Key: 409 while the first is still running, 409 on repeat when the response was too large to store; GET is never cached', async () => {
    let runs = 0;
    let release: (() => void) | undefined;
    const { target } = await leanWorker(
      async (request) => {
        runs++;
        if (request.path === '/slow') await new Promise<void>((resolve) => (release = resolve));
        if (request.path === '/large') return { statusCode: 200, body: new Uint8Array(10_000).fill(7) };
        return { statusCode: 200, body: `run ${runs}` };
      },
      { replayGuard: { idempotency: { maxBodyBytes: 1000 } } },
    );
    const client = invoker(undefined);
    const keyed = (path: string, key: string, method = 'POST') => client.request({ ...target, method, path, headers: { 'idempotency-key': key }, ...(method === 'GET' ? {} : { body: 'x' }) });
    const first = keyed('/slow', 'k-slow');
    await expect.poll(() => release).toBeDefined();
    const concurrent = await keyed('/slow', 'k-slow');
    expect(concurrent.statusCode).toBe(409);
    await concurrent.body.dump();
    release?.();
    expect(await (await first).body.text()).toBe('run 1');

    const large = await keyed('/large', 'k-large');
    expect((await large.body.bytes()).length).toBe(10_000);
    const largeRepeat = await keyed('/large', 'k-large');
    expect(largeRepeat.statusCode).toBe(409);
    await largeRepeat.body.dump();
    expect(runs).toBe(2);

    for (let i = 0; i < 2; i++) await (await keyed('/read', 'k-get', 'GET')).body.dump();
    expect(runs).toBe(4);
  });

  it('exec timeout: 504, and the handler’s info.signal aborts with ExecTimeoutError; a timeout header can only lower it', async () => {
    const reasons: unknown[] = [];
    const { server, target } = await leanWorker(
      async (_request, info) => {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 10_000);
          info.signal.addEventListener('abort', () => {
            reasons.push(info.signal.reason);
            clearTimeout(timer);
            resolve();
          });
        });
        return { statusCode: 200, body: 'too late' };
      },
      { limits: { execTimeoutMs: 1_500, timeoutHeader: 'X-Timeout' } },
    );
    const client = invoker(undefined);
    const timedOut = await client.request({ ...target, path: '/hang' });
    expect(timedOut.statusCode).toBe(504);
    expect(await timedOut.body.text()).toBe('function timed out\n');
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toBeInstanceOf(ExecTimeoutError);
    expect((reasons[0] as ExecTimeoutError).code).toBe('QFAAS_EXEC_TIMEOUT');

    const started = performance.now();
    const lowered = await client.request({ ...target, path: '/hang', headers: { 'x-timeout': '100ms' } });
    expect(lowered.statusCode).toBe(504);
    await lowered.body.dump();
    // Well below the 1.5 s limit, with room for a loaded machine.
    expect(performance.now() - started).toBeLessThan(1_400);
    expect(server.metrics()).toMatchObject({ execTimeouts: 2, inflight: 0, handlerErrors: 0 });
  });

  it('limits: one request over maxInflight gets 429 with retry-after, without running; a too large header section is refused', async () => {
    let release: (() => void) | undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let runs = 0;
    const { server, target } = await leanWorker(
      async () => {
        runs++;
        await gate;
        return { statusCode: 200, body: 'done' };
      },
      { limits: { maxInflight: 2, maxFieldSectionSize: 2048 } },
    );
    const client = invoker(undefined);
    const running = [client.request(target), client.request(target)];
    await expect.poll(() => server.metrics().inflight).toBe(2);
    const refused = await client.request({ ...target, method: 'POST', body: new Uint8Array(100_000) });
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('1');
    await refused.body.dump();
    expect(runs).toBe(2);
    release?.();
    expect(await Promise.all(running.map(async (r) => (await r).body.text()))).toEqual(['done', 'done']);
    await expect(client.request({ ...target, headers: { 'x-big': 'v'.repeat(4000) } })).rejects.toMatchObject({ code: 'QFAAS_H3_FIELD_SECTION_TOO_LARGE' });
    expect(server.metrics()).toMatchObject({ rejectedInflight: 1, inflight: 0 });
    expect(server.metrics().responsesByStatusClass).toMatchObject({ '2xx': 2, '4xx': 1 });
  });

  it('info: who called (certificate CN and role), resumed, streamId; a chain certificate shows its own identity', async () => {
    const seen: Array<Pick<RequestInfo, 'earlyData' | 'resumed' | 'invoker' | 'invokerRole' | 'streamId'>> = [];
    const { provisioned, target } = await leanWorker((_request, info) => {
      seen.push({ earlyData: info.earlyData, resumed: info.resumed, invoker: info.invoker, invokerRole: info.invokerRole, streamId: info.streamId });
      return { statusCode: 204 };
    });
    const client = invoker(provisioned);
    await client.request(target);
    await client.request(target);
    const chainCertificate = await testbed.ca.issue({ role: 'chain', name: 'i-9.caller' });
    const chainClient = testbed.track(new InvokerClient({ ca: testbed.ca, certificate: chainCertificate, ticketStore: new MemoryTicketStore() }));
    await chainClient.request(target);
    expect(seen.slice(0, 2)).toEqual([
      { earlyData: true, resumed: true, invoker: 'invoker', invokerRole: 'invoker', streamId: 0 },
      { earlyData: false, resumed: true, invoker: 'invoker', invokerRole: 'invoker', streamId: 4 },
    ]);
    // A chain certificate's CN is <instance>.<function>.
    expect(seen[2]).toEqual({ earlyData: false, resumed: false, invoker: 'i-9.caller', invokerRole: 'chain', streamId: 0 });
  });

  it('a handler that throws, rejects or returns no response gets a 500 without its details; onError hears of it; the worker keeps serving', async () => {
    const errors: unknown[] = [];
    const { server, target } = await leanWorker(
      async (request) => {
        if (request.path === '/throw') throw new Error('secret internals at /srv/app.js:42');
        if (request.path === '/reject') return Promise.reject(new Error('secret async internals'));
        if (request.path === '/nothing') return undefined as never;
        return { statusCode: 200, body: 'fine' };
      },
      { onError: (error) => errors.push(error) },
    );
    const client = invoker(undefined);
    for (const path of ['/throw', '/reject', '/nothing']) {
      const response = await client.request({ ...target, path });
      expect(response.statusCode, path).toBe(500);
      expect(await response.body.text()).not.toContain('secret');
    }
    expect(errors).toHaveLength(3);
    expect(server.metrics()).toMatchObject({ handlerErrors: 3, execTimeouts: 0 });
    expect(server.metrics().responsesByStatusClass['5xx']).toBe(3);
    expect(await (await client.request({ ...target, path: '/ok' })).body.text()).toBe('fine');
  });

  it('an invoker that cancels aborts the handler’s info.signal; the request counts as cancelled, not as an error', async () => {
    let reason: unknown;
    let started: (() => void) | undefined;
    const handlerStarted = new Promise<void>((resolve) => (started = resolve));
    const { server, target } = await leanWorker(async (request, info) => {
      started?.();
      // Reading the upload: the invoker's reset ends it.
      const readError = await request.body.dump().catch((error: unknown) => error);
      expect(readError).toBeDefined();
      if (!info.signal.aborted) await new Promise((resolve) => info.signal.addEventListener('abort', resolve, { once: true }));
      reason = info.signal.reason;
      throw info.signal.reason;
    });
    const client = invoker(undefined);
    const controller = new AbortController();
    const pending = client.request({
      ...target,
      method: 'POST',
      signal: controller.signal,
      body: (async function* () {
        for (;;) {
          yield new Uint8Array(1000);
          await sleep(5);
        }
      })(),
    });
    await handlerStarted;
    controller.abort(new Error('the caller left'));
    await expect(pending).rejects.toThrow('the caller left');
    await expect.poll(() => server.metrics().cancelled, { timeout: 5_000 }).toBe(1);
    expect(reason).toBeInstanceOf(Error);
    expect(reason).not.toBeInstanceOf(ExecTimeoutError);
    expect(server.metrics()).toMatchObject({ handlerErrors: 0, execTimeouts: 0, inflight: 0 });
  });
});
