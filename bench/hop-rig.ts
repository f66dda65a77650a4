/**
 * The hop benchmark's rig, shared by `bench:hop` and `bench:fig7`: a server process (node:http,
 * node:https TLS 1.3 and 1.2, a qfaas handler server; bench/hop-servers.ts) on loopback or inside
 * the delay link's namespace, and one client per transport. Every exchange checks its 100 bytes.
 */
import { fork, type ForkOptions } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import { fileURLToPath } from 'node:url';
import { getTransportInfo, InvokerClient } from '../src/invoker-client/index.js';
import { createPlatformCA, encodeCredentials, MemoryTicketStore, ZeroRttGenerator } from '../src/zero-rtt/index.js';
import type { DelayLink } from './link/delay-link.js';
import { summarize, type Summary } from './stats.js';

/**
 * One request. Resolves to nothing (the caller times it) or to the exchange's own time in ms, for
 * exchanges run by another process (quic-go) that time themselves without the IPC around them.
 */
export type Exchange = () => Promise<void | number>;

export interface HopRig {
  readonly host: string;
  readonly exchanges: {
    httpGet: Exchange;
    tls13Get: Exchange;
    tls12Get: Exchange;
    qfaasZeroRttGet: Exchange;
    httpPost: Exchange;
    tls13Post: Exchange;
    qfaasOneRttPost: Exchange;
    tls13WarmGet: Exchange;
    qfaasWarmGet: Exchange;
    /** New connections, a 1 MiB response (the paper's Fig. 5d). */
    httpLargeGet: Exchange;
    tls13LargeGet: Exchange;
    qfaasLargeGet: Exchange;
  };
  /** qfaas GETs since the last reset that did not go in accepted 0-RTT. */
  takeNotEarly(): number;
  close(): Promise<void>;
}

