import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { IncomingRequest, LeanRequestHandler, RequestInfo } from '../../src/handler-server/index.js';
import { InvokerError } from '../../src/invoker-client/index.js';
import { Http3FieldSectionTooLargeError } from '../../src/transport/index.js';
import { usePlatformTestbed } from '../helpers/platform.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

/** What a lean handler saw of a request, answered as JSON. */
const reportEarly: LeanRequestHandler = async (request, info) => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({
    method: request.method,
    path: request.path,
    body: await request.body.text(),
    earlyData: info.earlyData,
    resumed: info.resumed,
    invoker: info.invoker,
    marked: request.headers['qfaas-early-nonce'] !== undefined && request.headers['qfaas-early-timestamp'] !== undefined,
  }),
});

describe('InvokerClient.request (lean) ⇄ onRequest worker', () => {
  const testbed = usePlatformTestbed();
  const leanWorker = testbed.leanWorker;
  const invoker = testbed.invoker;

  it("0-RTT per policy 'idempotent': a GET leaves in early data with a replay mark; a POST waits for the handshake", async () => {
    const { provisioned, target } = await leanWorker(reportEarly);
    const client = invoker(provisioned);
    const get = await client.request({ ...target, path: '/read?x=1' });
    expect(get.statusCode).toBe(200);
    expect(await get.body.json()).toEqual({ method: 'GET', path: '/read?x=1', body: '', earlyData: true, resumed: true, invoker: 'invoker', marked: true });
    expect(get).toMatchObject({ earlyData: true, transport: { earlyDataAttempted: true, resumed: true, reusedConnection: false, attempts: 1 } });
    expect(get.transport.handshakeMs).toBeGreaterThan(0);

    const fresh = await leanWorker(reportEarly);
    const post = await invoker(fresh.provisioned).request({ ...fresh.target, method: 'POST', path: '/charge', body: 'charge the card' });
    expect(await post.body.json()).toMatchObject({ method: 'POST', body: 'charge the card', earlyData: false, resumed: true, marked: false });
    expect(post).toMatchObject({ earlyData: false, transport: { earlyDataAttempted: false, resumed: true } });
  });

  it('0-RTT per policy: an Idempotency-Key POST and a PUT go early under idempotent; safe keeps PUT out; never keeps GET out; always lets POST go', async () => {
    const early = async (options: { method: string; headers?: Record<string, string> }, policy?: 'idempotent' | 'safe' | 'never' | 'always') => {
      const { provisioned, target } = await leanWorker(reportEarly, { replayGuard: { policy: 'always' } });
      const response = await invoker(provisioned, policy === undefined ? {} : { zeroRtt: policy }).request({ ...target, ...options, body: options.method === 'GET' ? undefined : 'x' });
      const seen = (await response.body.json()) as { earlyData: boolean };
      expect(seen.earlyData).toBe(response.earlyData);
      return response.earlyData;
    };
    expect(await early({ method: 'POST', headers: { 'Idempotency-Key': 'k-1' } })).toBe(true);
    expect(await early({ method: 'PUT' })).toBe(true);
    expect(await early({ method: 'PUT' }, 'safe')).toBe(false);
    expect(await early({ method: 'GET' }, 'never')).toBe(false);
    expect(await early({ method: 'POST' }, 'always')).toBe(true);
  });

  it('a 425 to an early request is retried once after the handshake, with its text body sent again', async () => {
    const calls: Array<{ earlyData: boolean; body: string }> = [];
    const { provisioned, target } = await leanWorker(async (request, info) => {
      calls.push({ earlyData: info.earlyData, body: await request.body.text() });
      return info.earlyData ? { statusCode: 425, body: 'too early' } : { statusCode: 200, body: 'now fine' };
    });
    const client = invoker(provisioned);
    const response = await client.request({ ...target, method: 'PUT', path: '/item', body: 'the payload' });
    expect(response.statusCode).toBe(200);
    expect(await response.body.text()).toBe('now fine');
    expect(response).toMatchObject({ transport: { attempts: 2, earlyDataAttempted: false } });
    expect(calls).toEqual([
      { earlyData: true, body: 'the payload' },
      { earlyData: false, body: 'the payload' },
    ]);
    expect(client.metrics()).toMatchObject({ requests: 1, responses: 1, retries: 1, errors: 0 });
  });

  it('a 425 is not retried for a streamed body, nor for a request that did not go early', async () => {
    let calls = 0;
    const { provisioned, target } = await leanWorker(async (request) => {
      calls++;
      await request.body.dump();
      return { statusCode: 425, body: 'too early' };
    });
    const client = invoker(provisioned);
    const streamed = await client.request({
      ...target,
      method: 'PUT',
      body: (async function* () {
        yield 'chunk';
      })(),
    });
    expect(streamed.statusCode).toBe(425);
    expect(streamed).toMatchObject({ transport: { attempts: 1, earlyDataAttempted: true } });
    await streamed.body.dump();
    expect(calls).toBe(1);
    // On the now established connection nothing is early: a 425 there is the answer.
    const late = await client.request({ ...target, method: 'PUT', body: 'x' });
    expect(late.statusCode).toBe(425);
    expect(late).toMatchObject({ transport: { attempts: 1, earlyDataAttempted: false, reusedConnection: true } });
    await late.body.dump();
    expect(calls).toBe(2);
    expect(client.metrics().retries).toBe(0);
  });

  it('0-RTT rejected (the worker restarted with a new ticket key): the request completes, run exactly once', async () => {
    let executions = 0;
    const stale = await testbed.generator.provision({ functionName: 'fn', instanceId: 'lean-restart', hosts: ['127.0.0.1'] });
    const fresh = await testbed.generator.provision({ functionName: 'fn', instanceId: 'lean-restart', hosts: ['127.0.0.1'] });
    const { target } = await leanWorker(
      async (request) => {
        executions++;
        return { statusCode: 200, body: `done ${await request.body.text()}` };
      },
      {},
      fresh,
    );
    const client = invoker(stale, { zeroRtt: 'always' });
    const response = await client.request({ ...target, method: 'POST', body: 'once' });
    expect(await response.body.text()).toBe('done once');
    expect(executions).toBe(1);
    expect(response).toMatchObject({ earlyData: false, transport: { earlyDataAttempted: true, resumed: false, attempts: 1 } });
    expect(client.metrics()).toMatchObject({ zeroRttAttempted: 1, zeroRttRejected: 1, zeroRttAccepted: 0 });
  });

  it('a draining worker: the request fails retryable and unrun (QFAAS_WORKER_DRAINING), and is never resent to it', async () => {
    const ran: string[] = [];
    const { provisioned, server, target } = await leanWorker(async (request) => {
      ran.push(request.path);
      if (request.path === '/slow') await sleep(600);
      return { statusCode: 200, body: `done ${request.path}` };
    });
    const client = invoker(provisioned);
    expect(await (await client.request({ ...target, path: '/warm' })).body.text()).toBe('done /warm');
    const inFlight = client.request({ ...target, path: '/slow' });
    await sleep(100);
    const closing = server.close({ timeoutMs: 3_000 });
    // Once the invoker knows, the request is refused without being sent.
    await sleep(200);
    const error = await client.request({ ...target, path: '/late', method: 'POST', body: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvokerError);
    expect(error).toMatchObject({ code: 'QFAAS_WORKER_DRAINING', retryable: true, mayHaveRun: false });
    expect(await (await inFlight).body.text()).toBe('done /slow');
    await closing;
    expect(ran).toEqual(['/warm', '/slow']);
  });

  it('request timeout: QFAAS_REQUEST_TIMEOUT (the request had left: it may have run); connect timeout: QFAAS_CONNECT_TIMEOUT', async () => {
    const { target } = await leanWorker(async (_request, info) => {
      await Promise.race([sleep(3_000), new Promise((resolve) => info.signal.addEventListener('abort', resolve, { once: true }))]);
      return { statusCode: 200, body: 'late' };
    });
    const impatient = invoker(undefined, { requestTimeoutMs: 200 });
    const timedOut = await impatient.request({ ...target, path: '/slow' }).catch((e: unknown) => e);
    expect(timedOut).toBeInstanceOf(InvokerError);
    expect(timedOut).toMatchObject({ code: 'QFAAS_REQUEST_TIMEOUT', mayHaveRun: true, retryable: true });
    expect(impatient.metrics()).toMatchObject({ requests: 1, errors: 1, responses: 0 });

    // Nobody listens there: the handshake never completes, and the request never left.
    const unreachable = invoker(undefined, { connectTimeoutMs: 300 });
    const error = await unreachable.request({ serverName: 'nobody.qfaas.internal', host: '127.0.0.1', port: 9, method: 'POST', body: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvokerError);
    expect(error).toMatchObject({ code: 'QFAAS_CONNECT_TIMEOUT', mayHaveRun: false });
    expect((error as Error).message).toBe(
      'no handshake with nobody.qfaas.internal (127.0.0.1:9) within 300 ms: nothing answered from that address (is the worker listening on that port?)',
    );
  });

  it('AbortSignal: aborted before the request (nothing sent), while it waits for the handshake, and while waiting for the response', async () => {
    let handled = 0;
    const { target } = await leanWorker(async (request, info) => {
      handled++;
      if (request.path === '/slow') await Promise.race([sleep(3_000), new Promise((resolve) => info.signal.addEventListener('abort', resolve, { once: true }))]);
      return { statusCode: 200, body: 'late' };
    });
    const client = invoker(undefined);
    const before = new Error('gave up before');
    await expect(client.request({ ...target, signal: AbortSignal.abort(before) })).rejects.toBe(before);
    expect(handled).toBe(0);

    // Waiting for a handshake that never comes: the caller's reason, not a connect timeout.
    const dialing = new AbortController();
    const pendingDial = client.request({ serverName: 'nobody.qfaas.internal', host: '127.0.0.1', port: 9, signal: dialing.signal });
    await sleep(50);
    const whileDialing = new Error('gave up while dialing');
    dialing.abort(whileDialing);
    await expect(pendingDial).rejects.toBe(whileDialing);

    const controller = new AbortController();
    const pending = client.request({ ...target, path: '/slow', signal: controller.signal });
    await expect.poll(() => handled).toBe(1);
    const reason = new Error('caller gave up');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(EventEmitter.getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    // The caller's own aborts are errors of the request, and the pooled connection is still good.
    expect(client.metrics().errors).toBe(3);
    const next = await client.request({ ...target, path: '/next', signal: new AbortController().signal });
    expect(next.transport.reusedConnection).toBe(true);
    await next.body.dump();
  });

  it('AbortSignal while the body streams: the next read rejects with the reason; the signal keeps no listener', async () => {
    const { target } = await leanWorker(() => ({
      statusCode: 200,
      body: (async function* () {
        for (let i = 0; i < 100_000; i++) {
          yield new Uint8Array(1000);
          await sleep(2);
        }
      })(),
    }));
    const client = invoker(undefined);
    const controller = new AbortController();
    const response = await client.request({ ...target, signal: controller.signal });
    expect((await response.body.read())?.length).toBeGreaterThan(0);
    // While the body streams, the request's listener is still on the signal.
    expect(EventEmitter.getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    const reason = new Error('enough');
    controller.abort(reason);
    await expect(response.body.bytes()).rejects.toBe(reason);
    expect(EventEmitter.getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('bodies both ways: 2 MiB bytes, an async-iterable upload, a streamed download; a shared signal collects no listeners', async () => {
    const { target } = await leanWorker(async (request) => {
      if (request.path === '/download') {
        return {
          statusCode: 200,
          body: (async function* () {
            for (let i = 0; i < 64; i++) yield new Uint8Array(16 * 1024).fill(i);
          })(),
        };
      }
      const bytes = await request.body.bytes();
      return { statusCode: 200, headers: { 'x-sha': sha256(bytes) }, body: bytes };
    });
    const client = invoker(undefined);
    const shared = new AbortController().signal;
    const big = new Uint8Array(2 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) % 256;
    const echoed = await client.request({ ...target, method: 'POST', body: big, signal: shared });
    expect(echoed.headers['x-sha']).toBe(sha256(big));
    expect(sha256(await echoed.body.bytes())).toBe(sha256(big));

    const parts = ['alpha,', 'beta,', 'gamma'];
    const streamed = await client.request({
      ...target,
      method: 'POST',
      signal: shared,
      body: (async function* () {
        for (const part of parts) {
          await sleep(2);
          yield part;
        }
      })(),
    });
    expect(await streamed.body.text()).toBe('alpha,beta,gamma');

    const download = await client.request({ ...target, path: '/download', signal: shared });
    let total = 0;
    for await (const chunk of download.body) total += chunk.length;
    expect(total).toBe(64 * 16 * 1024);
    expect(EventEmitter.getEventListeners(shared, 'abort')).toHaveLength(0);
  });

  it("limits: a header section above the worker's limit is refused before it is sent (Http3FieldSectionTooLargeError)", async () => {
    let handled = 0;
    const { target } = await leanWorker(
      () => {
        handled++;
        return { statusCode: 204 };
      },
      { limits: { maxFieldSectionSize: 2048 } },
    );
    const client = invoker(undefined);
    // The first exchange brings the worker's SETTINGS.
    await (await client.request(target)).body.dump();
    const error = await client.request({ ...target, headers: { 'x-big': 'v'.repeat(4000) } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Http3FieldSectionTooLargeError);
    expect(handled).toBe(1);
    expect((await client.request(target)).statusCode).toBe(204);
  });

  it('pooled: concurrent first requests share one handshake; 300 requests over 30 streams use one connection, none mixed up', async () => {
    const { target } = await leanWorker(async (request) => ({ statusCode: 200, body: `${request.headers['x-id']}:${await request.body.text()}` }));
    const client = invoker(undefined, { zeroRtt: 'always' });
    const first = await Promise.all(Array.from({ length: 10 }, (_, i) => client.request({ ...target, headers: { 'x-id': `w${i}` } })));
    expect(await Promise.all(first.map((r) => r.body.text()))).toEqual(Array.from({ length: 10 }, (_, i) => `w${i}:`));
    expect(client.metrics()).toMatchObject({ handshakes: 1, openConnections: 1 });
    expect(client.metrics().coalescedDials).toBeGreaterThan(0);

    let next = 0;
    const mismatches: string[] = [];
    await Promise.all(
      Array.from({ length: 30 }, async () => {
        while (next < 300) {
          const id = String(next++);
          const response = await client.request({ ...target, method: 'POST', headers: ['x-id', id], body: `body-${id}` });
          const text = await response.body.text();
          if (text !== `${id}:body-${id}`) mismatches.push(`${id} got ${text}`);
          if (!response.transport.reusedConnection) mismatches.push(`${id} not reused`);
        }
      }),
    );
    expect(mismatches).toEqual([]);
    const metrics = client.metrics();
    expect(metrics).toMatchObject({ handshakes: 1, openConnections: 1, requests: 310, responses: 310, errors: 0 });
    expect(metrics.reusedConnections).toBeGreaterThanOrEqual(300);
  }, 60_000);

  it('metrics: counters for 0-RTT, early requests, reuse and latency, also as Prometheus text', async () => {
    const { provisioned, target } = await leanWorker(() => ({ statusCode: 200, body: 'm' }));
    const client = invoker(provisioned);
    await (await client.request(target)).body.dump();
    const second = await client.request(target);
    expect(second).toMatchObject({ transport: { reusedConnection: true, handshakeMs: undefined, earlyDataAttempted: false } });
    await second.body.dump();
    expect(client.metrics()).toMatchObject({
      requests: 2,
      responses: 2,
      errors: 0,
      retries: 0,
      handshakes: 1,
      zeroRttAttempted: 1,
      zeroRttAccepted: 1,
      zeroRttRejected: 0,
      earlyDataRequests: 1,
      reusedConnections: 1,
      openConnections: 1,
    });
    const text = client.prometheusMetrics();
    expect(text).toContain('qfaas_invoker_requests_total 2');
    expect(text).toContain('qfaas_invoker_request_duration_seconds_count 2');
    client.closeIdleConnections();
    expect(client.metrics().openConnections).toBe(0);
  });

  it("a wrong serverName fails the handshake with a QuicTlsError that lists the names the worker's certificate carries", async () => {
    const { target } = await leanWorker(reportEarly);
    const error = await invoker(undefined).request({ ...target, serverName: 'i-9.fn.qfaas.internal' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'QuicTlsError', code: 'QFAAS_QUIC_TLS_FAILED', serverName: 'i-9.fn.qfaas.internal' });
    expect((error as { certificateNames: string[] }).certificateNames).toEqual([target.serverName, '127.0.0.1']);
    expect((error as Error).message).toContain(`127.0.0.1:${target.port} failed: the server's certificate does not carry the name i-9.fn.qfaas.internal; it names ${target.serverName}, 127.0.0.1`);
  });

  it('a target port outside 1 to 65535 is refused with QfaasConfigError naming port, before anything is dialled', async () => {
    const client = invoker(undefined);
    for (const port of [70_000, 0, 1.5]) {
      const error = await client.request({ serverName: 'w.qfaas.internal', host: '127.0.0.1', port }).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'QfaasConfigError', code: 'QFAAS_INVALID_CONFIG', field: 'port' });
      expect((error as Error).message).not.toMatch(/u16|u32|GenericFailure/);
    }
    expect(client.metrics()).toMatchObject({ requests: 0 });
  });

  it('a closed invoker refuses requests (QFAAS_INVOKER_CLOSED)', async () => {
    const { target } = await leanWorker(() => ({ statusCode: 200 }));
    const client = invoker(undefined);
    await (await client.request(target)).body.dump();
    await client.close();
    await expect(client.request(target)).rejects.toMatchObject({ code: 'QFAAS_INVOKER_CLOSED', retryable: false, mayHaveRun: false });
  });

  it('the worker sees the request as sent: method, path as given, headers (lower-cased, repeats joined), caller identity', async () => {
    let seen: { request: IncomingRequest; info: { invoker?: string; role?: string; streamId: number } } | undefined;
    const { target } = await leanWorker((request, info: RequestInfo) => {
      seen = { request, info: { ...(info.invoker === undefined ? {} : { invoker: info.invoker }), ...(info.invokerRole === undefined ? {} : { role: info.invokerRole }), streamId: info.streamId } };
      return { statusCode: 204 };
    });
    const response = await invoker(undefined).request({ ...target, method: 'DELETE', path: '/a/b?c=%20d', headers: { 'X-Trace': ['1', '2'] } });
    expect(response.statusCode).toBe(204);
    expect(seen?.request).toMatchObject({ method: 'DELETE', path: '/a/b?c=%20d', authority: target.serverName });
    expect(seen?.request.headers['x-trace']).toBe('1, 2');
    expect(seen?.info).toEqual({ invoker: 'invoker', role: 'invoker', streamId: 0 });
  });
});
