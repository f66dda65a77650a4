/**
 * npm run bench:fig8 — the paper's Fig. 8: nested chains of length 1–6 through the mini-platform
 * (examples/mini-platform, run by the harness in bench/platform), its internal hops over node:http (TCP), node:https (TCP + TLS 1.3) and
 * qfaas (QUIC, HTTP/3). With root, one delay link (`--delay-us=N`, default 500 µs one way): the
 * gateways outside, every worker inside the link's namespace, so each hop crosses the link. The
 * chain of length k is `f(7−k)` → … → `f6`, invoked through the gateway's own hop client.
 *
 * Two ways to run the hops, each on its own three platforms:
 *   - new connections (the paper's non-continuous chains, docs/bench/fig8.json): every hop opens a
 *     new connection resuming its session (the harness's connections 'new');
 *   - kept connections (continuous, docs/bench/fig8-warm.json): every hop reuses a pooled one.
 *
 * Round trips a chain of length k cannot avoid: the gateway's call to the first function, then
 * for each of the k − 1 nested calls worker → gateway and gateway → worker: 2k − 1 hops, each 1
 * round trip on a kept connection or in 0-RTT, 2 over a new TCP connection, 3 with TLS 1.3 on top.
 * The floor of a point is those round trips × the link's measured RTT + the same chain at zero
 * delay less its hops' round trips there (the server time; a short pass after the main one).
 *
 * Without root: loopback, no link, no floor. Writes docs/bench/fig8.json and fig8-warm.json and a
 * section of docs/performance.md; `--quick`: new connections only, chains of 1 and 6, 10 samples, nothing written.
 */
import type { GatewayHops } from '../../examples/mini-platform/hops.js';
import type { MiniPlatform } from '../../examples/mini-platform/platform.js';
import type { QuicHops } from '../../examples/mini-platform/quic-hops.js';
import { figurePoint, findPoint, formatPoint, type FigureJson, type FigurePoint } from './figure.js';
import { unavoidableRoundTrips as rt } from './floor.js';
import { interleaved, type Exchange } from '../lib/interleaved.js';
import { checkedLink, figureDelayUs, measureLink, type LinkMeasurement } from '../link/checked-link.js';
import { machineLine, progress, reportResults, writeBenchJson, type ResultRow } from '../lib/report.js';
import { summarize, type Summary } from '../lib/stats.js';
import { startBenchPlatform } from '../platform/bench-platform.js';
import type { HttpScheme } from '../platform/http-hops.js';

const runStarted = performance.now();
const quick = process.argv.includes('--quick');
const samples = quick ? 10 : 100;
const zeroDelayRounds = quick ? 5 : 30;
const delayUs = figureDelayUs();

type Mode = 'new' | 'kept';
interface Variant {
  mode: Mode;
  hops: 'quic' | HttpScheme;
  /** The series name in its figure. */
  transport: string;
  /** Round trips per hop. */
  perHop: number;
}
const allVariants: Variant[] = [
  { mode: 'new', hops: 'http', transport: 'node:http', perHop: rt.tcp },
  { mode: 'new', hops: 'https', transport: 'node:https TLS 1.3', perHop: rt.tls13 },
  { mode: 'new', hops: 'quic', transport: 'qfaas 0-RTT', perHop: rt.quicZeroRtt },
  { mode: 'kept', hops: 'http', transport: 'node:http', perHop: rt.warm },
  { mode: 'kept', hops: 'https', transport: 'node:https TLS 1.3', perHop: rt.warm },
  { mode: 'kept', hops: 'quic', transport: 'qfaas', perHop: rt.warm },
];
// Quick smoke runs: the paper's scenario only, two lengths (starting 36 workers alone takes ~20 s).
const variants = quick ? allVariants.filter((variant) => variant.mode === 'new') : allVariants;
const modes: Mode[] = quick ? ['new'] : ['new', 'kept'];
const lengths: readonly number[] = quick ? [1, 6] : [1, 2, 3, 4, 5, 6];
/** Chain of length k: f(7−k) → … → f6, answering e.g. 'f4>f5>f6'. */
const entry = (k: number) => `f${7 - k}`;
const expected = (k: number) => Array.from({ length: k }, (_, i) => `f${7 - k + i}`).join('>');
const caseName = (variant: Variant, k: number) => `${variant.mode} ${variant.transport}, chain of ${k}`;
const hopsOf = (k: number) => 2 * k - 1;

