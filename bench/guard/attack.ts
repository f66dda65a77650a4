/**
 * npm run bench:attack — what an unauthenticated attacker gets out of a worker (issue 12):
 *   - a flood of 12,000 genuine Initials from one socket that never answers (no certificate is
 *     needed to make them), with the default defences and with Retry turned off: connections held,
 *     the worker's RSS before, during and after (GC), bytes sent back per byte received, and how
 *     long an honest invoker's request takes in the middle of the flood;
 *   - amplification: bytes drawn by Initials whose sender never answers, against RFC 9000's 3x;
 *   - slow headers: authenticated streams whose header section never completes, against the
 *     header-section limits (timeout, per-connection buffered-bytes cap).
 * The worker runs in a child process (its memory is its own); attacker and invoker share this one.
 * Writes docs/security.md's "Floods and amplification: measured" section.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { getResponseInfo, InvokerClient } from '../../src/invoker-client/index.js';
import { createQuicClient, createQuicConfig, defaultAdmission, type QuicConnection, type QuicEndpointStats } from '../../src/transport/index.js';
import { encodeFrameHeader, frameType } from '../../src/transport/h3/frames.js';
import { createPlatformCA, encodeCredentials, MemoryTicketStore, ZeroRttGenerator, type Provisioned } from '../../src/zero-rtt/index.js';
import { flood, genuineInitial, genuineInitials, openSilentPeer } from '../../test/helpers/attack-traffic.js';
import type { HandlerServerMetrics, HandlerServerOptions } from '../../src/handler-server/index.js';
import { machineLine, writeSection } from '../lib/report.js';

const quick = process.argv.includes('--quick');
const floodSize = quick ? 3000 : 12_000;
const mib = 2 ** 20;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Admission = Pick<HandlerServerOptions, 'retry' | 'maxConnections' | 'maxHalfOpenConnections' | 'handshakeTimeoutMs'>;
interface WorkerStats {
  rss: number;
  heapUsed: number;
  quic: QuicEndpointStats;
  inflight: number;
  requests: number;
  headerSections: HandlerServerMetrics['headerSections'];
}

interface Worker {
  port: number;
  stats(gc?: boolean): Promise<WorkerStats>;
  close(): Promise<void>;
}

async function startWorker(provisioned: Provisioned, admission: Admission): Promise<Worker> {
  const child: ChildProcess = fork(fileURLToPath(new URL('./attack-worker.ts', import.meta.url)), {
    execArgv: ['--expose-gc', '--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  // One question at a time: answers come back in order.
  const waiting: Array<(value: unknown) => void> = [];
  child.on('message', (message) => waiting.shift()?.(message));
  const ask = <T>(message: object): Promise<T> =>
    new Promise((resolve) => {
      waiting.push(resolve as (value: unknown) => void);
      child.send(message);
    });
  const { port } = await ask<{ port: number }>({ credentials: encodeCredentials(provisioned.worker, 'json'), admission });
  return {
    port,
    stats: (gc = false) => ask<WorkerStats>({ type: gc ? 'gc' : 'stats' }),
    close: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send({ type: 'close' });
      await exited;
    },
  };
}

const ca = await createPlatformCA();
const generator = new ZeroRttGenerator({ ca });
const invokerCertificate = await generator.invokerCertificate();
const attackerConfig = createQuicConfig({ role: 'client', caPem: ca.certPem });

interface FloodResult {
  label: string;
  baseline: WorkerStats;
  peak: { rss: number; connections: number; halfOpen: number };
  during: WorkerStats;
  after: WorkerStats;
  honestMs: number;
  honestEarly: boolean;
  calmMs: number;
  bytesIn: number;
  bytesOut: number;
  size: number;
  floodMs: number;
  /** From the last datagram of the flood until the worker had read them all. */
  caughtUpMs: number;
  /** From the last datagram of the flood until no half-open connection was left. */
  emptiedMs: number;
  /** Worker RSS after GC once each round of the flood was over. */
  rssAfterRounds: number[];
}

