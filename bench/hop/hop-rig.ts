/**
 * The hop benchmark's rig, shared by `bench:hop` and `bench:fig7`: a server process (node:http,
 * node:https TLS 1.3 and 1.2, a qfaas handler server; bench/hop/hop-servers.ts) on loopback or inside
 * the delay link's namespace, and one client per transport. Every exchange checks its 100 bytes.
 */
import { fork, type ForkOptions } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import { fileURLToPath } from 'node:url';
import { InvokerClient, type InvokerResponse } from '../../src/invoker-client/index.js';
import { createPlatformCA, encodeCredentials, MemoryTicketStore, ZeroRttGenerator } from '../../src/zero-rtt/index.js';
import type { DelayLink } from '../link/delay-link.js';
import { quicGoAvailable, startQuicGoRig, type QuicGoRig } from '../quic-go/quic-go-rig.js';
import type { ProfileSummary } from '../lib/cpu-profile.js';
import type { HopServerMessage, ServerDatagrams, ServerPorts } from './hop-servers.js';
import { progress } from '../lib/report.js';
import { summarize, type Summary } from '../lib/stats.js';

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
    tls12Post: Exchange;
    qfaasOneRttPost: Exchange;
    /** Warm connections (the paper's Fig. 5b, "continuous"). */
    httpWarmGet: Exchange;
    tls13WarmGet: Exchange;
    tls12WarmGet: Exchange;
    qfaasWarmGet: Exchange;
    /** New connections, a 1 MiB response (the paper's Fig. 5d). */
    httpLargeGet: Exchange;
    tls13LargeGet: Exchange;
    tls12LargeGet: Exchange;
    qfaasLargeGet: Exchange;
    /** Warm connections, a 1 MiB response: the server-time part of Fig. 5d's floor. */
    httpWarmLargeGet: Exchange;
    tls13WarmLargeGet: Exchange;
    tls12WarmLargeGet: Exchange;
    qfaasWarmLargeGet: Exchange;
  };
  /**
   * Starts a new worker (the four servers with new credentials: new certificate, new ticket key)
   * and returns one first-request exchange per transport; each may run once. The paper's Fig. 5c.
   */
  launchWorker(): Promise<LaunchedWorker>;
  /**
   * quic-go HTTP/3 (the paper's stack) against its own server in the same place, when Debian's
   * golang-go and quic-go sources are installed (bench/quic-go); undefined otherwise.
   */
  readonly quicGo: QuicGoRig | undefined;
  /** qfaas and quic-go GETs since the last reset that did not go in accepted 0-RTT. */
  takeNotEarly(): number;
  /** Starts V8's CPU profiler in the server process; the returned function stops it and summarizes. */
  profileServer(): Promise<() => Promise<ProfileSummary>>;
  /** Datagrams the qfaas server sent and received so far (on loopback: what the client received and sent). */
  serverDatagrams(): Promise<ServerDatagrams>;
  close(): Promise<void>;
}

export interface LaunchedWorker {
  readonly firstRequest: {
    http: Exchange;
    tls13: Exchange;
    tls12: Exchange;
    /** No session for the new worker anywhere: a full 1-RTT handshake. */
    qfaasNoSession: Exchange;
    /** The session the 0-RTT generator minted when it provisioned the worker: 0-RTT. */
    qfaasGeneratorSession: Exchange;
  };
  retire(): Promise<void>;
}

/** The servers' answer size (bench/hop/hop-servers.ts): 1 MiB at `/1mib`, else 100 bytes. */
const expectedBytes = (path: string) => (path === '/1mib' ? 1 << 20 : 100);

/** A benchmark's server process: messages answered one each, in order. */
export interface ServerProcess<Message> {
  ask<T>(message: Message): Promise<T>;
  /** Disconnects (the process closes its servers and exits) and waits for the exit. */
  close(): Promise<void>;
}

/**
 * Forks `script` (TypeScript, through tsx) as a server process; behind a delay link it starts
 * inside the link's namespace, and the IPC channel crosses `ip netns exec`.
 */
