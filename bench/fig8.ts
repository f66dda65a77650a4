/**
 * npm run bench:fig8 — the paper's Fig. 8: nested chains of length 1–6 through the mini-platform
 * (examples/mini-platform), its internal hops over node:http (TCP), node:https (TCP + TLS 1.3) and
 * qfaas (QUIC, HTTP/3). With root, one delay link (`--delay-us=N`, default 500 µs one way): the
 * gateways outside, every worker inside the link's namespace, so each hop crosses the link. The
 * chain of length k is `f(7−k)` → … → `f6`, invoked through the gateway's own hop client.
 *
 * Connections are warm ("continuous" chains): every hop reuses a pooled connection. The paper's
 * scenario, a new connection resuming its session on every hop, needs the chain client to drop its
 * connection between calls, which the library does not offer yet (docs/benchmarks.md, Fig. 8).
 *
 * Round trips of a warm chain of length k: the gateway's request to f(7−k) is 1 RTT; each of the
 * k−1 nested calls adds worker→gateway (1 RTT) and gateway→worker (1 RTT): 2k−1 link RTTs. The
 * floor of a point is (2k−1) × the link's measured added RTT + the same chain measured at zero
 * delay (a short pass after the main one, through the same link: the server time).
 *
 * Without root: loopback, no link, no floor. Writes docs/bench/fig8.json (fig8@N.json for another
 * delay) and a section of docs/performance.md; `--quick`: 20 samples per point, nothing written.
 */
import type { ChainGateway } from 'qfaas/chain';
import { getTransportInfo, type InvokerClient } from 'qfaas/invoker-client';
import type { HttpHops } from '../examples/mini-platform/http-hops.js';
import { MiniPlatform } from '../examples/mini-platform/platform.js';
import type { FigureJson, FigureSeries } from './figure.js';
import { interleaved, type Exchange } from './hop-rig.js';
import { checkedLink, describeSelfCheck, linkDelayArgument } from './link/checked-link.js';
import { isRoot } from './link/delay-link.js';
import { machineLine, progress, reportResults, writeBenchJson, type ResultRow } from './report.js';
import { formatSummary, summarize, type Summary } from './stats.js';

const runStarted = performance.now();
const quick = process.argv.includes('--quick');
const samples = quick ? 20 : 100;
const zeroDelayRounds = quick ? 5 : 30;
const warmupChains = quick ? 3 : 10;
const root = isRoot();
if (!root) console.log('The delay link needs root (network namespaces and TUN devices): the platforms run on loopback, with no link.');
const delayUs = root ? (linkDelayArgument() ?? 500) : undefined;

const transports = [
  { series: 'node:http', hops: 'http' },
  { series: 'node:https TLS 1.3', hops: 'https' },
  { series: 'qfaas', hops: 'quic' },
] as const satisfies ReadonlyArray<{ series: string; hops: 'quic' | HttpHops }>;
type Series = (typeof transports)[number]['series'];
const lengths = [1, 2, 3, 4, 5, 6] as const;
/** Chain of length k: f(7−k) → … → f6, answering e.g. 'f4>f5>f6'. */
const entry = (k: number) => `f${7 - k}`;
const expected = (k: number) => Array.from({ length: k }, (_, i) => `f${7 - k + i}`).join('>');
const caseName = (series: Series, k: number) => `${series}, chain of ${k}`;
const functionNames = lengths.map(entry);

interface ZeroRttCount {
  /** The end-user-facing request (the gateway's hop client to the chain's first worker). */
  topLevel: { early: number; of: number };
  /** Every gateway→worker request (top-level and nested), from the gateway invoker's metrics. */
  gatewayToWorker: { early: number; of: number };
  /** Worker→gateway calls that arrived in 0-RTT, from the chain gateway's metrics. */
  workerToGateway: { early: number; of: number };
}

