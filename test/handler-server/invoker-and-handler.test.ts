import { describe, expect, it } from 'vitest';
import { createHandlerServer, type RequestHandler } from '../../src/handler-server/index.js';
import { getResponseInfo, InvokerClient, InvokerError } from '../../src/invoker-client/index.js';
import { QuicTlsError } from '../../src/transport/index.js';
import { MemoryTicketStore } from '../../src/zero-rtt/index.js';
import { usePlatformTestbed } from '../helpers/platform.js';
import { fetchTarget } from '../helpers/fetch-target.js';

describe('InvokerClient ⇄ handler server (in-process handler)', () => {
  const testbed = usePlatformTestbed();
  const worker = testbed.worker;
  const invoker = testbed.invoker;
  const reportEarly: RequestHandler = (request, info) =>
    Response.json({ method: request.method, earlyData: info.earlyData, invoker: info.invoker, role: info.invokerRole, resumed: info.resumed });

  it('a GET to a freshly provisioned worker goes in 0-RTT; the worker sees early data and who called', async () => {
    const { provisioned, target } = await worker(reportEarly);
    const client = invoker(provisioned);
    const response = await fetchTarget(client, target);
    expect(await response.json()).toEqual({ method: 'GET', earlyData: true, invoker: 'invoker', role: 'invoker', resumed: true });
    expect(getResponseInfo(response)).toMatchObject({ earlyData: true, transport: { earlyDataAttempted: true, resumed: true, reusedConnection: false, attempts: 1 } });
    expect(client.metrics()).toMatchObject({ zeroRttAttempted: 1, earlyDataRequests: 1 });
  });

  it("fetch() takes fetch's arguments: a gateway forwards a web Request as it came, the URL naming the worker and connectTo its address", async () => {
    const { provisioned, target } = await worker(async (request) => Response.json({ method: request.method, url: request.url, body: await request.text(), tag: request.headers.get('x-tag') }));
    const incoming = new Request(`https://${target.serverName}/orders?id=7`, { method: 'PUT', headers: { 'x-tag': 'forwarded' }, body: 'order 7' });
    const response = await invoker(provisioned).fetch(incoming, { connectTo: { host: target.host, port: target.port } });
    expect(await response.json()).toEqual({ method: 'PUT', url: `https://${target.serverName}/orders?id=7`, body: 'order 7', tag: 'forwarded' });
    expect(getResponseInfo(response)?.transport).toMatchObject({ attempts: 1, reusedConnection: false });
  });

  it("policy 'idempotent': a POST on a fresh connection waits for the handshake and is not early data", async () => {
    const { provisioned, target } = await worker(reportEarly);
    const client = invoker(provisioned);
    const response = await fetchTarget(client, target, { method: 'POST', body: 'charge the card' });
    expect(await response.json()).toMatchObject({ method: 'POST', earlyData: false, resumed: true });
    expect(getResponseInfo(response)).toMatchObject({ transport: { earlyDataAttempted: false, resumed: true } });
    // With an Idempotency-Key the same POST may go early.
    const { provisioned: p2, target: t2 } = await worker(reportEarly);
    const keyed = await fetchTarget(invoker(p2), t2, { method: 'POST', body: 'x', headers: { 'idempotency-key': 'k-1' } });
    expect(await keyed.json()).toMatchObject({ earlyData: true });
  });

  it('a repeated Idempotency-Key is answered from the stored response over HTTP/3, also while the client still sends a large body', async () => {
    let runs = 0;
    const { provisioned, target } = await worker(async (request) => {
      runs++;
      return new Response(`charged ${(await request.arrayBuffer()).byteLength} bytes`, { status: 201 });
    });
    const client = invoker(provisioned);
    const body = new Uint8Array(2 * 1024 * 1024);
    const init = { method: 'POST', headers: { 'idempotency-key': 'order-1' } };
    const first = await fetchTarget(client, target, { ...init, body });
    expect(await first.text()).toBe(`charged ${body.length} bytes`);
    // The repeat's body is not read: the worker stops it (STOP_SENDING H3_NO_ERROR) and answers at once.
    for (let i = 0; i < 2; i++) {
      const repeat = await fetchTarget(client, target, { ...init, body });
      expect(repeat.status).toBe(201);
      expect(repeat.headers.get('idempotent-replayed')).toBe('true');
      expect(await repeat.text()).toBe(`charged ${body.length} bytes`);
    }
    expect(runs).toBe(1);
  });

  it("policy 'always' puts a POST in early data (the paper's default); the worker's guard decides when it runs", async () => {
    // A worker whose guard also allows it runs it in early data, after checking its nonce.
    const permissive = await worker(reportEarly, { replayGuard: { policy: 'always' } });
    const response = await fetchTarget(invoker(permissive.provisioned, { zeroRtt: 'always' }), permissive.target, { method: 'POST', body: 'x' });
    expect(getResponseInfo(response)?.transport?.earlyDataAttempted).toBe(true);
    expect(await response.json()).toMatchObject({ method: 'POST', earlyData: true });
    expect(permissive.server.metrics().replayGuard).toMatchObject({ earlyAccepted: 1 });
    // The default guard lets it wait for the handshake: it still runs, once, but not in early data.
    const strict = await worker(reportEarly);
    const deferred = await fetchTarget(invoker(strict.provisioned, { zeroRtt: 'always' }), strict.target, { method: 'POST', body: 'x' });
    expect(getResponseInfo(deferred)?.transport?.earlyDataAttempted).toBe(true);
    expect(await deferred.json()).toMatchObject({ method: 'POST', earlyData: false });
    expect(strict.server.metrics().replayGuard).toMatchObject({ earlyDeferred: 1, earlyAccepted: 0 });
  });

  it('2,000 requests over 50 concurrent streams share one pooled connection; none lost, duplicated or mixed up', async () => {
    const seen = new Set<string>();
    const { provisioned, target } = await worker(async (request) => {
      const id = request.headers.get('x-request-id') as string;
      seen.add(id);
      return new Response(`${id}:${await request.text()}`);
    });
    const client = invoker(provisioned, { zeroRtt: 'always' });
    let next = 0;
    const mismatches: string[] = [];
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next < 2000) {
          const id = String(next++);
          const response = await fetchTarget(client, target, { method: 'POST', body: `body-${id}`, headers: { 'x-request-id': id } });
          const text = await response.text();
          if (text !== `${id}:body-${id}`) mismatches.push(`${id} got ${text}`);
        }
      }),
    );
    expect(mismatches).toEqual([]);
    expect(seen.size).toBe(2000);
    const metrics = client.metrics();
    expect(metrics.handshakes).toBe(1);
    expect(metrics.openConnections).toBe(1);
    expect(metrics.responses).toBe(2000);
    expect(metrics.reusedConnections).toBeGreaterThanOrEqual(1950);
  }, 60_000);

  it('concurrent first requests to a worker share one handshake (dial coalescing)', async () => {
    const { target } = await worker(() => new Response('ok'));
    const client = invoker(undefined);
    const responses = await Promise.all(Array.from({ length: 20 }, () => fetchTarget(client, target)));
    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect(client.metrics().handshakes).toBe(1);
    expect(client.metrics().coalescedDials).toBeGreaterThan(0);
  });

  it('0-RTT rejected (worker restarted with a new ticket key) → the request succeeds, exactly once', async () => {
    let executions = 0;
    const counting: RequestHandler = () => {
      executions++;
      return new Response('done');
    };
    const stale = await testbed.generator.provision({ functionName: 'fn', instanceId: 'restart', hosts: ['127.0.0.1'] });
    // The instance restarted: same name and port, but a new ticket key.
    const fresh = await testbed.generator.provision({ functionName: 'fn', instanceId: 'restart', hosts: ['127.0.0.1'] });
    const { target } = await worker(counting, {}, fresh);
    const client = invoker(stale, { zeroRtt: 'always' });
    const response = await fetchTarget(client, target, { method: 'POST', body: 'once' });
    expect(await response.text()).toBe('done');
    expect(executions).toBe(1);
    expect(getResponseInfo(response)).toMatchObject({ earlyData: false, transport: { earlyDataAttempted: true, resumed: false } });
    expect(client.metrics()).toMatchObject({ zeroRttAttempted: 1, zeroRttRejected: 1 });
  });

  it('a 425 Too Early is retried once after the handshake (RFC 8470)', async () => {
    let calls = 0;
    const { provisioned, target } = await worker((_request, info) => {
      calls++;
      return info.earlyData ? new Response('too early', { status: 425 }) : new Response('now fine');
    });
    const client = invoker(provisioned);
    const response = await fetchTarget(client, target);
    expect(await response.text()).toBe('now fine');
    expect(getResponseInfo(response)).toMatchObject({ transport: { attempts: 2, earlyDataAttempted: false } });
    expect(calls).toBe(2);
    expect(client.metrics().retries).toBe(1);
  });

  it('limits: max in flight → 429, exec timeout → 504 with the handler aborted, a throwing handler → 500 without its stack', async () => {
    let aborted = 0;
    const { target } = await worker(
      async (request, info) => {
        const path = new URL(request.url).pathname;
        if (path === '/throw') throw new Error('secret internals at /srv/app.js:42');
        const ms = path === '/hang' ? 5_000 : 300;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, ms);
          info.signal.addEventListener('abort', () => {
            if ((info.signal.reason as { code?: string }).code === 'QFAAS_EXEC_TIMEOUT') aborted++;
            clearTimeout(timer);
            resolve();
          });
        });
        return new Response('slow done');
      },
      { limits: { maxInflight: 2, execTimeoutMs: 1_000 } },
    );
    const client = invoker(undefined);
    const slow = [fetchTarget(client, { ...target, path: '/slow' }), fetchTarget(client, { ...target, path: '/slow' })];
    await new Promise((resolve) => setTimeout(resolve, 100));
    const third = await fetchTarget(client, { ...target, path: '/slow' });
    expect(third.status).toBe(429);
    expect((await Promise.all(slow)).map((r) => r.status)).toEqual([200, 200]);
    const hang = await fetchTarget(client, { ...target, path: '/hang' });
    expect(hang.status).toBe(504);
    expect(aborted).toBe(1);
    const thrown = await fetchTarget(client, { ...target, path: '/throw' });
    expect(thrown.status).toBe(500);
    expect(await thrown.text()).not.toContain('secret internals');
    // And the server keeps serving.
    expect((await fetchTarget(client, { ...target, path: '/slow' })).status).toBe(200);
  }, 20_000);

  it("an invoker that goes away aborts the function's signal; the request counts as cancelled", async () => {
    let started: (() => void) | undefined;
    const handlerStarted = new Promise<void>((resolve) => {
      started = resolve;
    });
    let reason: unknown;
    const { server, target } = await worker(async (_request, info) => {
      started?.();
      await new Promise((resolve) => info.signal.addEventListener('abort', resolve, { once: true }));
      reason = info.signal.reason;
      throw info.signal.reason;
    });
    const client = new InvokerClient({ ca: testbed.ca, certificate: testbed.invokerCertificate, ticketStore: new MemoryTicketStore() });
    const pending = fetchTarget(client, { ...target, path: '/long' }).catch((error: unknown) => error);
    await handlerStarted;
    await client.close();
    expect(await pending).toBeInstanceOf(Error);
    await expect.poll(() => server.metrics().cancelled).toBe(1);
    expect(reason).toBeInstanceOf(Error);
    expect((reason as { code?: string }).code).not.toBe('QFAAS_EXEC_TIMEOUT');
    expect(server.metrics()).toMatchObject({ execTimeouts: 0, handlerErrors: 0, inflight: 0 });
  });

  it('an unauthenticated client never gets its request executed', async () => {
    let executions = 0;
    const { target } = await worker(() => {
      executions++;
      return new Response('secret');
    });
    const anonymous = testbed.track(new InvokerClient({ ca: testbed.ca }));
    await expect(fetchTarget(anonymous, target, { method: 'POST', body: 'x' })).rejects.toBeInstanceOf(QuicTlsError);
    expect(executions).toBe(0);
  });

  it('request and connect timeouts, and a caller AbortSignal', async () => {
    const { target } = await worker(async () => {
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      return new Response('late');
    });
    const impatient = invoker(undefined, { requestTimeoutMs: 200 });
    await expect(fetchTarget(impatient, target)).rejects.toMatchObject({ code: 'QFAAS_REQUEST_TIMEOUT' });
    const controller = new AbortController();
    const pending = fetchTarget(invoker(undefined), target, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('caller gave up')), 100);
    await expect(pending).rejects.toThrow('caller gave up');
    // Nobody listens on this port: the handshake never completes.
    const unreachable = invoker(undefined, { connectTimeoutMs: 300 });
    const started = performance.now();
    const error = await fetchTarget(unreachable, { serverName: 'nobody.qfaas.internal', host: '127.0.0.1', port: 9 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvokerError);
    expect((error as InvokerError).code).toBe('QFAAS_CONNECT_TIMEOUT');
    expect(performance.now() - started).toBeLessThan(3_000);
  });

  it('aborting while the body streams cancels it', async () => {
    const { target } = await worker(
      () =>
        new Response(
          new ReadableStream<Uint8Array>({
            async pull(controller) {
              await new Promise((resolve) => setTimeout(resolve, 20));
              controller.enqueue(new Uint8Array(1000));
            },
          }),
        ),
    );
    const controller = new AbortController();
    const response = await fetchTarget(invoker(undefined), target, { signal: controller.signal });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    controller.abort(new Error('enough'));
    await expect(
      (async () => {
        for (;;) if ((await reader.read()).done) return 'ended';
      })(),
    ).rejects.toThrow();
  });

  it('upstream down → 502', async () => {
    const p = await testbed.generator.provision({ functionName: 'fn', instanceId: 'noup', hosts: ['127.0.0.1'] });
    const server = await createHandlerServer({ credentials: p.worker, host: '127.0.0.1', upstream: 'http://127.0.0.1:9' });
    testbed.track(server);
    const response = await fetchTarget(invoker(undefined), { serverName: p.serverName, host: '127.0.0.1', port: server.address.port });
    expect(response.status).toBe(502);
    expect(server.metrics().upstreamErrors).toBe(1);
  });

  it('graceful close: a request in flight finishes, then the server is gone', async () => {
    const { server, target } = await worker(async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return new Response('finished');
    });
    const client = invoker(undefined);
    await (await fetchTarget(client, target)).text();
    const inFlight = fetchTarget(client, target);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const closing = server.close({ timeoutMs: 5_000 });
    expect(server.draining).toBe(true);
    expect(await (await inFlight).text()).toBe('finished');
    await closing;
  });

  it('exposes metrics as an object and as Prometheus text', async () => {
    const { target } = await worker(() => new Response('m'));
    const client = invoker(undefined);
    await (await fetchTarget(client, target)).text();
    const text = client.prometheusMetrics();
    expect(text).toContain('qfaas_invoker_requests_total 1');
    expect(text).toContain('qfaas_invoker_request_duration_seconds_count 1');
    expect(text).toMatch(/qfaas_invoker_request_duration_seconds_bucket\{le="\+Inf"\} 1/);
  });
});