export function forkServerProcess<Message>(script: URL, link?: DelayLink): ServerProcess<Message> {
  const forkOptions: ForkOptions =
    link === undefined
      ? { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }
      : { execPath: 'ip', execArgv: ['netns', 'exec', link.namespace, process.execPath, '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] };
  const child = fork(fileURLToPath(script), forkOptions);
  const replies: Array<(reply: unknown) => void> = [];
  child.on('message', (reply) => replies.shift()?.(reply));
  return {
    ask: <T>(message: Message) =>
      new Promise<T>((resolve) => {
        replies.push(resolve as (reply: unknown) => void);
        child.send(message as object);
      }),
    async close() {
      if (child.connected) child.disconnect();
      if (child.exitCode === null && child.signalCode === null) await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

/**
 * One node:http or node:https request (a POST carries `payload`), resolved once the whole response
 * arrived and checked to be the benchmark servers' answer for `path` (bench/lib/node-servers.ts).
 */
export function nodeExchange(options: {
  module: typeof http | typeof https;
  agent: http.Agent | false;
  host: string;
  port: number;
  method: 'GET' | 'POST';
  path?: string;
  serverName: string;
  caPem: string;
  payload: Buffer;
}): Promise<void> {
  const { module, agent, host, port, method, path = '/', serverName, caPem, payload } = options;
  return new Promise((resolve, reject) => {
    const expected = expectedBytes(path);
    const request = module.request(
      { host, port, method, path, agent, servername: serverName, ca: caPem, headers: method === 'POST' ? { 'content-length': payload.length } : {} },
      (response) => {
        let bytes = 0;
        response.on('data', (chunk: Buffer) => (bytes += chunk.length));
        response.once('end', () => (bytes === expected ? resolve() : reject(new Error(`got ${bytes} bytes`))));
      },
    );
    request.once('error', reject);
    request.end(method === 'POST' ? payload : undefined);
  });
}

export async function startHopRig(link?: DelayLink): Promise<HopRig> {
  const host = link?.insideAddress ?? '127.0.0.1';
  const ca = await createPlatformCA();
  const generator = new ZeroRttGenerator({ ca });
  const provisioned = await generator.provision({ functionName: 'hop', instanceId: 'i-1', hosts: [host] });
  const server = forkServerProcess<HopServerMessage>(new URL('./hop-servers.ts', import.meta.url), link);
  const ask = server.ask;
  const ports = await ask<ServerPorts>({ credentials: encodeCredentials(provisioned.worker, 'json'), host });

  const payload = Buffer.alloc(100, 0x62);
  const nodeRequest = (
    module: typeof http | typeof https,
    agent: http.Agent | false,
    port: number,
    method: 'GET' | 'POST',
    path = '/',
    serverName = provisioned.serverName,
  ): Promise<void> => nodeExchange({ module, agent, host, port, method, path, serverName, caPem: ca.certPem, payload });

  const freshHttp = new http.Agent({ keepAlive: false });
  const freshTls13 = new https.Agent({ keepAlive: false, maxCachedSessions: 100 });
  const freshTls12 = new https.Agent({ keepAlive: false, maxCachedSessions: 100 });
  const warmHttp = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const warmTls13 = new https.Agent({ keepAlive: true, maxSockets: 1 });
  const warmTls12 = new https.Agent({ keepAlive: true, maxSockets: 1 });
  const store = new MemoryTicketStore();
  await store.set(provisioned.serverName, provisioned.session);
  const invokerCertificate = await generator.invokerCertificate();
  const invoker = new InvokerClient({ ca, certificate: invokerCertificate, ticketStore: store, idleTimeoutMs: 0 });
  const warmInvoker = new InvokerClient({ ca, certificate: invokerCertificate, idleTimeoutMs: 0 });
  const target = { serverName: provisioned.serverName, host, port: ports.qfaas };

  let notEarly = 0;
  // The platform's hop uses the lean form (invoker.request → onRequest); bench:path measures the web form beside it.
  const checkQfaas = async (response: InvokerResponse, method: 'GET' | 'POST', path: string, expectEarly: boolean): Promise<void> => {
    const bytes = (await response.body.bytes()).byteLength;
    if (bytes !== expectedBytes(path)) throw new Error(`got ${bytes} bytes`);
    const info = response.transport;
    if (expectEarly && info?.earlyDataAccepted !== true) notEarly++;
    if (method === 'POST' && info?.earlyData !== false) throw new Error('a POST went in early data under the idempotent policy');
  };
  const qfaasFresh = async (method: 'GET' | 'POST', path = '/'): Promise<void> => {
    // A new connection each time, resuming the session the worker issued last time.
    invoker.closeIdleConnections();
    const response = await invoker.request({ ...target, path, ...(method === 'POST' ? { method, body: payload } : {}) });
    await checkQfaas(response, method, path, method === 'GET');
  };
  const qfaasWarm = async (path: string): Promise<void> => checkQfaas(await warmInvoker.request({ ...target, path }), 'GET', path, false);

  // Long-lived clients for Fig. 5c, so a first request does not include binding a socket.
  const launchStore = new MemoryTicketStore();
  const launchNoSession = new InvokerClient({ ca, certificate: invokerCertificate, idleTimeoutMs: 0, ticketStore: new MemoryTicketStore({ maxEntries: 0 }) });
  const launchWithSession = new InvokerClient({ ca, certificate: invokerCertificate, idleTimeoutMs: 0, ticketStore: launchStore });
  const quicGoMissing = quicGoAvailable();
  if (quicGoMissing !== undefined) console.log(`quic-go HTTP/3 left out: ${quicGoMissing}`);
  const quicGo =
    quicGoMissing === undefined
      ? await startQuicGoRig({
          ...(link === undefined ? {} : { link }),
          caPem: ca.certPem,
          server: provisioned.worker.certificate,
          client: invokerCertificate,
          serverName: provisioned.serverName,
        })
      : undefined;
  let launches = 0;
  const launchWorker = async (): Promise<LaunchedWorker> => {
    const id = launches++;
    const launched = await generator.provision({ functionName: 'hop', instanceId: `launch-${id}`, hosts: [host] });
    const launchedPorts = await ask<ServerPorts>({ launch: encodeCredentials(launched.worker, 'json'), id });
    const name = launched.serverName;
    // New server names: neither client has a connection or, unless stored here, a session for them.
    await launchStore.set(name, launched.session);
    const qfaasFirst = async (client: InvokerClient, expectEarly: boolean) => {
      const response = await client.request({ serverName: name, host, port: launchedPorts.qfaas });
      await checkQfaas(response, 'GET', '/', expectEarly);
      if (!expectEarly && response.transport.earlyData !== false) throw new Error('a first request without a session went in early data');
    };
    return {
      firstRequest: {
        http: () => nodeRequest(http, false, launchedPorts.http, 'GET', '/', name),
        tls13: () => nodeRequest(https, false, launchedPorts.tls13, 'GET', '/', name),
        tls12: () => nodeRequest(https, false, launchedPorts.tls12, 'GET', '/', name),
        qfaasNoSession: () => qfaasFirst(launchNoSession, false),
        qfaasGeneratorSession: () => qfaasFirst(launchWithSession, true),
      },
      retire: async () => {
        launchNoSession.closeIdleConnections();
        launchWithSession.closeIdleConnections();
        await launchStore.delete(name);
        await ask({ retire: id });
      },
    };
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
      tls12Post: () => nodeRequest(https, freshTls12, ports.tls12, 'POST'),
      qfaasOneRttPost: () => qfaasFresh('POST'),
      httpWarmGet: () => nodeRequest(http, warmHttp, ports.http, 'GET'),
      tls13WarmGet: () => nodeRequest(https, warmTls13, ports.tls13, 'GET'),
      tls12WarmGet: () => nodeRequest(https, warmTls12, ports.tls12, 'GET'),
      qfaasWarmGet: () => qfaasWarm('/'),
      httpLargeGet: () => nodeRequest(http, freshHttp, ports.http, 'GET', '/1mib'),
      tls13LargeGet: () => nodeRequest(https, freshTls13, ports.tls13, 'GET', '/1mib'),
      tls12LargeGet: () => nodeRequest(https, freshTls12, ports.tls12, 'GET', '/1mib'),
      qfaasLargeGet: () => qfaasFresh('GET', '/1mib'),
      httpWarmLargeGet: () => nodeRequest(http, warmHttp, ports.http, 'GET', '/1mib'),
      tls13WarmLargeGet: () => nodeRequest(https, warmTls13, ports.tls13, 'GET', '/1mib'),
      tls12WarmLargeGet: () => nodeRequest(https, warmTls12, ports.tls12, 'GET', '/1mib'),
      qfaasWarmLargeGet: () => qfaasWarm('/1mib'),
    },
    launchWorker,
    quicGo,
    serverDatagrams: () => ask<ServerDatagrams>({ datagrams: true }),
    async profileServer() {
      await ask({ profile: 'start' });
      return async () => (await ask<{ summary: ProfileSummary }>({ profile: 'stop' })).summary;
    },
    takeNotEarly() {
      const count = notEarly + (quicGo?.takeNotEarly() ?? 0);
      notEarly = 0;
      return count;
    },
    async close() {
      await Promise.all([invoker.close(), warmInvoker.close(), launchNoSession.close(), launchWithSession.close(), quicGo?.close()]);
      for (const agent of [freshHttp, freshTls13, freshTls12, warmHttp, warmTls13, warmTls12]) agent.destroy();
      await server.close();
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
  rig: Pick<HopRig, 'takeNotEarly'>,
  cases: ReadonlyArray<readonly [string, Exchange]>,
  options: { warmupRounds: number; rounds: number; label: string },
): Promise<Map<string, Summary>> {
  await interleaved(cases, options.warmupRounds);
  rig.takeNotEarly();
  const results = await interleaved(cases, options.rounds, (round) => progress(options.label, round, options.rounds));
  const notEarly = rig.takeNotEarly();
  if (notEarly > 0) throw new Error(`${notEarly} qfaas GETs were not accepted in 0-RTT (${options.label})`);
  return new Map([...results].map(([name, values]) => [name, summarize(values)]));
}