const checked = delayUs === undefined ? undefined : await checkedLink(delayUs, { strict: !quick });
const link = checked?.link;
const selfChecks = checked === undefined ? ['loopback, no link'] : [checked.line];
const platforms = new Map<Series, MiniPlatform>();
let main: Map<string, number[]>;
let zeroDelay: Map<string, number[]> | undefined;
let addedRttMs: number | undefined;
let coldChain: ZeroRttCount;
let measured: ZeroRttCount;
try {
  const network = link === undefined ? undefined : { gatewayHost: link.outsideAddress, workerHost: link.insideAddress, workerNamespace: link.namespace };
  for (const { series, hops } of transports) {
    platforms.set(series, await MiniPlatform.start({ idleMs: 3_600_000, hops, ...(network === undefined ? {} : { network }) }));
  }
  const platform = (series: Series) => platforms.get(series) as MiniPlatform;
  const qfaas = platform('qfaas');
  const qfaasInvoker = qfaas.invoker as InvokerClient;
  const chainGateway = qfaas.chainGateway as ChainGateway;
  let topLevel = { early: 0, of: 0 };
  const counters = () => ({ invoker: qfaasInvoker.metrics(), gateway: chainGateway.metrics(), topLevel: { ...topLevel } });
  const countSince = (before: ReturnType<typeof counters>): ZeroRttCount => {
    const now = counters();
    return {
      topLevel: { early: now.topLevel.early - before.topLevel.early, of: now.topLevel.of - before.topLevel.of },
      gatewayToWorker: { early: now.invoker.earlyDataRequests - before.invoker.earlyDataRequests, of: now.invoker.requests - before.invoker.requests },
      workerToGateway: { early: now.gateway.earlyDataCalls - before.gateway.earlyDataCalls, of: now.gateway.calls - before.gateway.calls },
    };
  };

  const chain = (series: Series, k: number): Exchange => async () => {
    const response = await platform(series).invoke(entry(k));
    const text = await response.text();
    if (response.status !== 200 || text !== expected(k)) throw new Error(`${caseName(series, k)} answered ${response.status} '${text}'`);
    if (series === 'qfaas') {
      topLevel.of++;
      if (getTransportInfo(response)?.earlyDataAccepted === true) topLevel.early++;
    }
  };

  // Cold start: the six workers of the three platforms start at once (new processes, each with the
  // 0-RTT generator's credentials); the first chain of 6 then shows the first-request 0-RTT.
  console.log(`starting ${transports.length * functionNames.length} workers${network === undefined ? '' : ` in namespace ${network.workerNamespace}`} …`);
  await Promise.all(transports.flatMap(({ series }) => functionNames.map((name) => platform(series).instanceFor(name))));
  const beforeCold = counters();
  for (const { series } of transports) await chain(series, 6)();
  coldChain = countSince(beforeCold);
  // Warm-up: the JIT and every pooled connection, on every platform.
  for (let i = 0; i < warmupChains; i++) for (const { series } of transports) await chain(series, 6)();

  const cases = lengths.flatMap((k) => transports.map(({ series }) => [caseName(series, k), chain(series, k)] as const));
  const before = counters();
  main = await interleaved(cases, samples, (round) => progress(`chains at ${delayUs ?? 0} µs`, round, samples));
  measured = countSince(before);

  if (link !== undefined) {
    // After the run: is the link still right, and what RTT does it add (for the floor)?
    const after = await link.selfCheck();
    addedRttMs = after.addedRttUs / 1000;
    const line = `${describeSelfCheck(after)} (after the run)${after.ok ? '' : ', outside tolerance'}`;
    console.log(line);
    if (!after.ok) console.log('warning: the link left its tolerance during the run; the numbers are not trustworthy');
    selfChecks.push(line);
    // The server time: the same chains through the same link at zero delay.
    await link.setDelay(0);
    zeroDelay = await interleaved(cases, zeroDelayRounds, (round) => progress('chains at 0 µs (server time)', round, zeroDelayRounds));
  }
} finally {
  await Promise.all([...platforms.values()].map((platform) => platform.stop()));
  await link?.close();
}

const summaries = new Map([...main].map(([name, values]) => [name, summarize(values)]));
const summary = (series: Series, k: number) => summaries.get(caseName(series, k)) as Summary;
const median = (series: Series, k: number) => summary(series, k).median;
const zeroDelayMedian = (series: Series, k: number) => (zeroDelay === undefined ? undefined : summarize(zeroDelay.get(caseName(series, k)) as number[]).median);
/** Round trips a warm chain of length k cannot avoid: 1 for the first call, 2 per nested call. */
const roundTrips = (k: number) => 2 * k - 1;
const floorMs = (series: Series, k: number) => {
  const server = zeroDelayMedian(series, k);
  return server === undefined || addedRttMs === undefined ? undefined : roundTrips(k) * addedRttMs + server;
};
const ratio = (series: Series, over: Series, k: number) => median(series, k) / median(over, k);
const fraction = ({ early, of }: { early: number; of: number }) => `${early}/${of}`;

