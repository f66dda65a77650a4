import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandlerServer, type HandlerServer } from '../../src/handler-server/index.js';
import { getTransportInfo, InvokerClient, InvokerError } from '../../src/invoker-client/index.js';
import { createPlatformCA, MemoryTicketStore, ZeroRttGenerator, type PlatformCA } from '../../src/zero-rtt/index.js';
import { startUdpRelay, type UdpRelay } from '../helpers/udp-relay.js';

describe('0-RTT request whose handshake never completes (issue 12 item 6)', () => {
  let ca: PlatformCA;
  let generator: ZeroRttGenerator;
  const servers: HandlerServer[] = [];
  const relays: UdpRelay[] = [];
  const invokers: InvokerClient[] = [];
  beforeAll(async () => {
    ca = await createPlatformCA();
    generator = new ZeroRttGenerator({ ca });
  });
  afterAll(async () => {
    await Promise.all(invokers.map((i) => i.close()));
    await Promise.all(servers.map((s) => s.close({ timeoutMs: 100 })));
    await Promise.all(relays.map((r) => r.close()));
  });

  it('the worker ran the PUT from early data but every answer is lost: the error says it may have run, not "not connected"', async () => {
    const provisioned = await generator.provision({ functionName: 'fn', instanceId: 'lossy', hosts: ['127.0.0.1'] });
    let executed = 0;
    const server = await createHandlerServer({
      credentials: provisioned.worker,
      host: '127.0.0.1',
      handler: () => {
        executed++;
        return new Response('stored');
      },
    });
    servers.push(server);
    // The client's first flight (Initial + 0-RTT) reaches the worker; nothing comes back.
    const relay = await startUdpRelay({ targetPort: server.address.port, drop: (direction) => direction === 'toClient' });
    relays.push(relay);
    const ticketStore = new MemoryTicketStore();
    ticketStore.set(provisioned.serverName, provisioned.session);
    const client = new InvokerClient({ ca, certificate: await generator.invokerCertificate(), ticketStore, connectTimeoutMs: 1_000 });
    invokers.push(client);
    const target = { serverName: provisioned.serverName, host: '127.0.0.1', port: relay.port, path: '/put' };

    const error = await client.fetch(target, { method: 'PUT', body: 'v1' }).then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(executed).toBe(1);
    expect(error).toBeInstanceOf(InvokerError);
    expect(error).toMatchObject({ code: 'QFAAS_REQUEST_INTERRUPTED', retryable: true, mayHaveRun: true });
    expect((error as Error).message).toContain(`127.0.0.1:${relay.port}`);
    expect(relay.stats.toClient.forwarded).toBe(0);
  });

  it('a request that waited for the handshake and never left still reports QFAAS_CONNECT_TIMEOUT with mayHaveRun false', async () => {
    const provisioned = await generator.provision({ functionName: 'fn', instanceId: 'lossy-post', hosts: ['127.0.0.1'] });
    let executed = 0;
    const server = await createHandlerServer({
      credentials: provisioned.worker,
      host: '127.0.0.1',
      handler: () => {
        executed++;
        return new Response('charged');
      },
    });
    servers.push(server);
    const relay = await startUdpRelay({ targetPort: server.address.port, drop: (direction) => direction === 'toClient' });
    relays.push(relay);
    const ticketStore = new MemoryTicketStore();
    ticketStore.set(provisioned.serverName, provisioned.session);
    const client = new InvokerClient({ ca, certificate: await generator.invokerCertificate(), ticketStore, connectTimeoutMs: 1_000 });
    invokers.push(client);
    // A POST without Idempotency-Key may not go in 0-RTT: it waits for the handshake.
    const error = await client.fetch({ serverName: provisioned.serverName, host: '127.0.0.1', port: relay.port }, { method: 'POST', body: 'x' }).then(
      (response) => getTransportInfo(response),
      (failure: unknown) => failure,
    );
    expect(error).toMatchObject({ code: 'QFAAS_CONNECT_TIMEOUT', retryable: true, mayHaveRun: false });
    expect(executed).toBe(0);
  });

  it('10% loss both ways, 60 fresh-connection 0-RTT PUTs: no failure ever says "did not run" for a PUT the worker ran', async () => {
    const provisioned = await generator.provision({ functionName: 'fn', instanceId: 'lossy-many', hosts: ['127.0.0.1'] });
    const executed = new Set<string>();
    const server = await createHandlerServer({
      credentials: provisioned.worker,
      host: '127.0.0.1',
      handler: (request) => {
        executed.add(new URL(request.url).pathname);
        return new Response('stored');
      },
    });
    servers.push(server);
    const relay = await startUdpRelay({ targetPort: server.address.port, lossRate: 0.1, seed: 12 });
    relays.push(relay);
    const ticketStore = new MemoryTicketStore();
    ticketStore.set(provisioned.serverName, provisioned.session);
    const client = new InvokerClient({ ca, certificate: await generator.invokerCertificate(), ticketStore, connectTimeoutMs: 1_500, requestTimeoutMs: 5_000 });
    invokers.push(client);
    const failures: Array<{ path: string; error: unknown }> = [];
    for (let i = 0; i < 60; i++) {
      const path = `/put-${i}`;
      try {
        await (await client.fetch({ serverName: provisioned.serverName, host: '127.0.0.1', port: relay.port, path }, { method: 'PUT', body: 'v' })).text();
      } catch (error) {
        failures.push({ path, error });
      }
      client.closeIdleConnections(); // the next PUT opens a fresh connection, in 0-RTT
    }
    await new Promise((resolve) => setTimeout(resolve, 500)); // datagrams still in flight land
    for (const { path, error } of failures) {
      expect(error).toBeInstanceOf(InvokerError);
      if (executed.has(path)) expect(error).toMatchObject({ mayHaveRun: true });
    }
    expect(relay.stats.toServer.dropped + relay.stats.toClient.dropped).toBeGreaterThan(0);
    expect(client.metrics().earlyDataRequests).toBeGreaterThan(50);
  }, 120_000);
});
