import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandlerServer, type HandlerServer } from '../../src/handler-server/index.js';
import { getResponseInfo, InvokerClient, InvokerError } from '../../src/invoker-client/index.js';
import { createPlatformCA, MemoryTicketStore, ZeroRttGenerator, type PlatformCA } from '../../src/zero-rtt/index.js';
import { startUdpRelay, type UdpRelay } from '../../interop/udp-relay.js';
import { fetchTarget } from '../helpers/fetch-target.js';

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

  /** A worker behind a lossy relay, and an invoker holding the worker's provisioned session. */
  const lossyWorker = async (
    instanceId: string,
    handler: (request: Request) => Response,
    relayOptions: Omit<Parameters<typeof startUdpRelay>[0], 'targetPort'>,
    clientOptions: { connectTimeoutMs: number; requestTimeoutMs?: number },
  ) => {
    const provisioned = await generator.provision({ functionName: 'fn', instanceId, hosts: ['127.0.0.1'] });
    const server = await createHandlerServer({ credentials: provisioned.worker, host: '127.0.0.1', handler });
    servers.push(server);
    const relay = await startUdpRelay({ targetPort: server.address.port, ...relayOptions });
    relays.push(relay);
    const ticketStore = new MemoryTicketStore();
    ticketStore.set(provisioned.serverName, provisioned.session);
    const client = new InvokerClient({ ca, certificate: await generator.invokerCertificate(), ticketStore, ...clientOptions });
    invokers.push(client);
    const target = (path = '/') => ({ serverName: provisioned.serverName, host: '127.0.0.1', port: relay.port, path });
    return { relay, client, target };
  };

  it('the worker ran the PUT from early data but every answer is lost: the error says it may have run, not "not connected"', async () => {
    let executed = 0;
    // The client's first flight (Initial + 0-RTT) reaches the worker; nothing comes back.
    const { relay, client, target } = await lossyWorker(
      'lossy',
      () => {
        executed++;
        return new Response('stored');
      },
      { drop: (direction) => direction === 'toClient' },
      { connectTimeoutMs: 1_000 },
    );

    const error = await fetchTarget(client, target('/put'), { method: 'PUT', body: 'v1' }).then(
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
    let executed = 0;
    const { client, target } = await lossyWorker(
      'lossy-post',
      () => {
        executed++;
        return new Response('charged');
      },
      { drop: (direction) => direction === 'toClient' },
      { connectTimeoutMs: 1_000 },
    );
    // A POST without Idempotency-Key may not go in 0-RTT: it waits for the handshake.
    const error = await fetchTarget(client, target(), { method: 'POST', body: 'x' }).then(
      (response) => getResponseInfo(response),
      (failure: unknown) => failure,
    );
    expect(error).toMatchObject({ code: 'QFAAS_CONNECT_TIMEOUT', retryable: true, mayHaveRun: false });
    expect(executed).toBe(0);
  });

  it('10% loss both ways, 60 fresh-connection 0-RTT PUTs: no failure ever says "did not run" for a PUT the worker ran', async () => {
    const executed = new Set<string>();
    const { relay, client, target } = await lossyWorker(
      'lossy-many',
      (request) => {
        executed.add(new URL(request.url).pathname);
        return new Response('stored');
      },
      { lossRate: 0.1, seed: 12 },
      { connectTimeoutMs: 1_500, requestTimeoutMs: 5_000 },
    );
    const failures: Array<{ path: string; error: unknown }> = [];
    for (let i = 0; i < 60; i++) {
      const path = `/put-${i}`;
      try {
        await (await fetchTarget(client, target(path), { method: 'PUT', body: 'v' })).text();
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
