/**
 * npm run bench:path — the gateway→worker hop taken apart, layer by layer, in one run:
 *   1. transport alone: createQuicClient → createQuicServer, one bidirectional stream;
 *   2. + HTTP/3: Http3Connection.request() → createHttp3Server({ onRequest }) (lean);
 *   3. + invoker and handler, lean form: InvokerClient.request() → createHandlerServer({ onRequest }),
 *      replay guard off;
 *   4. + the replay guard: the same with the default guard (what a platform gets: "the lean hop");
 *   5. + web Request/Response: InvokerClient.fetch() → createHandlerServer({ handler }), guard on;
 * beside node:http on a new TCP connection and node:https TLS 1.3 (session resumed; keep-alive for
 * the warm GET). Three scenarios: a fresh GET in 0-RTT from a cached session, a POST over 1-RTT
 * (resumed, the request waits for the handshake) and a GET on a warm connection.
 *
 * Servers run in a child process (bench/path/path-servers.ts), each layer from its own provisioned worker
 * credentials with mutual TLS. Timing: every case once per round, rotated, medians and p90.
 * Datagrams each way and CPU per exchange: each case alone, sequentially, afterwards (countEach) —
 * datagrams counted by the layer's server endpoint, CPU as `process.cpuUsage()` deltas on each end
 * (the server's sampled over IPC at a window's edges) divided by the window's exchanges.
 *
 * `--delay-us=N` (root): servers in a network namespace behind the delay link (bench/link), section
 * `bench:path@N`; without it, loopback, section `bench:path`. `--quick`: fewer samples, prints only.
 */
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { getResponseInfo, InvokerClient, type InvokerResponse } from '../../src/invoker-client/index.js';
import {
  connectHttp3,
  createQuicClient,
  createQuicConfig,
  type Http3Connection,
  type Http3PeerSettings,
  type QuicConnection,
  type QuicEndpoint,
} from '../../src/transport/index.js';
import { createPlatformCA, encodeCredentials, MemoryTicketStore, ZeroRttGenerator, type Provisioned } from '../../src/zero-rtt/index.js';
import { measureInterleaved, type Exchange } from '../lib/interleaved.js';
import { nodeExchange } from '../lib/node-exchange.js';
import { forkServerProcess } from '../lib/server-process.js';
import { checkedLink, linkDelayArgument } from '../link/checked-link.js';
import { pathLayers, type PathLayer, type PathServerMessage, type PathServerPorts, type PathServerSample } from './path-servers.js';
import { progress, reportResults, type ResultTable } from '../lib/report.js';
import { summarize, type Summary } from '../lib/stats.js';

const quick = process.argv.includes('--quick');
const samples = quick ? 30 : 200;
/** Windows per case: CPU (back to back, the median one is kept) and datagrams (paused, summed). */
const cpuWindows = quick ? 2 : 9;
const datagramWindows = quick ? 1 : 4;
const runsPerWindow = quick ? 10 : 20;
const loadAtStart = os.loadavg()[0] as number;
const delayUs = linkDelayArgument();
const checked = delayUs === undefined ? undefined : await checkedLink(delayUs, { strict: !quick });
const link = checked?.link;
const host = link?.insideAddress ?? '127.0.0.1';
const clientHost = link === undefined ? '127.0.0.1' : '0.0.0.0';

const ca = await createPlatformCA();
const generator = new ZeroRttGenerator({ ca });
const provisioned = {} as Record<PathLayer, Provisioned>;
// Server names of one length (i-1.path.…, i-2.path.…): the name is in the ClientHello and in
// :authority, and a few bytes decide whether a 0-RTT request fits beside the ClientHello.
for (const [index, layer] of pathLayers.entries()) {
  provisioned[layer] = await generator.provision({ functionName: 'path', instanceId: `i-${index + 1}`, hosts: [host] });
}
const server = forkServerProcess<PathServerMessage>(new URL('./path-servers.ts', import.meta.url), link);
const credentials = Object.fromEntries(pathLayers.map((layer) => [layer, encodeCredentials(provisioned[layer].worker, 'json')])) as Record<PathLayer, string>;
const ports = await server.ask<PathServerPorts>({ setup: { host, credentials } });

