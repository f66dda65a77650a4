/**
 * npm run bench:fig5d — the paper's Fig. 5d: a 1 MiB response on a new connection, node:http,
 * node:https TLS 1.2 and 1.3 (session cache), qfaas in 0-RTT and quic-go, interleaved, over the
 * delay link (default 500 µs one way, the paper's; `--delay-us=N` to change; loopback without
 * root). Floors count the handshake and request round trips only (slow start's extra round trips
 * are left out, so the floor is a lower bound). Writes docs/bench/fig5d.json and a
 * docs/performance.md section; `--quick`: 20 samples, nothing written. `--mtu=9000`: the link
 * carries jumbo frames and qfaas sends datagrams of MTU − 48 bytes (`transport.maxUdpPayloadSize`);
 * TCP's segments grow with the MTU by themselves. That run writes its own section and no JSON.
 */
import { figurePoint, findPoint, formatPoint, type FigureJson, type FigurePoint } from './figure.js';
import { endTimeMs, physicalFloorMs, unavoidableRoundTrips as rt } from './floor.js';
import { startHopRig } from '../hop/hop-rig.js';
import { measureInterleaved, type Exchange } from '../lib/interleaved.js';
import { checkedLink, figureDelayUs, linkMtuArgument, measureLink, type LinkMeasurement } from '../link/checked-link.js';
import { machineLine, reportResults, writeBenchJson, type ResultRow } from '../lib/report.js';
import type { Summary } from '../lib/stats.js';

const quick = process.argv.includes('--quick');
const samples = quick ? 20 : 100;
const delayUs = figureDelayUs();
const mtu = linkMtuArgument();
if (mtu !== undefined && delayUs === undefined) throw new Error('--mtu needs the delay link (root)');
const checked = delayUs === undefined ? undefined : await checkedLink(delayUs, { strict: !quick, ...(mtu === undefined ? {} : { mtu }) });
// IPv6 and UDP headers: the datagram that fills a frame of either IP version.
const udpPayloadSize = mtu === undefined ? undefined : mtu - 48;
const rig = await startHopRig(checked?.link, udpPayloadSize === undefined ? {} : { udpPayloadSize });
const x = rig.exchanges;
const transports = [
  ['node:http', x.httpLargeGet, x.httpWarmLargeGet, rt.tcp],
  ['node:https TLS 1.2', x.tls12LargeGet, x.tls12WarmLargeGet, rt.tls12Resumed],
  ['node:https TLS 1.3', x.tls13LargeGet, x.tls13WarmLargeGet, rt.tls13],
  ['qfaas 0-RTT', x.qfaasLargeGet, x.qfaasWarmLargeGet, rt.quicZeroRtt],
] as const;
const quicGo = rig.quicGo?.exchanges;
// quic-go has no warm 1 MiB exchange in qgbench: its point has no floor.
const cases: Array<readonly [string, Exchange]> = [...transports.map(([name, fresh]) => [name, fresh] as const), ...(quicGo === undefined ? [] : [['quic-go HTTP/3', quicGo.largeZeroRttGet] as const])];
const warmCases = transports.map(([name, , warm]) => [name, warm] as const);
let summaries: Map<string, Summary>;
let zero: LinkMeasurement | undefined;
let warmAtZero: Map<string, Summary>;
try {
  summaries = await measureInterleaved(rig, cases, { warmupRounds: 5, rounds: samples, label: 'Fig. 5d (1 MiB)' });
  if (checked !== undefined) zero = await measureLink(checked.link, 0, { strict: !quick });
  warmAtZero = await measureInterleaved(rig, warmCases, { warmupRounds: 3, rounds: quick ? 10 : 30, label: 'warm 1 MiB, zero delay' });
} finally {
  await rig.close();
  await checked?.link.close();
}

const rttMs = checked?.rttMs ?? 0;
const where = delayUs === undefined ? 'loopback' : `${delayUs} µs one way`;
const figure: FigureJson = {
  name: 'fig5d',
  title: `Fig. 5d: a 1 MiB response on a new connection (${where})`,
  machine: machineLine(),
  selfChecks: checked === undefined ? ['loopback, no link'] : [checked.line, ...(zero === undefined ? [] : [zero.line])],
  x: { label: 'request', kind: 'category' },
  unit: 'ms',
  series: [
    ...transports.map(([name, , , roundTrips]) => ({
      transport: name,
      points: [figurePoint('1 MiB GET', summaries.get(name) as Summary, physicalFloorMs(roundTrips, rttMs, endTimeMs((warmAtZero.get(name) as Summary).median, zero?.rttMs ?? 0)))],
    })),
    ...(quicGo === undefined ? [] : [{ transport: 'quic-go HTTP/3', points: [figurePoint('1 MiB GET', summaries.get('quic-go HTTP/3') as Summary)] }]),
  ],
  paper: 'Paper (Fig. 5d, 0.5 ms): QFaaS 21% below TCP+TLS for a 1 MB response.',
};
const point = (name: string) => findPoint(figure, name, '1 MiB GET') as FigurePoint;
const rows: ResultRow[] = figure.series.map((series): ResultRow => [series.transport, formatPoint(point(series.transport)), '']);
const overLink = delayUs === 500;
rows.push(
  ['qfaas / node:https TLS 1.3', (point('qfaas 0-RTT').median / point('node:https TLS 1.3').median).toFixed(2), overLink ? '≤ 1.0' : ''],
  ['qfaas / node:http', (point('qfaas 0-RTT').median / point('node:http').median).toFixed(2), ''],
  ['qfaas / its floor', (point('qfaas 0-RTT').median / (point('qfaas 0-RTT').floorMs as number)).toFixed(2), overLink ? '≤ 1.3' : ''],
);
if (quicGo !== undefined) rows.push(['qfaas / quic-go HTTP/3', (point('qfaas 0-RTT').median / point('quic-go HTTP/3').median).toFixed(2), '']);
if (!quick && mtu === undefined) writeBenchJson('fig5d', figure);
const jumbo = mtu === undefined ? '' : ` on a ${mtu}-byte MTU, qfaas with ${udpPayloadSize}-byte datagrams`;
reportResults({
  section: mtu === undefined ? 'bench:fig5d' : 'bench:fig5d-mtu',
  title: `A 1 MiB response on a new connection, the paper’s Fig. 5d (\`npm run bench:fig5d${mtu === undefined ? '' : ` -- --mtu=${mtu}`}\`), ${where}${jumbo}`,
  description: `${checked === undefined ? 'Servers in a child process on loopback' : `Servers in a network namespace behind the delay link (${figure.selfChecks.join('; ')})`}; ${samples} samples per row, interleaved. Floors: handshake and request round trips × link RTT + the warm 1 MiB exchange at zero delay less its RTT (slow start left out: a lower bound). ${figure.paper}`,
  rows,
  quick,
});