const rows: ResultRow[] = [];
for (const k of lengths) {
  for (const { series } of transports) {
    const floor = floorMs(series, k);
    rows.push([`chain of ${k}: ${series}`, `${formatSummary(summary(series, k))}${floor === undefined ? '' : `; floor ${floor.toFixed(2)} ms`}`, '']);
  }
  rows.push([`chain of ${k}: qfaas / node:https TLS 1.3`, ratio('qfaas', 'node:https TLS 1.3', k).toFixed(2), k === 6 && delayUs === 500 ? '≤ 0.55' : '']);
  rows.push([`chain of ${k}: qfaas / node:http`, ratio('qfaas', 'node:http', k).toFixed(2), '']);
}
rows.push(
  [
    'qfaas, first chain of 6 to cold workers: requests in 0-RTT',
    `gateway→worker ${fraction(coldChain.gatewayToWorker)} (the first ${fraction(coldChain.topLevel)}), worker→gateway ${fraction(coldChain.workerToGateway)}`,
    'all',
  ],
  [
    'qfaas, measured (warm) chains: requests in 0-RTT',
    `gateway→worker ${fraction(measured.gatewayToWorker)} (top-level ${fraction(measured.topLevel)}), worker→gateway ${fraction(measured.workerToGateway)}`,
    '0 (pooled connections)',
  ],
);

const runSeconds = (performance.now() - runStarted) / 1000;
const suffix = delayUs === 500 ? '' : delayUs === undefined ? '@loopback' : `@${delayUs}`;
const floorDefinition =
  'floorMs = (2k − 1) × the link’s added RTT (measured by a self-check after the run) + the median of the same chain at zero delay through the same link (the server time); a warm chain of length k takes 2k − 1 round trips: 1 for the gateway’s call to the first function, 2 for each of the k − 1 nested calls (worker → gateway, gateway → worker).';
const series: FigureSeries[] = transports.map(({ series: transport }) => ({
  transport,
  points: lengths.map((k) => {
    const floor = floorMs(transport, k);
    return { x: k, ...summary(transport, k), ...(floor === undefined ? {} : { floorMs: floor }) };
  }),
}));
const figure: FigureJson & Record<string, unknown> = {
  name: `fig8${suffix}`,
  title: 'Nested chains of length 1–6 through the mini-platform, warm connections (f(7−k) → … → f6)',
  machine: machineLine(),
  selfChecks,
  x: { label: 'chain length (functions)', kind: 'quantitative' },
  unit: 'ms',
  series,
  paper: 'QFaaS cut the latency of a chain of 6 functions by 40% against OpenFaaS with TCP+TLS, at 0.5 ms one-way delay (Fig. 8).',
  delayUs: delayUs ?? null,
  connections: 'warm (continuous): every hop reuses a pooled connection; the paper’s non-continuous chains need a library change (docs/benchmarks.md)',
  samplesPerPoint: samples,
  floor: link === undefined ? 'none on loopback' : floorDefinition,
  addedRttMs: addedRttMs ?? null,
  zeroDelayMedians:
    zeroDelay === undefined ? null : Object.fromEntries(transports.map(({ series: s }) => [s, Object.fromEntries(lengths.map((k) => [k, zeroDelayMedian(s, k)]))])),
  ratios: {
    'qfaas / node:https TLS 1.3': Object.fromEntries(lengths.map((k) => [k, ratio('qfaas', 'node:https TLS 1.3', k)])),
    'qfaas / node:http': Object.fromEntries(lengths.map((k) => [k, ratio('qfaas', 'node:http', k)])),
  },
  target: delayUs === 500 ? 'qfaas / node:https TLS 1.3 ≤ 0.55 for the chain of 6' : null,
  qfaasZeroRtt: { coldChainOf6: coldChain, measuredChains: measured },
  runSeconds,
};
if (!quick) writeBenchJson(`fig8${suffix}`, figure);
reportResults({
  section: `bench:fig8${suffix}`,
  title: `Nested chains through the mini-platform, the paper’s Fig. 8 (\`npm run bench:fig8${delayUs === undefined || delayUs === 500 ? '' : ` -- --delay-us=${delayUs}`}\`)`,
  description: `${
    checked === undefined
      ? 'Gateways and workers on loopback (no root: no link)'
      : `Gateways outside, workers inside the delay link’s namespace, ${delayUs} µs one way (${selfChecks.join('; ')})`
  }; warm connections (every hop reuses a pooled one), chains of length k = f(7−k) → … → f6, ${samples} samples per point, the 18 cases interleaved. ${
    link === undefined ? '' : 'Floor: (2k − 1) link RTTs + the same chain at zero delay. '
  }Paper (Fig. 8, 0.5 ms, non-continuous chains): QFaaS 40% below OpenFaaS with TCP+TLS for a chain of 6. Full quantiles in docs/bench/fig8${suffix}.json.`,
  rows,
  quick,
});
console.log(`fig8 done in ${runSeconds.toFixed(1)} s`);