interface ZeroRttCount {
  gatewayToWorker: { early: number; of: number };
  workerToGateway: { early: number; of: number };
}

const checked = delayUs === undefined ? undefined : await checkedLink(delayUs, { strict: !quick });
const link = checked?.link;
const selfChecks = checked === undefined ? ['loopback, no link'] : [checked.line];
const platforms = new Map<Variant, MiniPlatform<GatewayHops>>();
let main: Map<string, number[]>;
let zeroDelay: Map<string, number[]> | undefined;
let zero: LinkMeasurement | undefined;
const zeroRtt = new Map<Mode, ZeroRttCount>();
try {
  for (const variant of variants) {
    platforms.set(variant, await startBenchPlatform({ idleMs: 3_600_000, hops: variant.hops, connections: variant.mode, ...(link === undefined ? {} : { link }) }));
  }
  const platform = (variant: Variant) => platforms.get(variant) as MiniPlatform<GatewayHops>;
  const chain =
    (variant: Variant, k: number): Exchange =>
    async () => {
      const response = await platform(variant).invoke(entry(k));
      const text = await response.text();
      if (response.status !== 200 || text !== expected(k)) throw new Error(`${caseName(variant, k)} answered ${response.status} '${text}'`);
    };
  console.log(`starting ${variants.length * 6} workers${link === undefined ? '' : ` in namespace ${link.namespace}`} …`);
  await Promise.all(variants.flatMap((variant) => [1, 2, 3, 4, 5, 6].map((k) => platform(variant).instanceFor(entry(k)))));
  // Warm-up: the JIT, every session and (kept) every pooled connection.
  for (let i = 0; i < (quick ? 3 : 10); i++) for (const variant of variants) await chain(variant, 6)();

  const quicCounters = (mode: Mode) => {
    const quic = platform(variants.find((variant) => variant.mode === mode && variant.hops === 'quic') as Variant).hops as QuicHops;
    return { invoker: quic.client.metrics(), gateway: quic.chainGateway.metrics() };
  };
  const before = new Map(modes.map((mode) => [mode, quicCounters(mode)]));
  const cases = lengths.flatMap((k) => variants.map((variant) => [caseName(variant, k), chain(variant, k)] as const));
  main = await interleaved(cases, samples, (round) => progress(`chains at ${delayUs ?? 0} µs`, round, samples));
  for (const mode of modes) {
    const start = before.get(mode) as ReturnType<typeof quicCounters>;
    const now = quicCounters(mode);
    zeroRtt.set(mode, {
      gatewayToWorker: { early: now.invoker.earlyDataRequests - start.invoker.earlyDataRequests, of: now.invoker.requests - start.invoker.requests },
      workerToGateway: { early: now.gateway.earlyDataCalls - start.gateway.earlyDataCalls, of: now.gateway.calls - start.gateway.calls },
    });
  }
  if (link !== undefined && delayUs !== undefined) {
    // The server time: the same chains through the same link at zero delay.
    zero = await measureLink(link, 0, { strict: !quick });
    selfChecks.push(zero.line);
    zeroDelay = await interleaved(cases, zeroDelayRounds, (round) => progress('chains at 0 µs (server time)', round, zeroDelayRounds));
  }
} finally {
  await Promise.all([...platforms.values()].map((platform) => platform.stop()));
  await link?.close();
}