/** The honest invoker, holding the worker's provisioned session: each request on a new connection, timed. */
function honestInvoker(provisioned: Provisioned, port: number): { invoker: InvokerClient; request(): Promise<{ ms: number; early: boolean }> } {
  const store = new MemoryTicketStore();
  store.set(provisioned.serverName, provisioned.session);
  const invoker = new InvokerClient({ ca, certificate: invokerCertificate, ticketStore: store, idleTimeoutMs: 0 });
  const target = { serverName: provisioned.serverName, host: '127.0.0.1', port };
  return {
    invoker,
    async request() {
      invoker.closeIdleConnections();
      const started = performance.now();
      const response = await invoker.fetch(`https://${target.serverName}/`, { connectTo: target });
      if ((await response.text()) !== 'still here') throw new Error('wrong answer');
      return { ms: performance.now() - started, early: getResponseInfo(response)?.earlyData === true };
    },
  };
}

async function floodScenario(label: string, admission: Admission, size: number, rounds = 1): Promise<FloodResult> {
  const provisioned = await generator.provision({ functionName: 'victim', instanceId: `i-${label.length}`, hosts: ['127.0.0.1'] });
  const worker = await startWorker(provisioned, admission);
  const { invoker, request: honest } = honestInvoker(provisioned, worker.port);
  await honest();
  const calm = await honest();
  const baseline = await worker.stats(true);
  const initials = genuineInitials(size, attackerConfig, provisioned.serverName);
  const attacker = await openSilentPeer();

  const peak = { rss: baseline.rss, connections: 0, halfOpen: 0 };
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const stats = await worker.stats();
      peak.rss = Math.max(peak.rss, stats.rss);
      peak.connections = Math.max(peak.connections, stats.quic.connections);
      peak.halfOpen = Math.max(peak.halfOpen, stats.quic.halfOpenConnections);
      await sleep(50);
    }
  })();
  const floodStarted = performance.now();
  const flooding = flood(attacker, worker.port, initials);
  // The honest request leaves once a quarter of the flood is out.
  while (attacker.counts.datagramsSent < size / 4) await sleep(5);
  const during = await honest();
  await flooding;
  const floodEnded = performance.now();
  const floodMs = floodEnded - floodStarted;
  // The worker reads the flood from its socket buffer for a while after the last datagram left;
  // then its half-open connections wait out the handshake timeout.
  let duringStats = await worker.stats();
  for (let last = -1; duringStats.quic.datagramsReceived !== last && performance.now() - floodEnded < 60_000; ) {
    last = duringStats.quic.datagramsReceived;
    await sleep(200);
    duringStats = await worker.stats();
  }
  const caughtUpMs = performance.now() - floodEnded;
  for (let waited = 0; (await worker.stats()).quic.halfOpenConnections > 0 && waited < 60_000; waited += 200) await sleep(200);
  const emptiedMs = performance.now() - floodEnded;
  sampling = false;
  await sampler;
  const after = await worker.stats(true);
  const result: FloodResult = {
    label,
    baseline,
    peak,
    during: duringStats,
    after,
    honestMs: during.ms,
    honestEarly: during.early,
    calmMs: calm.ms,
    bytesIn: attacker.counts.sent,
    bytesOut: attacker.counts.received,
    size,
    floodMs,
    caughtUpMs,
    emptiedMs,
    rssAfterRounds: [after.rss],
  };
  // More rounds of the same flood (the same Initials: their connections are gone): the memory
  // freed after one round must serve the next, not add to it.
  for (let round = 2; round <= rounds; round++) {
    await flood(attacker, worker.port, initials);
    let last = -1;
    for (let stats = await worker.stats(); stats.quic.datagramsReceived !== last || stats.quic.halfOpenConnections > 0; stats = await worker.stats()) {
      last = stats.quic.datagramsReceived;
      await sleep(200);
    }
    result.rssAfterRounds.push((await worker.stats(true)).rss);
  }
  await attacker.close();
  await invoker.close();
  await worker.close();
  return result;
}

