/**
 * npm run bench:fig7 — the paper's Fig. 7: a GET on a new connection over one-way delays of
 * 0–3 ms, for node:http (TCP), node:https TLS 1.2 and TLS 1.3 (session cache) and qfaas in 0-RTT.
 * One delay link and one server process for the whole sweep; the link is re-checked at each delay.
 * Without root: the zero-delay point on loopback only. Writes docs/bench/fig7.json and a section of
 * docs/performance.md. `--quick`: 30 samples per point, nothing written.
 */
import { measureInterleaved, startHopRig } from './hop-rig.js';
import { createDelayLink, isRoot } from './link/delay-link.js';
import { checkLink } from './link/checked-link.js';
import { machineLine, reportResults, writeBenchJson, type ResultRow } from './report.js';
import { formatSummary, type Summary } from './stats.js';

const quick = process.argv.includes('--quick');
const samples = quick ? 30 : 100;
const root = isRoot();
if (!root) console.log('The delay link needs root: measuring the zero-delay point on loopback only.');
const delaysUs = root ? [0, 250, 500, 1000, 2000, 3000] : [0];

const link = root ? await createDelayLink() : undefined;
const rig = await startHopRig(link);
const x = rig.exchanges;
const cases = [
  ['node:http', x.httpGet],
  ['node:https TLS 1.2', x.tls12Get],
  ['node:https TLS 1.3', x.tls13Get],
  ['qfaas 0-RTT', x.qfaasZeroRttGet],
] as const;

interface Point {
  delayUs: number;
  selfCheck: string;
  results: Record<string, Summary>;
}
const points: Point[] = [];
try {
  for (const delayUs of delaysUs) {
    const selfCheck = link === undefined ? 'loopback, no link' : await checkLink(link, delayUs, { strict: !quick });
    const results = await measureInterleaved(rig, cases, { warmupRounds: 10, rounds: samples, label: `delay ${delayUs} µs` });
    points.push({ delayUs, selfCheck, results: Object.fromEntries(results) });
  }
} finally {
  await rig.close();
  await link?.close();
}

const rows: ResultRow[] = [];
for (const point of points) {
  for (const [name] of cases) rows.push([`${point.delayUs} µs: ${name}`, formatSummary(point.results[name] as Summary), '']);
  const m = (name: string) => (point.results[name] as Summary).median;
  rows.push([`${point.delayUs} µs: qfaas 0-RTT / TLS 1.3`, (m('qfaas 0-RTT') / m('node:https TLS 1.3')).toFixed(2), point.delayUs === 500 ? '≤ 0.65' : '']);
  rows.push([`${point.delayUs} µs: qfaas 0-RTT / node:http`, (m('qfaas 0-RTT') / m('node:http')).toFixed(2), point.delayUs === 500 ? '≤ 1.0' : '']);
}
if (!quick) writeBenchJson('fig7', { machine: machineLine(), samplesPerPoint: samples, points });
reportResults({
  section: 'bench:fig7',
  title: 'GET on a new connection over one-way delays of 0–3 ms, the paper’s Fig. 7 (`npm run bench:fig7`)',
  description: `${root ? 'Servers in a network namespace behind the delay link, re-checked at each delay' : 'Loopback only (no root)'}; ${samples} samples per point, transports interleaved; 100-byte responses. Per-point self-checks and all quantiles are in docs/bench/fig7.json. Paper (Fig. 7): QFaaS 17% below TCP+TLS even at zero delay.`,
  rows,
  quick,
});
