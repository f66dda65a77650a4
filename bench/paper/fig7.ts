/**
 * npm run bench:fig7 — the paper's Fig. 7: a GET on a new connection over one-way delays of
 * 0–3 ms, for node:http (TCP), node:https TLS 1.2 and TLS 1.3 (session cache) and qfaas in 0-RTT.
 * One delay link and one server process for the whole sweep; the link is re-checked at each delay.
 * At zero delay the warm exchanges are measured too: they give the floors' end time. Without root:
 * the zero-delay point on loopback only. Writes docs/bench/fig7.json and a section of
 * docs/performance.md. `--quick`: 12 samples per point, nothing written.
 */
import { figurePoint, findPoint, formatPoint, type FigureJson, type FigurePoint } from './figure.js';
import { endTimeMs, physicalFloorMs, unavoidableRoundTrips as rt } from './floor.js';
import { startHopRig } from '../hop/hop-rig.js';
import { measureInterleaved, type Exchange } from '../lib/interleaved.js';
import { createDelayLink, isRoot } from '../link/delay-link.js';
import { measureLink } from '../link/checked-link.js';
import { machineLine, reportResults, writeBenchJson, type ResultRow } from '../lib/report.js';
import type { Summary } from '../lib/stats.js';

const quick = process.argv.includes('--quick');
const samples = quick ? 12 : 100;
const root = isRoot();
if (!root) console.log('The delay link needs root: measuring the zero-delay point on loopback only.');
const delaysUs = root ? [0, 250, 500, 1000, 2000, 3000] : [0];

const link = root ? await createDelayLink() : undefined;
const rig = await startHopRig(link);
const x = rig.exchanges;
const quicGo = rig.quicGo?.exchanges;
const transports: Array<readonly [string, Exchange, Exchange, number]> = [
  ['node:http', x.httpGet, x.httpWarmGet, rt.tcp],
  ['node:https TLS 1.2', x.tls12Get, x.tls12WarmGet, rt.tls12Resumed],
  ['node:https TLS 1.3', x.tls13Get, x.tls13WarmGet, rt.tls13],
  ['qfaas 0-RTT', x.qfaasZeroRttGet, x.qfaasWarmGet, rt.quicZeroRtt],
];
if (quicGo !== undefined) transports.push(['quic-go HTTP/3', quicGo.zeroRttGet, quicGo.warmGet, rt.quicZeroRtt]);
const cases = transports.map(([name, fresh]) => [name, fresh] as const);

interface Point {
  delayUs: number;
  rttMs: number;
  results: Map<string, Summary>;
}
const points: Point[] = [];
const selfChecks: string[] = [];
const endMs = new Map<string, number>();
try {
  for (const delayUs of delaysUs) {
    const measured = link === undefined ? { line: 'loopback, no link', rttMs: 0 } : await measureLink(link, delayUs, { strict: !quick });
    selfChecks.push(`${delayUs} µs: ${measured.line}`);
    const withWarm = delayUs === 0 ? [...cases, ...transports.map(([name, , warm]) => [`${name} warm`, warm] as const)] : cases;
    const results = await measureInterleaved(rig, withWarm, { warmupRounds: 10, rounds: samples, label: `Fig. 7, ${delayUs} µs` });
    if (delayUs === 0) for (const [name] of transports) endMs.set(name, endTimeMs((results.get(`${name} warm`) as Summary).median, measured.rttMs));
    points.push({ delayUs, rttMs: measured.rttMs, results });
  }
} finally {
  await rig.close();
  await link?.close();
}

const figure: FigureJson = {
  name: 'fig7',
  title: 'Fig. 7: GET on a new connection over one-way delays of 0–3 ms',
  machine: machineLine(),
  selfChecks,
  x: { label: 'one-way delay (µs)', kind: 'quantitative' },
  unit: 'ms',
  series: transports.map(([name, , , roundTrips]) => ({
    transport: name,
    points: points.map((point) => figurePoint(point.delayUs, point.results.get(name) as Summary, physicalFloorMs(roundTrips, point.rttMs, endMs.get(name) as number))),
  })),
  paper: 'Paper (Fig. 7): QFaaS 17% below TCP+TLS even at zero delay.',
};
const rows: ResultRow[] = [];
for (const point of points) {
  const m = (name: string) => (point.results.get(name) as Summary).median;
  for (const series of figure.series) {
    rows.push([`${point.delayUs} µs: ${series.transport}`, formatPoint(findPoint(figure, series.transport, point.delayUs) as FigurePoint), '']);
  }
  const floorOf = findPoint(figure, 'qfaas 0-RTT', point.delayUs)?.floorMs ?? Number.NaN;
  rows.push([`${point.delayUs} µs: qfaas 0-RTT / TLS 1.3`, (m('qfaas 0-RTT') / m('node:https TLS 1.3')).toFixed(2), point.delayUs === 500 ? '≤ 0.65' : '']);
  rows.push([`${point.delayUs} µs: qfaas 0-RTT / node:http`, (m('qfaas 0-RTT') / m('node:http')).toFixed(2), point.delayUs === 500 ? '≤ 1.0' : '']);
  rows.push([`${point.delayUs} µs: qfaas 0-RTT / its floor`, (m('qfaas 0-RTT') / floorOf).toFixed(2), point.delayUs === 500 ? '≤ 1.3' : '']);
}
if (!quick) writeBenchJson('fig7', figure);
reportResults({
  section: 'bench:fig7',
  title: 'GET on a new connection over one-way delays of 0–3 ms, the paper’s Fig. 7 (`npm run bench:fig7`)',
  description: `${root ? 'Servers in a network namespace behind the delay link, re-checked at each delay' : 'Loopback only (no root)'}; ${samples} samples per point, transports interleaved; 100-byte responses. Floors: unavoidable round trips × the link’s measured RTT + each transport’s warm exchange at zero delay less that RTT. Self-checks: ${selfChecks.join('; ')}. ${figure.paper}`,
  rows,
  quick,
});