/**
 * Memory of a half-open connection, without churn: `count` Initials into a worker that keeps them
 * all (Retry off, room for all of them, no handshake timeout), RSS and heap after GC.
 */
async function memoryPerHalfOpen(count: number): Promise<{ count: number; held: number; rssPer: number; heapPer: number }> {
  const provisioned = await generator.provision({ functionName: 'victim', instanceId: 'mem', hosts: ['127.0.0.1'] });
  const worker = await startWorker(provisioned, { retry: false, maxHalfOpenConnections: count, handshakeTimeoutMs: 0 });
  const initials = genuineInitials(count, attackerConfig, provisioned.serverName);
  const before = await worker.stats(true);
  const attacker = await openSilentPeer();
  // Slowly enough that the kernel drops none: each costs the worker a TLS handshake.
  await flood(attacker, worker.port, initials, 5);
  let stats = await worker.stats();
  for (let last = -1; stats.quic.datagramsReceived !== last; ) {
    last = stats.quic.datagramsReceived;
    await sleep(300);
    stats = await worker.stats();
  }
  const after = await worker.stats(true);
  const held = after.quic.halfOpenConnections;
  await attacker.close();
  await worker.close();
  return { count, held, rssPer: (after.rss - before.rss) / held, heapPer: (after.heapUsed - before.heapUsed) / held };
}

interface AmplificationResult {
  label: string;
  initials: number;
  bytesIn: number;
  bytesOut: number;
  datagramsOut: number;
  limited: number;
}

async function amplificationScenario(label: string, count: number, hosts: string[], admission: Admission, waitMs: number): Promise<AmplificationResult> {
  const provisioned = await generator.provision({ functionName: 'victim', instanceId: 'amp', hosts: ['127.0.0.1', ...hosts] });
  const worker = await startWorker(provisioned, admission);
  const attacker = await openSilentPeer();
  for (let i = 0; i < count; i++) await attacker.send(genuineInitial(attackerConfig, provisioned.serverName), worker.port);
  await sleep(waitMs);
  const stats = await worker.stats();
  const result = {
    label,
    initials: count,
    bytesIn: attacker.counts.sent,
    bytesOut: attacker.counts.received,
    datagramsOut: attacker.counts.datagramsReceived,
    limited: stats.quic.amplificationLimited,
  };
  await attacker.close();
  await worker.close();
  return result;
}

// ---- Slow headers (issue 12 item 7) -------------------------------------------------------------
// An authenticated client (it holds an invoker certificate) opens streams whose HEADERS frame
// announces a full 64 KiB section and sends it one byte short, then stays silent: what the worker
// holds while the header-section limits (headersTimeoutMs, maxUnfinishedHeaderBytes) act.
interface SlowHeadersResult {
  connections: number;
  streams: number;
  before: WorkerStats;
  during: WorkerStats;
  later: WorkerStats;
  after: WorkerStats;
  holdMs: number;
  /** An honest invoker's fresh-connection GET 1 s into the attack, and before it. */
  honestMs: number;
  calmMs: number;
}

async function slowHeadersScenario(connectionCount: number, streamsPerConnection: number, holdMs: number): Promise<SlowHeadersResult> {
  const provisioned = await generator.provision({ functionName: 'victim', instanceId: 'slow', hosts: ['127.0.0.1'] });
  const worker = await startWorker(provisioned, {});
  const { invoker, request } = honestInvoker(provisioned, worker.port);
  const honest = async () => {
    const { ms } = await request();
    // Its connection must not count among the attacker's below.
    invoker.closeIdleConnections();
    return ms;
  };
  await honest();
  const calmMs = await honest();
  const before = await worker.stats(true);
  const client = await createQuicClient();
  const config = createQuicConfig({ role: 'client', caPem: ca.certPem, certificate: invokerCertificate });
  const announced = 65_536;
  const partial = Buffer.concat([encodeFrameHeader(frameType.headers, announced), Buffer.alloc(announced - 1, 0x61)]);
  const connections: QuicConnection[] = [];
  for (let c = 0; c < connectionCount; c++) {
    const connection = client.connect({ host: '127.0.0.1', port: worker.port, serverName: provisioned.serverName, config });
    connections.push(connection);
    await connection.handshake;
    for (let i = 0; i < streamsPerConnection; i++) {
      const stream = await connection.openBidirectionalStream();
      void stream.write(partial).catch(() => undefined);
    }
  }
  await sleep(1000);
  const during = await worker.stats();
  const honestMs = await honest();
  await sleep(holdMs);
  const later = await worker.stats();
  await client.close();
  await invoker.close();
  // Past the worker's closing period for those connections.
  await sleep(2000);
  const after = await worker.stats(true);
  await worker.close();
  return { connections: connectionCount, streams: streamsPerConnection, before, during, later, after, holdMs, honestMs, calmMs };
}