const payload = Buffer.alloc(100, 0x62);
const rawGet = Buffer.from('GET /\n');
type Method = 'GET' | 'POST';
let notEarly = 0;
const expectBytes = (bytes: number) => {
  if (bytes !== 100) throw new Error(`got ${bytes} bytes`);
};
/** A fresh GET must have gone in accepted 0-RTT (else its row is mislabelled); a POST never in early data. */
const checkEarly = (method: Method, earlyDataAccepted: boolean, earlyData: boolean) => {
  if (method === 'GET' && !earlyDataAccepted) notEarly++;
  if (method === 'POST' && earlyData) throw new Error('a POST went in early data');
};

// ---- 1 and 2: the transport alone, and HTTP/3 on it ------------------------------------------

const invokerCertificate = await generator.invokerCertificate();
const clientConfig = createQuicConfig({ role: 'client', caPem: ca.certPem, certificate: invokerCertificate });
const endpoints: QuicEndpoint[] = [];
const endpoint = async () => {
  const made = await createQuicClient({ host: clientHost });
  endpoints.push(made);
  return made;
};

/** Layer 1: a new connection per exchange resuming the last session (the invoker's pattern), or one warm connection. */
async function transportClient(): Promise<{ fresh(method: Method): Promise<void>; warm(): Promise<void> }> {
  const [freshEndpoint, warmEndpoint] = [await endpoint(), await endpoint()];
  const target = { host, port: ports.layers.transport, serverName: provisioned.transport.serverName, config: clientConfig };
  let session = provisioned.transport.session.session.reveal();
  let previous: QuicConnection | undefined;
  const exchange = async (connection: QuicConnection, method: Method) => {
    const stream = await connection.openBidirectionalStream();
    await stream.end(method === 'POST' ? payload : rawGet);
    let bytes = 0;
    for await (const chunk of stream) bytes += chunk.length;
    expectBytes(bytes);
  };
  let warm: QuicConnection | undefined;
  return {
    async fresh(method) {
      // The previous connection closes as the invoker's closeIdleConnections() closes its own.
      if (previous !== undefined) void previous.close().catch(() => undefined);
      const connection = freshEndpoint.connect({ ...target, session, onSessionTicket: (ticket) => (session = ticket) });
      previous = connection;
      // A POST waits for the handshake, as the invoker does under the 'idempotent' policy.
      if (method === 'POST') await connection.handshake;
      const earlyData = !connection.handshakeCompleted;
      await exchange(connection, method);
      const info = connection.handshakeInfo ?? (await connection.handshake);
      checkEarly(method, earlyData && info.earlyDataAccepted, earlyData);
    },
    async warm() {
      warm ??= warmEndpoint.connect(target);
      await exchange(warm, 'GET');
    },
  };
}

/** Layer 2: lean HTTP/3 requests, remembering the server's SETTINGS with the session (as the invoker does). */
async function http3Client(): Promise<{ fresh(method: Method): Promise<void>; warm(): Promise<void> }> {
  const [freshEndpoint, warmEndpoint] = [await endpoint(), await endpoint()];
  const serverName = provisioned.h3.serverName;
  const target = { host, port: ports.layers.h3, serverName, config: clientConfig };
  let session = provisioned.h3.session.session.reveal();
  let settings: Http3PeerSettings | undefined = provisioned.h3.session.settings;
  let previous: Http3Connection | undefined;
  const exchange = async (h3: Http3Connection, method: Method) => {
    const response = await h3.request({ method, path: '/', authority: serverName, ...(method === 'POST' ? { body: payload } : {}) });
    expectBytes((await response.body.bytes()).byteLength);
    return response;
  };
  let warm: Http3Connection | undefined;
  return {
    async fresh(method) {
      previous?.close();
      const quic = freshEndpoint.connect({ ...target, session, onSessionTicket: (ticket) => (session = ticket) });
      const h3 = connectHttp3(quic, settings === undefined ? {} : { rememberedPeerSettings: settings });
      previous = h3;
      void h3.peerSettings.then((received) => (settings = received));
      if (method === 'POST') await quic.handshake;
      const earlyData = !quic.handshakeCompleted;
      await exchange(h3, method);
      const info = quic.handshakeInfo ?? (await quic.handshake);
      checkEarly(method, earlyData && info.earlyDataAccepted, earlyData);
    },
    async warm() {
      warm ??= connectHttp3(warmEndpoint.connect(target));
      await exchange(warm, 'GET');
    },
  };
}

