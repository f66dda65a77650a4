import type { ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createHandlerServer, type HandlerServer, type HandlerServerMetrics } from '../../src/handler-server/index.js';
import { getResponseInfo, InvokerClient } from '../../src/invoker-client/index.js';
import { createPlatformCA, credentialsEnvValue, MemoryTicketStore, type PlatformCA, type Provisioned, ZeroRttGenerator } from '../../src/zero-rtt/index.js';
import type { IssuedCertificate } from '../../src/zero-rtt/platform-ca.js';
import { freePort } from '../helpers/ports.js';
import { spawnTs, waitForLine } from '../helpers/processes.js';
import { startUdpRelay, type UdpRelay } from '../../interop/udp-relay.js';
import { fetchTarget } from '../helpers/fetch-target.js';

/** Sends a captured flight from a fresh source port, as an attacker would. */
async function replay(flight: Uint8Array[], port: number): Promise<void> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  for (const datagram of flight) await new Promise<void>((resolve) => socket.send(datagram, port, '127.0.0.1', () => resolve()));
  await new Promise((resolve) => setTimeout(resolve, 600));
  socket.close();
}

/** A worker child process started from an env bundle, with the default replay guard. */
class WorkerProcess {
  readonly runs: string[] = [];
  readonly child: ChildProcess;

  constructor(env: Record<string, string>) {
    this.child = spawnTs('test/fixtures/handler-worker-from-env.ts', [], env);
    this.child.stdout?.on('data', (chunk: Buffer) => {
      for (const match of chunk.toString().matchAll(/^RAN (.+)$/gm)) this.runs.push(match[1] as string);
    });
  }

  ready(): Promise<RegExpExecArray> {
    return waitForLine(this.child, /LISTENING (\d+)/);
  }

  kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.kill('SIGKILL');
    });
  }
}

/**
 * Issue: the default strike register lives in memory, so a worker restarted from the same bundle
 * (same ticket key) forgot every nonce and ran a replayed flight captured just before the crash.
 * The default guard now refuses early data stamped before the process started.
 */
describe('a 0-RTT flight captured before a worker crashed, replayed to its restart', () => {
  let ca: PlatformCA;
  let provisioned: Provisioned;
  let certificate: IssuedCertificate;
  let env: Record<string, string>;
  let port: number;
  let relay: UdpRelay;
  let getFlight: Uint8Array[];
  let postFlight: Uint8Array[];
  const workers: WorkerProcess[] = [];
  const invokers: InvokerClient[] = [];

  const invoker = () => {
    const ticketStore = new MemoryTicketStore();
    ticketStore.set(provisioned.serverName, provisioned.session);
    const client = new InvokerClient({ ca, certificate, ticketStore });
    invokers.push(client);
    return client;
  };
  const start = async (extra: Record<string, string> = {}) => {
    const worker = new WorkerProcess({ ...env, QFAAS_PORT: String(port), ...extra });
    workers.push(worker);
    await worker.ready();
    return worker;
  };
  const metricsOf = async (): Promise<HandlerServerMetrics> => {
    const response = await fetchTarget(invoker(), { serverName: provisioned.serverName, host: '127.0.0.1', port, path: '/metrics' });
    return (await response.json()) as HandlerServerMetrics;
  };

  beforeAll(async () => {
    ca = await createPlatformCA();
    const generator = new ZeroRttGenerator({ ca });
    provisioned = await generator.provision({ functionName: 'pay', instanceId: 'i-1', hosts: ['127.0.0.1'] });
    certificate = await generator.invokerCertificate();
    const line = credentialsEnvValue(provisioned.worker);
    env = { QFAAS_CREDENTIALS: line };
    port = await freePort();
    const first = await start();
    relay = await startUdpRelay({ targetPort: port });
    const target = (path: string) => ({ serverName: provisioned.serverName, host: '127.0.0.1', port: relay.port, path });
    // Two honest requests, each the first flight of its own 0-RTT connection: a GET, and a POST
    // with Idempotency-Key (allowed in 0-RTT by the default 'idempotent' policy).
    const get = await fetchTarget(invoker(), target('/read'));
    await get.text();
    const post = await fetchTarget(invoker(), target('/charge'), { method: 'POST', body: 'ten euros', headers: { 'idempotency-key': 'order-17' } });
    await post.text();
    for (const response of [get, post]) expect(getResponseInfo(response)).toMatchObject({ earlyData: true, transport: { earlyDataAttempted: true } });
    // The worker reports a run on its stdout, which can arrive after the response did.
    await vi.waitFor(() => expect(first.runs).toEqual(['GET /read', 'POST /charge']));
    [getFlight, postFlight] = relay.firstFlights() as [Uint8Array[], Uint8Array[]];
    await first.kill();
  }, 60_000);

  afterEach(async () => {
    await Promise.all(workers.map((worker) => worker.kill()));
  });

  afterAll(async () => {
    await Promise.all(invokers.map((client) => client.close()));
    await relay?.close();
  });

  it('the restarted worker (default guard, in-memory register) refuses both replays: nothing runs again', async () => {
    const restarted = await start();
    await replay(getFlight, port);
    await replay(postFlight, port);
    expect(restarted.runs).toEqual([]);
    const metrics = await metricsOf();
    expect(metrics.replayGuard?.replaysDetected).toBe(2);
    expect(metrics.replayGuard?.earlyAccepted).toBe(1); // the honest /metrics request itself
  }, 30_000);

  it('without the process-start floor (notBefore: 0) the same replays run again: what the default prevents', async () => {
    const unguarded = await start({ QFAAS_TEST_NOT_BEFORE: '0' });
    await replay(getFlight, port);
    await replay(postFlight, port);
    expect(unguarded.runs.sort()).toEqual(['GET /read', 'POST /charge']);
  }, 30_000);
});