const slowHeadersRows = (r: SlowHeadersResult): string[] => {
  const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
  return [
    `${r.connections} connections × ${r.streams} streams, each a HEADERS frame announcing 65,536 bytes and sent one byte short (${((r.connections * r.streams * 65_536) / 2 ** 20).toFixed(0)} MiB announced):`,
    '',
    '| worker RSS before → 1 s in → 2 s after the clients closed (GC) | worker heap at 1 s | unfinished sections / bytes buffered at 1 s | connections closed by the 1 MiB cap / streams cut by the 10 s header timeout | connections open after 1 s / after ' + `${((r.holdMs + 1000) / 1000).toFixed(0)} s / after the clients closed | honest request 1 s in |`,
    '|---|---|---|---|---|---|',
    `| ${mb(r.before.rss)} → ${mb(r.during.rss)} → ${mb(r.after.rss)} | ${mb(r.during.heapUsed)} | ${r.during.headerSections.unfinished} / ${(r.during.headerSections.bufferedBytes / 1024).toFixed(0)} KiB | ${r.later.headerSections.connectionsOverCap} / ${r.later.headerSections.timedOut} | ${r.during.quic.connections} / ${r.later.quic.connections} / ${r.after.quic.connections} | ${r.honestMs.toFixed(1)} ms (calm: ${r.calmMs.toFixed(1)} ms) |`,
  ];
};

const started = performance.now();
const floods = [
  await floodScenario('defaults (Retry from 100 half-open, 5 s handshake timeout)', {}, floodSize, 3),
  // Every Initial costs a TLS handshake here (about 2 ms of CPU): a smaller flood keeps the run short.
  await floodScenario(`Retry off (only maxHalfOpenConnections ${defaultAdmission.maxHalfOpenConnections} and the handshake timeout)`, { retry: false }, 3000),
];
const longNames = Array.from({ length: 300 }, (_, i) => `h${i}.a-rather-long-host-name.qfaas.internal`);
// The handshake timeout is off so that only the 3x limit stops the probes; 6 s covers the PTOs at
// 1, 2 and 5 s that took one Initial to 4.7x before the limit existed.
const ampAdmission: Admission = { handshakeTimeoutMs: 0, retry: false };
const amplification = [
  await amplificationScenario('one Initial', 1, [], ampAdmission, 6000),
  await amplificationScenario('200 Initials, one socket', 200, [], ampAdmission, 6000),
  await amplificationScenario('one Initial, 13 KB certificate', 1, longNames, ampAdmission, 6000),
  await amplificationScenario('one Initial, default settings', 1, [], {}, 6000),
];
const perHalfOpen = await memoryPerHalfOpen(1000);
// Over the cap (6.5 MB of unfinished sections per connection), and under it, held past the timeout.
const slowHeaders = [await slowHeadersScenario(10, 100, 5000), await slowHeadersScenario(10, 12, 11_000)];
const elapsedS = (performance.now() - started) / 1000;