// ---- 3, 4 and 5: the invoker and the handler server -------------------------------------------

const invokers: InvokerClient[] = [];
/** A fresh-connection invoker holding the layer's minted session, and a warm one; `web` uses fetch(). */
async function invokerClient(layer: 'lean' | 'guarded' | 'web'): Promise<{ fresh(method: Method): Promise<void>; warm(): Promise<void> }> {
  const store = new MemoryTicketStore();
  await store.set(provisioned[layer].serverName, provisioned[layer].session);
  const fresh = new InvokerClient({ ca, certificate: invokerCertificate, ticketStore: store, idleTimeoutMs: 0, localAddress: clientHost });
  const warm = new InvokerClient({ ca, certificate: invokerCertificate, idleTimeoutMs: 0, localAddress: clientHost });
  invokers.push(fresh, warm);
  const target = { serverName: provisioned[layer].serverName, host, port: ports.layers[layer] };
  const exchange = async (client: InvokerClient, method: Method) => {
    if (layer === 'web') {
      const response = await client.fetch(`https://${target.serverName}/`, {
        ...(method === 'POST' ? { method, body: payload } : {}),
        connectTo: { host: target.host, port: target.port },
      });
      expectBytes((await response.arrayBuffer()).byteLength);
      const info = getResponseInfo(response);
      return { accepted: info?.earlyData === true, attempted: info?.transport?.earlyDataAttempted === true };
    }
    const response: InvokerResponse = await client.request({ ...target, ...(method === 'POST' ? { method, body: payload } : {}) });
    expectBytes((await response.body.bytes()).byteLength);
    return { accepted: response.earlyData, attempted: response.transport.earlyDataAttempted };
  };
  return {
    async fresh(method) {
      fresh.closeIdleConnections();
      const info = await exchange(fresh, method);
      checkEarly(method, info.accepted, info.attempted);
    },
    async warm() {
      await exchange(warm, 'GET');
    },
  };
}

const clients = {
  transport: await transportClient(),
  h3: await http3Client(),
  lean: await invokerClient('lean'),
  guarded: await invokerClient('guarded'),
  web: await invokerClient('web'),
};

// ---- node:http and node:https -----------------------------------------------------------------

const agents = {
  http: new http.Agent({ keepAlive: false }),
  tls13: new https.Agent({ keepAlive: false, maxCachedSessions: 100 }),
  warmTls13: new https.Agent({ keepAlive: true, maxSockets: 1 }),
};
const node = (module: typeof http | typeof https, agent: http.Agent, port: number, method: Method): Exchange => () =>
  nodeExchange({ module, agent, host, port, method, serverName: provisioned.lean.serverName, caPem: ca.certPem, payload });

// ---- Cases ------------------------------------------------------------------------------------

