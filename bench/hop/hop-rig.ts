/**
 * The hop rig, shared by `bench:hop`, `bench:profile` and the paper's Fig. 5 and 7: a server
 * process (node:http, node:https TLS 1.3 and 1.2, a qfaas handler server; hop-servers.ts) on
 * loopback or inside the delay link's namespace, and one client per transport. Every exchange
 * checks its 100 bytes.
 */
import http from 'node:http';
import https from 'node:https';
import { InvokerClient, type InvokerResponse } from '../../src/invoker-client/index.js';
import { createPlatformCA, encodeCredentials, MemoryTicketStore, ZeroRttGenerator } from '../../src/zero-rtt/index.js';
import type { DelayLink } from '../link/delay-link.js';
import { quicGoAvailable, startQuicGoRig, type QuicGoRig } from '../quic-go/quic-go-rig.js';
import type { ProfileSummary } from '../lib/cpu-profile.js';
import type { Exchange } from '../lib/interleaved.js';
import { expectedBytes, nodeExchange } from '../lib/node-exchange.js';
import { forkServerProcess, type ServerDatagrams } from '../lib/server-process.js';
import type { HopServerMessage, ServerPorts } from './hop-servers.js';

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
  /** CPU time (user + system, µs) the server process used so far. */
  serverCpuUs(): Promise<number>;
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

export interface HopRigOptions {
  /** Start quic-go's rig beside the others when it is installed. @default true */
  quicGo?: boolean;
  /**
   * Datagram I/O of the qfaas server process and of this rig's invokers (QFAAS_UDP; issue 17).
   * @default the environment's
   */
  io?: 'dgram' | 'batched';
  /**
   * `transport.maxUdpPayloadSize` of the qfaas server and of this rig's invokers (jumbo frames,
   * on a link whose MTU carries them). @default 1350, the library's
   */
  udpPayloadSize?: number;
}

export async function startHopRig(link?: DelayLink, options: HopRigOptions = {}): Promise<HopRig> {
  const host = link?.insideAddress ?? '127.0.0.1';
  const ca = await createPlatformCA();
  const transport = options.udpPayloadSize === undefined ? {} : { transport: { maxUdpPayloadSize: options.udpPayloadSize } };
  // The generator mints the session with the same settings: quiche's 0-RTT context includes them.
  const generator = new ZeroRttGenerator({ ca, ...transport });
  const provisioned = await generator.provision({ functionName: 'hop', instanceId: 'i-1', hosts: [host] });
  const serverEnv = {
    ...(options.io === undefined ? {} : { QFAAS_UDP: options.io }),
    ...(options.udpPayloadSize === undefined ? {} : { QFAAS_BENCH_UDP_PAYLOAD: String(options.udpPayloadSize) }),
  };
  const server = forkServerProcess<HopServerMessage>(new URL('./hop-servers.ts', import.meta.url), link, serverEnv);
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
  const invoker = new InvokerClient({ ca, certificate: invokerCertificate, ticketStore: store, idleTimeoutMs: 0, ...transport });
  const warmInvoker = new InvokerClient({ ca, certificate: invokerCertificate, idleTimeoutMs: 0, ...transport });
  if (options.io !== undefined) {
    // The invokers bind their sockets on their first request, reading QFAAS_UDP then.
    const before = process.env.QFAAS_UDP;
    process.env.QFAAS_UDP = options.io;
    try {
      await Promise.all([invoker.request({ serverName: provisioned.serverName, host, port: ports.qfaas }), warmInvoker.request({ serverName: provisioned.serverName, host, port: ports.qfaas })].map(async (pending) => (await pending).body.dump()));
    } finally {
      if (before === undefined) delete process.env.QFAAS_UDP;
      else process.env.QFAAS_UDP = before;
    }
  }
  const target = { serverName: provisioned.serverName, host, port: ports.qfaas };

  let notEarly = 0;
  // The platform's hop uses the lean form (invoker.request → onRequest); bench:path measures the web form beside it.
  const checkQfaas = async (response: InvokerResponse, method: 'GET' | 'POST', path: string, expectEarly: boolean): Promise<void> => {
    const bytes = (await response.body.bytes()).byteLength;
    if (bytes !== expectedBytes(path)) throw new Error(`got ${bytes} bytes`);
    if (expectEarly && !response.earlyData) notEarly++;
    if (method === 'POST' && response.transport.earlyDataAttempted) throw new Error('a POST went in early data under the idempotent policy');
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
  const quicGoMissing = options.quicGo === false ? 'not asked for' : quicGoAvailable();
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
      if (!expectEarly && response.transport.earlyDataAttempted) throw new Error('a first request without a session went in early data');
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
    serverCpuUs: async () => (await ask<{ cpuUs: number }>({ cpu: true })).cpuUs,
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