const m = (bytes: number) => `${(bytes / mib).toFixed(0)} MiB`;
const floodRows = floods.map((f) => {
  const growth = f.peak.rss - f.baseline.rss;
  return (
    `| ${f.label} | ${f.size.toLocaleString('en')} | ${f.peak.connections} / ${f.peak.halfOpen} | ${f.during.quic.retriesSent} | ` +
    `${m(f.baseline.rss)} → ${m(f.peak.rss)} → ${m(f.after.rss)} | ${f.peak.halfOpen > 0 ? `${(growth / f.peak.halfOpen / 1024).toFixed(0)} KiB` : '—'} | ` +
    `${(f.bytesOut / f.bytesIn).toFixed(3)} | ${f.honestMs.toFixed(0)} ms${f.honestEarly ? ' (0-RTT)' : ''} (calm: ${f.calmMs.toFixed(1)} ms) | ` +
    `${(f.floodMs / 1000).toFixed(1)} s | ${(f.during.quic.datagramsReceived - f.baseline.quic.datagramsReceived).toLocaleString('en')} | ` +
    `${Math.round((f.during.quic.datagramsReceived - f.baseline.quic.datagramsReceived) / ((f.floodMs + f.caughtUpMs) / 1000)).toLocaleString('en')} | ` +
    `${(f.emptiedMs / 1000).toFixed(1)} s | ${m(f.baseline.heapUsed)} → ${m(f.after.heapUsed)} | ${f.rssAfterRounds.map(m).join(', ')} | ${f.after.quic.connections} |`
  );
});
const ampRows = amplification.map(
  (a) => `| ${a.label} | ${a.bytesIn} | ${a.bytesOut} in ${a.datagramsOut} datagrams | ${(a.bytesOut / a.bytesIn).toFixed(2)}x | ${a.limited} |`,
);
const markdown = [
  '## Floods and amplification: measured',
  '',
  `\`npm run bench:attack\` (${elapsedS.toFixed(0)} s). Machine: ${machineLine()} (2 cores shared with other work). The worker is`,
  'a `createHandlerServer` in a child process; the attacker sends genuine Initials (made by quiche',
  'clients without a certificate) from one UDP socket that never answers; the honest invoker',
  'resumes a provisioned session (0-RTT when no Retry intervenes).',
  '',
  `Memory per half-open connection: ${perHalfOpen.held} held at once (Retry off, no handshake timeout, no eviction), measured after GC: ` +
    `**${(perHalfOpen.rssPer / 1024).toFixed(0)} KiB of RSS** each, of which ${(perHalfOpen.heapPer / 1024).toFixed(1)} KiB JavaScript heap ` +
    `(the rest is quiche and BoringSSL). With the default \`maxHalfOpenConnections\` of ${defaultAdmission.maxHalfOpenConnections}: at most ` +
    `${((perHalfOpen.rssPer * defaultAdmission.maxHalfOpenConnections) / mib).toFixed(0)} MiB.`,
  '',
  'Floods of 1,200-byte Initials (peak RSS growth per peak half-open connection also counts what the',
  'flood churned through: evicted and timed-out connections whose memory the allocator kept):',
  '',
  '| worker settings | Initials | peak connections / half-open | Retries sent | worker RSS before → peak → after GC | peak RSS growth per peak half-open connection | bytes back per byte of flood | honest request during the flood | flood sent in | datagrams the worker read (the kernel dropped the rest) | read per second | no half-open left, after the last Initial | worker heap before → after GC | worker RSS after GC, after each round of the same flood | connections left |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ...floodRows,
  '',
  'Amplification (Retry and handshake timeout off, so that only the 3x limit holds the server back;',
  'bytes counted on the attacker\'s socket for 6 s):',
  '',
  '| case | bytes sent by the attacker | bytes back | ratio | datagrams held back by the limit |',
  '|---|---|---|---|---|',
  ...ampRows,
  '',
  'Slow headers, with the default header-section limits (10 s timeout, 1 MiB of unfinished sections per connection):',
  '',
  ...slowHeadersRows(slowHeaders[0] as SlowHeadersResult),
  '',
  ...slowHeadersRows(slowHeaders[1] as SlowHeadersResult),
].join('\n');
console.log(markdown);
if (!quick) writeSection('bench:attack', markdown, new URL('../../docs/security.md', import.meta.url));