const scenarios = ['fresh GET, 0-RTT', 'POST, 1-RTT', 'warm GET'] as const;
type Scenario = (typeof scenarios)[number];
const layerNames: Record<PathLayer, string> = {
  transport: '1 transport alone (QUIC stream)',
  h3: '2 + HTTP/3 (lean)',
  lean: '3 + invoker and handler (lean), no guard',
  guarded: '4 + replay guard: the lean hop',
  web: '5 + web Request/Response (fetch)',
};
interface Case {
  name: string;
  scenario: Scenario;
  what: string;
  layer: PathLayer | undefined;
  run: Exchange;
}
const cases: Case[] = [];
for (const scenario of scenarios) {
  const method: Method = scenario === 'POST, 1-RTT' ? 'POST' : 'GET';
  const add = (what: string, layer: PathLayer | undefined, run: Exchange) => cases.push({ name: `${scenario}: ${what}`, scenario, what, layer, run });
  if (scenario === 'warm GET') add('node:https TLS 1.3 keep-alive', undefined, node(https, agents.warmTls13, ports.tls13, 'GET'));
  else {
    add('node:http, new TCP connection', undefined, node(http, agents.http, ports.http, method));
    add('node:https TLS 1.3, new connection (session resumed)', undefined, node(https, agents.tls13, ports.tls13, method));
  }
  for (const layer of pathLayers) {
    const client = clients[layer];
    add(layerNames[layer], layer, scenario === 'warm GET' ? () => client.warm() : () => client.fresh(method));
  }
}

// ---- Measure ----------------------------------------------------------------------------------

interface Counted {
  /** Per exchange, as the server's endpoint saw them: received = client→server. */
  clientToServer: number;
  serverToClient: number;
  clientCpuUs: number;
  serverCpuUs: number;
}
const settleMs = 50;
/**
 * Pause after each exchange of a datagram window, longer than quiche's 25 ms max_ack_delay: the
 * handshake's tail (HANDSHAKE_DONE, the new session ticket, SETTINGS, the ACKs) is then exchanged
 * before the next exchange closes the connection, so every layer's count is complete and does not
 * depend on how soon the close came (back to back, the close often cut that tail off, by timing alone).
 */
const pauseMs = 30;
const clientCpuUs = () => {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
};
/** Runs `run` `count` times alone, `pause` ms apart; CPU on both ends and the datagrams over the window (settling included). */
async function window(run: Exchange | undefined, count: number, pause: number): Promise<{ before: PathServerSample; after: PathServerSample; clientUs: number }> {
  await sleep(settleMs);
  const before = await server.ask<PathServerSample>({ sample: true });
  const started = clientCpuUs();
  for (let i = 0; i < count && run !== undefined; i++) {
    await run();
    if (pause > 0) await sleep(pause);
  }
  await sleep(settleMs);
  const clientUs = clientCpuUs() - started;
  const after = await server.ask<PathServerSample>({ sample: true });
  return { before, after, clientUs };
}

/**
 * Each case alone, in windows of `runsPerWindow` exchanges taken round-robin over the cases (slow
 * drift, e.g. a growing heap, then reaches every case alike). CPU: windows of exchanges back to
 * back, as in the timed rounds; the median window (one window's major GC or JIT burst does not
 * decide a row), minus an idle window's CPU. Datagrams: windows with `pauseMs` between exchanges,
 * totals over all of them.
 */