/**
 * Issue: a second server with the same ticket key and its own in-memory register ran a flight
 * replayed from the first. Servers of one key in one process now share one register by default.
 */
describe('two servers started from one bundle in one process', () => {
  const servers: HandlerServer[] = [];
  let relay: UdpRelay | undefined;
  let client: InvokerClient | undefined;
  afterAll(async () => {
    await client?.close();
    await relay?.close();
    await Promise.all(servers.map((server) => server.close({ timeoutMs: 100 })));
  });

  it('a flight captured on the way to one is refused by the other (shared in-memory strike register)', async () => {
    const ca = await createPlatformCA();
    const generator = new ZeroRttGenerator({ ca });
    const provisioned = await generator.provision({ functionName: 'pay', instanceId: 'i-2', hosts: ['127.0.0.1'] });
    const runs: string[] = [];
    const handler = (request: Request) => {
      runs.push(`${request.method} ${new URL(request.url).pathname}`);
      return new Response('ok\n');
    };
    for (let i = 0; i < 2; i++) servers.push(await createHandlerServer({ credentials: provisioned.worker, host: '127.0.0.1', handler }));
    const [a, b] = servers as [HandlerServer, HandlerServer];
    relay = await startUdpRelay({ targetPort: a.address.port });
    const ticketStore = new MemoryTicketStore();
    ticketStore.set(provisioned.serverName, provisioned.session);
    client = new InvokerClient({ ca, certificate: await generator.invokerCertificate(), ticketStore });
    const response = await fetchTarget(client, { serverName: provisioned.serverName, host: '127.0.0.1', port: relay.port, path: '/read' });
    await response.text();
    expect(getResponseInfo(response)).toMatchObject({ earlyData: true, transport: { earlyDataAttempted: true } });
    const [flight] = relay.firstFlights() as [Uint8Array[]];
    await replay(flight, b.address.port);
    expect(runs).toEqual(['GET /read']);
    expect(b.metrics().replayGuard?.replaysDetected).toBe(1);
    expect(b.metrics().replayGuard?.earlyAccepted).toBe(0);
  }, 30_000);
});
