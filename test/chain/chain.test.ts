import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callIdOf, createChainClient, createChainGateway, isFunctionError, isPlatformError, type ChainClient, type ChainGateway } from '../../src/chain/index.js';
import { createHandlerServer, type HandlerServer, type RequestHandler } from '../../src/handler-server/index.js';
import { getResponseInfo, InvokerClient } from '../../src/invoker-client/index.js';
import { createPlatformCA, MemoryTicketStore, ZeroRttGenerator, type PlatformCA, type WorkerCredentials } from '../../src/zero-rtt/index.js';
import { fetchTarget } from '../helpers/fetch-target.js';

describe('function chains through the chain gateway', () => {
  let ca: PlatformCA;
  let gateway: ChainGateway;
  let invoker: InvokerClient;
  const workers = new Map<string, { server: HandlerServer; serverName: string; client: ChainClient; credentials: WorkerCredentials }>();
  let gatewayCredentials: Parameters<typeof createChainGateway>[0]['credentials'];
  let resolveWorker: (name: string) => { serverName: string; host: string; port: number };
  const clients: ChainClient[] = [];

  beforeAll(async () => {
    ca = await createPlatformCA();
    const gatewayName = 'chain.gateway.qfaas.internal';
    const gatewayCertificate = await ca.issue({ role: 'gateway', name: gatewayName, hosts: ['127.0.0.1'] });
    const gatewayTicketKey = randomBytes(48);
    const ticketStore = new MemoryTicketStore();
    // The gateway must be listening before workers learn its address.
    const bootstrap = new ZeroRttGenerator({ ca });
    invoker = new InvokerClient({ ca, certificate: await bootstrap.invokerCertificate(), ticketStore });
    gatewayCredentials = { caPem: ca.certPem, certificate: gatewayCertificate, ticketKey: gatewayTicketKey };
    resolveWorker = (name) => {
      const worker = workers.get(name);
      if (worker === undefined) throw new Error(`no function ${name}`);
      return { serverName: worker.serverName, host: '127.0.0.1', port: worker.server.address.port };
    };
    gateway = await createChainGateway({
      credentials: gatewayCredentials,
      invoker,
      host: '127.0.0.1',
      resolve: (name) => resolveWorker(name),
      allow: (caller, target) => !(target === 'secret' && caller.functionName !== 'f1'),
    });
    const generator = new ZeroRttGenerator({
      ca,
      invokerCertificate: await bootstrap.invokerCertificate(),
      chainGateway: { serverName: gatewayName, host: '127.0.0.1', port: gateway.address.port, certificate: gatewayCertificate, ticketKey: gatewayTicketKey },
    });

    const deploy = async (name: string, handler: (client: ChainClient) => RequestHandler) => {
      const provisioned = await generator.provision({ functionName: name, instanceId: 'i-1', hosts: ['127.0.0.1'] });
      await ticketStore.set(provisioned.serverName, provisioned.session);
      const client = createChainClient({ credentials: provisioned.worker });
      clients.push(client);
      const server = await createHandlerServer({ credentials: provisioned.worker, host: '127.0.0.1', handler: handler(client) });
      workers.set(name, { server, serverName: provisioned.serverName, client, credentials: provisioned.worker });
    };

    // f1 → f2 → … → f6: each calls the next and prepends its name.
    for (let i = 1; i <= 6; i++) {
      await deploy(`f${i}`, (client) => async (request) => {
        if (i === 6) return new Response(`f6(call ${request.headers.get('x-call-id')})`);
        const next = await client.invoke(`f${i + 1}`, { parent: request });
        return new Response(`f${i}>${await next.text()}`, { status: next.status });
      });
    }
    await deploy('secret', () => () => new Response('the secret'));
    await deploy('caller', (client) => async () => {
      const response = await client.invoke('secret');
      return new Response(await response.text(), { status: response.status });
    });
    await deploy('loop', (client) => async (request) => {
      const response = await client.invoke('loop', { parent: request });
      return new Response(await response.text(), { status: response.status, headers: response.headers });
    });
    await deploy('boom', () => () => new Response('handled failure', { status: 500 }));
    await deploy('slow', () => async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return new Response('slow done');
    });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await Promise.all([...workers.values()].map((worker) => worker.server.close({ timeoutMs: 100 })));
    await gateway?.close({ timeoutMs: 100 });
    await invoker?.close();
  });

  it('a chain of 6 returns the composed result, with one call id along the chain', async () => {
    const entry = workers.get('f1') as { client: ChainClient };
    // The end user's request enters at f1 through the gateway, like any chained call.
    const response = await entry.client.invoke('f1', { headers: { 'x-call-id': 'call-42' } });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('f1>f2>f3>f4>f5>f6(call call-42)');
    expect(callIdOf(response)).toBe('call-42');
  });

  it("a cold worker's first chain call is 0-RTT: the gateway reports early data", async () => {
    // 'secret' has never called anything: its chain client holds only the generator's session.
    const cold = workers.get('secret') as { client: ChainClient };
    const response = await cold.client.invoke('f6');
    expect(response.headers.get('x-qfaas-early-data')).toBe('1');
    expect(getResponseInfo(response)).toMatchObject({ earlyData: true, transport: { earlyDataAttempted: true } });
    expect(await response.text()).toMatch(/^f6/);
    // The connection to the gateway is reused for the next call.
    const again = await cold.client.invoke('f6');
    await again.text();
    expect(getResponseInfo(again)?.transport?.reusedConnection).toBe(true);
  });


  it('closeIdleConnections(): the next call opens a new connection and resumes in 0-RTT', async () => {
    const client = (workers.get('caller') as { client: ChainClient }).client;
    await (await client.invoke('f6')).text();
    const before = client.metrics();
    client.closeIdleConnections();
    const response = await client.invoke('f6');
    expect(await response.text()).toMatch(/^f6/);
    const info = getResponseInfo(response);
    expect(info?.transport?.reusedConnection).toBe(false);
    // The ticket the gateway issued on the first connection, not only the generator's session.
    expect(info).toMatchObject({ earlyData: true, transport: { earlyDataAttempted: true } });
    expect(client.metrics().zeroRttAccepted).toBe(before.zeroRttAccepted + 1);
  });
  it('a caller outside the allow-list is refused', async () => {
    const f1 = workers.get('f1') as { client: ChainClient };
    expect(await (await f1.client.invoke('secret')).text()).toBe('the secret');
    const caller = workers.get('caller') as { client: ChainClient };
    const refused = await caller.client.invoke('secret');
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('may not call');
    expect(gateway.metrics().refused).toBeGreaterThan(0);
  });

  it('a path after /function/<name> that could leave the worker origin gets 400 and is not forwarded', async () => {
    const f6 = workers.get('f6') as { credentials: WorkerCredentials };
    const chain = f6.credentials.chain as NonNullable<WorkerCredentials['chain']>;
    // A caller holding a chain certificate, writing the path by hand (ChainClient would refuse it).
    const raw = new InvokerClient({ ca, certificate: { certPem: chain.certificate.certPem, keyPem: chain.certificate.keyPem.reveal() } });
    try {
      const target = { serverName: chain.gatewayServerName, host: '127.0.0.1', port: gateway.address.port };
      const callsBefore = gateway.metrics().calls;
      for (const path of ['/function/f6//127.0.0.1:9/latest/meta-data', '/function/f6/\\127.0.0.1:9/x', '/function/f6/a//b', '/function/f6/%5c127.0.0.1/x']) {
        const response = await fetchTarget(raw, { ...target, path });
        expect(response.status, path).toBe(400);
        await response.arrayBuffer();
      }
      expect(gateway.metrics().calls).toBe(callsBefore);
      const fine = await fetchTarget(raw, { ...target, path: '/function/f6/sub/path?q=1' });
      expect(fine.status).toBe(200);
      await fine.arrayBuffer();
    } finally {
      await raw.close();
    }
  });

  it('a recursive chain stops at the hop limit with a clear platform error', async () => {
    const loop = workers.get('loop') as { client: ChainClient };
    const response = await loop.client.invoke('loop');
    expect(response.status).toBe(508);
    expect(isPlatformError(response)).toBe(true);
    expect(await response.text()).toContain('hop limit of 16');
    expect(gateway.metrics().hopLimitExceeded).toBe(1);
  });

  it("a function's own error status is a function error, not a platform error", async () => {
    const f1 = workers.get('f1') as { client: ChainClient };
    const response = await f1.client.invoke('boom');
    expect(response.status).toBe(500);
    expect(isFunctionError(response)).toBe(true);
    expect(isPlatformError(response)).toBe(false);
    const missing = await f1.client.invoke('nope');
    expect(missing.status).toBe(503);
    expect(isPlatformError(missing)).toBe(true);
  });

  it('async invocation answers 202 with a call id and delivers the result to the callback URL', async () => {
    const received: Array<{ callId: string | undefined; status: string | undefined; body: string }> = [];
    const callbackServer = http.createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        received.push({ callId: request.headers['x-call-id'] as string, status: request.headers['x-function-status'] as string, body });
        response.end('ok');
      });
    });
    await new Promise<void>((resolve) => callbackServer.listen(0, '127.0.0.1', () => resolve()));
    try {
      const port = (callbackServer.address() as { port: number }).port;
      const f1 = workers.get('f1') as { client: ChainClient };
      const accepted = await f1.client.invokeAsync('f5', { callbackUrl: `http://127.0.0.1:${port}/done` });
      expect(accepted.status).toBe(202);
      const callId = callIdOf(accepted);
      expect(callId).toBeDefined();
      await gateway.whenAsyncIdle();
      expect(received).toEqual([{ callId, status: '200', body: `f5>f6(call ${callId})` }]);
      expect(gateway.metrics().callbacksDelivered).toBe(1);
    } finally {
      await new Promise<void>((resolve) => callbackServer.close(() => resolve()));
    }
  });

  it('the async queue is bounded: when full, the gateway answers 429', async () => {
    const small = await createChainGateway({
      credentials: gatewayCredentials,
      invoker,
      host: '127.0.0.1',
      resolve: (name) => resolveWorker(name),
      asyncQueueSize: 1,
      asyncConcurrency: 1,
    });
    const credentials = (workers.get('f1') as { credentials: WorkerCredentials }).credentials;
    const client = createChainClient({ credentials, gateway: { host: '127.0.0.1', port: small.address.port } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await client.invokeAsync('slow')).status);
      // One running, one queued, the rest refused.
      expect(statuses).toEqual([202, 202, 429, 429]);
      await small.whenAsyncIdle();
    } finally {
      await client.close();
      await small.close({ timeoutMs: 100 });
    }
  });
});