async function countEach(): Promise<Map<string, Counted>> {
  const idle = await window(undefined, 0, 0);
  const idleServerUs = idle.after.cpuUs - idle.before.cpuUs;
  const cpu = new Map<string, Array<{ clientUs: number; serverUs: number }>>(cases.map(({ name }) => [name, []]));
  const datagrams = new Map<string, { up: number; down: number }>(cases.map(({ name }) => [name, { up: 0, down: 0 }]));
  for (const { run } of cases) for (let i = 0; i < 3; i++) await run();
  const rounds = Math.max(cpuWindows, datagramWindows);
  for (let w = 0; w < rounds; w++) {
    for (const { name, layer, run } of cases) {
      if (w < cpuWindows) {
        const { before, after, clientUs } = await window(run, runsPerWindow, 0);
        cpu.get(name)?.push({ clientUs: (clientUs - idle.clientUs) / runsPerWindow, serverUs: (after.cpuUs - before.cpuUs - idleServerUs) / runsPerWindow });
      }
      if (layer === undefined || w >= datagramWindows) continue;
      const paused = await window(run, runsPerWindow, pauseMs);
      const total = datagrams.get(name) as { up: number; down: number };
      total.up += paused.after.datagrams[layer].received - paused.before.datagrams[layer].received;
      total.down += paused.after.datagrams[layer].sent - paused.before.datagrams[layer].sent;
    }
    progress('counting datagrams and CPU', w + 1, rounds);
  }
  const exchanges = datagramWindows * runsPerWindow;
  return new Map(
    cases.map(({ name, layer }) => {
      const windows = cpu.get(name) ?? [];
      const total = datagrams.get(name) as { up: number; down: number };
      return [
        name,
        {
          clientToServer: layer === undefined ? Number.NaN : total.up / exchanges,
          serverToClient: layer === undefined ? Number.NaN : total.down / exchanges,
          clientCpuUs: summarize(windows.map((x) => x.clientUs)).median,
          serverCpuUs: summarize(windows.map((x) => x.serverUs)).median,
        },
      ];
    }),
  );
}

let summaries: Map<string, Summary>;
let counted: Map<string, Counted>;
try {
  const takeNotEarly = () => {
    const count = notEarly;
    notEarly = 0;
    return count;
  };
  summaries = await measureInterleaved(
    { takeNotEarly },
    cases.map(({ name, run }) => [name, run] as const),
    { warmupRounds: quick ? 5 : 20, rounds: samples, label: 'path samples' },
  );
  counted = await countEach();
  if (takeNotEarly() > 0) throw new Error('a fresh GET was not accepted in 0-RTT while counting');
} finally {
  await Promise.all(invokers.map((invoker) => invoker.close()));
  await Promise.all(endpoints.map((made) => made.close({ kind: 'application', code: 0 })));
  for (const agent of Object.values(agents)) agent.destroy();
  await server.close();
  await link?.close();
}

// ---- Report -----------------------------------------------------------------------------------

const ms = (value: number) => value.toFixed(3);
const summaryOf = (scenario: Scenario, what: string) => summaries.get(`${scenario}: ${what}`) as Summary;
const countOf = (scenario: Scenario, what: string) => counted.get(`${scenario}: ${what}`) as Counted;
const median = (scenario: Scenario, what: string) => summaryOf(scenario, what).median;

const layerRows: string[][] = [];
for (const scenario of scenarios) {
  let previous: number | undefined;
  for (const { name, what, layer } of cases.filter((c) => c.scenario === scenario)) {
    const summary = summaries.get(name) as Summary;
    const count = counted.get(name) as Counted;
    const added = layer === undefined || previous === undefined ? '' : `${summary.median - previous >= 0 ? '+' : '−'}${ms(Math.abs(summary.median - previous))}`;
    if (layer !== undefined) previous = summary.median;
    layerRows.push([
      scenario,
      what,
      ms(summary.median),
      ms(summary.p90),
      added,
      layer === undefined ? 'TCP' : `${count.clientToServer.toFixed(1)} / ${count.serverToClient.toFixed(1)}`,
      `${Math.round(count.clientCpuUs)} / ${Math.round(count.serverCpuUs)}`,
    ]);
  }
}

const lean = layerNames.guarded;
const fresh = 'fresh GET, 0-RTT';
const ratioRows: string[][] = [];
const ratio = (what: string, value: number, limit: number | undefined) =>
  ratioRows.push([what, value.toFixed(2), limit === undefined ? '' : `≤ ${limit}`, limit === undefined ? '' : value <= limit ? 'yes' : 'no']);