const summaries = new Map([...main].map(([name, values]) => [name, summarize(values)]));
const summary = (variant: Variant, k: number) => summaries.get(caseName(variant, k)) as Summary;
const floorMs = (variant: Variant, k: number): number | undefined => {
  if (zeroDelay === undefined || zero === undefined || checked === undefined) return undefined;
  const roundTrips = hopsOf(k) * variant.perHop;
  const serverMs = Math.max(0, summarize(zeroDelay.get(caseName(variant, k)) as number[]).median - roundTrips * zero.rttMs);
  return roundTrips * checked.rttMs + serverMs;
};
const machine = machineLine();
const where = delayUs === undefined ? 'loopback' : `${delayUs} µs one way`;
const figureOf = (mode: Mode): FigureJson => ({
  name: mode === 'new' ? 'fig8' : 'fig8-warm',
  title: `Fig. 8: nested chains through the mini-platform, ${mode === 'new' ? 'a new connection on every hop' : 'kept connections'} (${where})`,
  machine,
  selfChecks,
  x: { label: 'chain length (functions)', kind: 'quantitative' },
  unit: 'ms',
  series: variants
    .filter((variant) => variant.mode === mode)
    .map((variant) => ({ transport: variant.transport, points: lengths.map((k) => figurePoint(k, summary(variant, k), floorMs(variant, k))) })),
  paper:
    mode === 'new'
      ? 'Paper (Fig. 8, 0.5 ms): QFaaS 40% below OpenFaaS with TCP+TLS for a chain of 6.'
      : 'Continuous chains (every hop on a kept connection); the paper’s Fig. 8 number is for new connections.',
});
const figures = modes.map(figureOf);

const rows: ResultRow[] = [];
for (const figure of figures) {
  const median = (transport: string, k: number) => findPoint(figure, transport, k)?.median ?? Number.NaN;
  const qfaas = figure.series.find((series) => series.transport.startsWith('qfaas'))?.transport as string;
  for (const k of lengths) {
    for (const series of figure.series) {
      rows.push([`${figure.name}, chain of ${k}: ${series.transport}`, formatPoint(findPoint(figure, series.transport, k) as FigurePoint), '']);
    }
    const target = figure.name === 'fig8' && k === 6 && delayUs === 500;
    rows.push([`${figure.name}, chain of ${k}: ${qfaas} / node:https TLS 1.3`, (median(qfaas, k) / median('node:https TLS 1.3', k)).toFixed(2), target ? '≤ 0.55' : '']);
  }
}
const fraction = ({ early, of }: { early: number; of: number }) => `${early}/${of}`;
for (const mode of modes) {
  const count = zeroRtt.get(mode) as ZeroRttCount;
  rows.push([
    `qfaas, ${mode} connections: requests in 0-RTT during the run`,
    `gateway→worker ${fraction(count.gatewayToWorker)}, worker→gateway ${fraction(count.workerToGateway)}`,
    mode === 'new' ? 'all' : '0 (pooled connections)',
  ]);
}
if (!quick) for (const figure of figures) writeBenchJson(figure.name, figure);
const runSeconds = (performance.now() - runStarted) / 1000;
reportResults({
  section: 'bench:fig8',
  title: `Nested chains through the mini-platform, the paper’s Fig. 8 (\`npm run bench:fig8\`), ${where}`,
  description: `${
    checked === undefined ? 'Gateways and workers on loopback (no root: no link)' : `Gateways outside, workers inside the delay link’s namespace (${selfChecks.join('; ')})`
  }; chains of length k = f(7−k) → … → f6 on ${variants.length} platforms (three transports × new or kept connections), ${samples} samples per point, all ${variants.length * lengths.length} cases interleaved. Floor: the hops’ unavoidable round trips × link RTT + the same chain at zero delay less its round trips there. ${figures[0]?.paper} Full quantiles in docs/bench/fig8.json and fig8-warm.json; run ${runSeconds.toFixed(0)} s.`,
  rows,
  quick,
});