export async function startHopRig(link?: DelayLink): Promise<HopRig> {
  const host = link?.insideAddress ?? '127.0.0.1';
  const ca = await createPlatformCA();
  const generator = new ZeroRttGenerator({ ca });
  const provisioned = await generator.provision({ functionName: 'hop', instanceId: 'i-1', hosts: [host] });
  // Behind the link, the server process starts inside the namespace; the IPC channel crosses `ip netns exec`.
  const forkOptions: ForkOptions =
    link === undefined
      ? { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }
      : { execPath: 'ip', execArgv: ['netns', 'exec', link.namespace, process.execPath, '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] };
  const child = fork(fileURLToPath(new URL('./hop-servers.ts', import.meta.url)), forkOptions);
  const ports = await new Promise<{ http: number; tls13: number; tls12: number; qfaas: number }>((resolve) => {
    child.once('message', (message: { http: number; tls13: number; tls12: number; qfaas: number }) => resolve(message));
    child.send({ credentials: encodeCredentials(provisioned.worker, 'json'), host });
  });

  const payload = Buffer.alloc(100, 0x62);
  const serverName = provisioned.serverName;
  const nodeRequest = (module: typeof http | typeof https, agent: http.Agent, port: number, method: 'GET' | 'POST', path = '/'): Promise<void> =>
    new Promise((resolve, reject) => {
      const expected = path === '/1mib' ? 1 << 20 : 100;
      const request = module.request(
        { host, port, method, path, agent, servername: serverName, ca: ca.certPem, headers: method === 'POST' ? { 'content-length': payload.length } : {} },
        (response) => {
          let bytes = 0;
          response.on('data', (chunk: Buffer) => (bytes += chunk.length));
          response.once('end', () => (bytes === expected ? resolve() : reject(new Error(`got ${bytes} bytes`))));
        },
      );
      request.once('error', reject);
      request.end(method === 'POST' ? payload : undefined);
    });

  const freshHttp = new http.Agent({ keepAlive: false });
  const freshTls13 = new https.Agent({ keepAlive: false, maxCachedSessions: 100 });
  const freshTls12 = new https.Agent({ keepAlive: false, maxCachedSessions: 100 });
  const warmTls13 = new https.Agent({ keepAlive: true, maxSockets: 1 });
  const store = new MemoryTicketStore();
  store.set(serverName, provisioned.session);
  const invoker = new InvokerClient({ ca, certificate: await generator.invokerCertificate(), ticketStore: store, idleTimeoutMs: 0 });
  const warmInvoker = new InvokerClient({ ca, certificate: await generator.invokerCertificate(), idleTimeoutMs: 0 });
  const target = { serverName, host, port: ports.qfaas };

  let notEarly = 0;
  const qfaasFresh = async (method: 'GET' | 'POST', path = '/'): Promise<void> => {
    // A new connection each time, resuming the session the worker issued last time.
    invoker.closeIdleConnections();
    const response = await invoker.fetch({ ...target, path }, method === 'POST' ? { method, body: payload } : {});
    const bytes = (await response.arrayBuffer()).byteLength;
    if (bytes !== (path === '/1mib' ? 1 << 20 : 100)) throw new Error(`got ${bytes} bytes`);
    const info = getTransportInfo(response);
    if (method === 'GET' && info?.earlyDataAccepted !== true) notEarly++;
    if (method === 'POST' && info?.earlyData !== false) throw new Error('a POST went in early data under the idempotent policy');
  };

  return {
    host,
    exchanges: {
      httpGet: () => nodeRequest(http, freshHttp, ports.http, 'GET'),
      tls13Get: () => nodeRequest(https, freshTls13, ports.tls13, 'GET'),
      tls12Get: () => nodeRequest(https, freshTls12, ports.tls12, 'GET'),
      qfaasZeroRttGet: () => qfaasFresh('GET'),
      httpPost: () => nodeRequest(http, freshHttp, ports.http, 'POST'),
      tls13Post: () => nodeRequest(https, freshTls13, ports.tls13, 'POST'),
      qfaasOneRttPost: () => qfaasFresh('POST'),
      tls13WarmGet: () => nodeRequest(https, warmTls13, ports.tls13, 'GET'),
      qfaasWarmGet: async () => {
        await (await warmInvoker.fetch(target)).arrayBuffer();
      },
      httpLargeGet: () => nodeRequest(http, freshHttp, ports.http, 'GET', '/1mib'),
      tls13LargeGet: () => nodeRequest(https, freshTls13, ports.tls13, 'GET', '/1mib'),
      qfaasLargeGet: () => qfaasFresh('GET', '/1mib'),
    },
    takeNotEarly() {
      const count = notEarly;
      notEarly = 0;
      return count;
    },
    async close() {
      await invoker.close();
      await warmInvoker.close();
      for (const agent of [freshHttp, freshTls13, freshTls12, warmTls13]) agent.destroy();
      child.disconnect();
      if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

/** Runs every case once per round, rotating the order each round; returns the times in ms. */
export async function interleaved(cases: ReadonlyArray<readonly [string, Exchange]>, rounds: number, onRound?: (round: number) => void): Promise<Map<string, number[]>> {
  const results = new Map<string, number[]>(cases.map(([name]) => [name, []]));
  for (let i = 0; i < rounds; i++) {
    for (let k = 0; k < cases.length; k++) {
      const [name, run] = cases[(i + k) % cases.length] as readonly [string, Exchange];
      const started = performance.now();
      const own = await run();
      results.get(name)?.push(typeof own === 'number' ? own : performance.now() - started);
    }
    onRound?.(i + 1);
  }
  return results;
}

/**
 * Warms up, then measures `rounds` interleaved rounds with a progress line on a terminal. Throws
 * if a qfaas GET on a new connection was not accepted in 0-RTT: its time would be mislabelled.
 */
export async function measureInterleaved(
  rig: HopRig,
  cases: ReadonlyArray<readonly [string, Exchange]>,
  options: { warmupRounds: number; rounds: number; label: string },
): Promise<Map<string, Summary>> {
  await interleaved(cases, options.warmupRounds);
  rig.takeNotEarly();
  const results = await interleaved(cases, options.rounds, (round) => {
    if (process.stdout.isTTY) process.stdout.write(`\r${options.label}: ${round}/${options.rounds}`);
  });
  if (process.stdout.isTTY) process.stdout.write('\n');
  const notEarly = rig.takeNotEarly();
  if (notEarly > 0) throw new Error(`${notEarly} qfaas GETs were not accepted in 0-RTT (${options.label})`);
  return new Map([...results].map(([name, values]) => [name, summarize(values)]));
}