ratio('fresh 0-RTT GET: lean hop / transport alone', median(fresh, lean) / median(fresh, layerNames.transport), 1.2);
ratio('fresh 0-RTT GET: lean hop / node:http', median(fresh, lean) / median(fresh, 'node:http, new TCP connection'), 0.85);
ratio('fresh 0-RTT GET: lean hop / node:https TLS 1.3', median(fresh, lean) / median(fresh, 'node:https TLS 1.3, new connection (session resumed)'), 0.45);
ratio('fresh 0-RTT GET: fetch / lean hop', median(fresh, layerNames.web) / median(fresh, lean), 1.15);
{
  const leanCount = countOf(fresh, lean);
  const transportCount = countOf(fresh, layerNames.transport);
  // Compared as shown, to one decimal.
  const up = Math.round((leanCount.clientToServer - transportCount.clientToServer) * 10) / 10;
  const down = Math.round((leanCount.serverToClient - transportCount.serverToClient) * 10) / 10;
  const signed = (value: number) => `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(1)}`;
  ratioRows.push(['fresh 0-RTT GET: datagrams, lean hop − transport alone (client→server / server→client)', `${signed(up)} / ${signed(down)}`, '≤ +1 each way', up <= 1 && down <= 1 ? 'yes' : 'no']);
}
ratio('warm GET: lean hop / node:https keep-alive', median('warm GET', lean) / median('warm GET', 'node:https TLS 1.3 keep-alive'), 1.1);
ratio('1-RTT POST: lean hop / transport alone', median('POST, 1-RTT', lean) / median('POST, 1-RTT', layerNames.transport), undefined);
ratio('1-RTT POST: lean hop / node:http', median('POST, 1-RTT', lean) / median('POST, 1-RTT', 'node:http, new TCP connection'), undefined);
ratio('1-RTT POST: lean hop / node:https TLS 1.3', median('POST, 1-RTT', lean) / median('POST, 1-RTT', 'node:https TLS 1.3, new connection (session resumed)'), undefined);
ratio('1-RTT POST: fetch / lean hop', median('POST, 1-RTT', layerNames.web) / median('POST, 1-RTT', lean), undefined);
ratio('warm GET: lean hop / transport alone', median('warm GET', lean) / median('warm GET', layerNames.transport), undefined);
ratio('warm GET: fetch / lean hop', median('warm GET', layerNames.web) / median('warm GET', lean), undefined);

const tables: ResultTable[] = [
  {
    columns: ['scenario', 'layer', 'median ms', 'p90 ms', 'added by the layer, ms', 'datagrams client→server / server→client', 'CPU µs per exchange, client / server'],
    rows: layerRows,
  },
  { columns: ['ratio (medians)', 'measured', 'target', 'met'], rows: ratioRows },
];
const where =
  checked === undefined
    ? 'Servers in a child process on loopback'
    : `Servers in a child process in a network namespace behind the delay link (${checked.line})`;
reportResults({
  section: delayUs === undefined ? 'bench:path' : `bench:path@${delayUs}`,
  title:
    delayUs === undefined
      ? 'The hop, layer by layer (`npm run bench:path`)'
      : `The hop, layer by layer, over the delay link, ${delayUs} µs one way (\`npm run bench:path -- --delay-us=${delayUs}\`)`,
  description:
    `${where}; load average ${loadAtStart.toFixed(2)} at the start (2 cores, shared). 100-byte responses (and POST bodies); ${samples} samples per case, every case once per round in rotated order. ` +
    `Each layer adds one thing to the row above it; the lean hop is row 4, what a platform gets by default. Every qfaas layer uses mutual TLS, its own worker credentials and a session minted by the 0-RTT generator; a fresh GET is checked to go in accepted 0-RTT, a POST waits for the (resumed) handshake; ` +
    `node:https uses server authentication only. Then each case alone, in windows of ${runsPerWindow} exchanges taken round-robin over the cases: CPU (\`process.cpuUsage()\`, user + system, on each end, minus an idle window's) per exchange with the exchanges back to back, the median of ${cpuWindows} windows; datagrams (counted by the layer's server endpoint) per exchange over ${datagramWindows} windows with ${pauseMs} ms between exchanges, so that the handshake's tail and the delayed ACKs are in every count. Both include closing the previous connection.`,
  rows: [],
  tables,
  quick,
});
