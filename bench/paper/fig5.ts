/**
 * npm run bench:fig5 — the paper's Fig. 5a, 5b and 5c over the delay link (default 500 µs one way,
 * the paper's; `--delay-us=N` to change; loopback without root):
 *   - 5a, non-continuous: GET and POST on a new connection per request, resuming a cached session
 *     (node:http; node:https TLS 1.2 and TLS 1.3 with Node's session cache; qfaas, GET in 0-RTT and
 *     POST over 1-RTT under the 'idempotent' policy);
 *   - 5b, continuous: GET on a kept connection, per transport;
 *   - 5c, the first request to a newly launched worker: new certificate and ticket key, nothing
 *     cached; qfaas without a session (1-RTT) and with the 0-RTT generator's session.
 * Every point has its physical floor (bench/paper/floor.ts). Writes docs/bench/fig5a|b|c.json and a
 * docs/performance.md section; `--quick`: fewer samples, nothing written.
 */
import { figurePoint, findPoint, formatPoint, type FigureJson, type FigureSeries } from './figure.js';
import { endTimeMs, physicalFloorMs, unavoidableRoundTrips as rt } from './floor.js';
import { startHopRig, type LaunchedWorker } from '../hop/hop-rig.js';
import { interleaved, measureInterleaved, type Exchange } from '../lib/interleaved.js';
import { checkedLink, figureDelayUs, measureLink, type LinkMeasurement } from '../link/checked-link.js';
import { machineLine, progress, reportResults, writeBenchJson, type ResultRow } from '../lib/report.js';
import { summarize, type Summary } from '../lib/stats.js';

const quick = process.argv.includes('--quick');
const samples = quick ? 30 : 100;
const delayUs = figureDelayUs();
const checked = delayUs === undefined ? undefined : await checkedLink(delayUs, { strict: !quick });
const rttMs = checked?.rttMs ?? 0;
const rig = await startHopRig(checked?.link);
const x = rig.exchanges;

const quicGo = rig.quicGo?.exchanges;
const cases: Array<readonly [string, Exchange]> = [
  ['5a GET node:http', x.httpGet],
  ['5a GET node:https TLS 1.2', x.tls12Get],
  ['5a GET node:https TLS 1.3', x.tls13Get],
  ['5a GET qfaas 0-RTT', x.qfaasZeroRttGet],
  ['5a POST node:http', x.httpPost],
  ['5a POST node:https TLS 1.2', x.tls12Post],
  ['5a POST node:https TLS 1.3', x.tls13Post],
  ['5a POST qfaas 1-RTT', x.qfaasOneRttPost],
  ['5b node:http', x.httpWarmGet],
  ['5b node:https TLS 1.2', x.tls12WarmGet],
  ['5b node:https TLS 1.3', x.tls13WarmGet],
  ['5b qfaas', x.qfaasWarmGet],
];
if (quicGo !== undefined) cases.push(['5a GET quic-go HTTP/3', quicGo.zeroRttGet], ['5a POST quic-go HTTP/3', quicGo.oneRttPost], ['5b quic-go HTTP/3', quicGo.warmGet]);
// 5c: each case's first request to a launched worker.
const launchCases: Array<readonly [string, (worker: LaunchedWorker) => Exchange]> = [
  ['node:http', (worker) => worker.firstRequest.http],
  ['node:https TLS 1.2', (worker) => worker.firstRequest.tls12],
  ['node:https TLS 1.3', (worker) => worker.firstRequest.tls13],
  ['qfaas, no session (1-RTT)', (worker) => worker.firstRequest.qfaasNoSession],
  ['qfaas, generator session (0-RTT)', (worker) => worker.firstRequest.qfaasGeneratorSession],
];
// quic-go's server is not relaunched: its point is a first connection without a session to a running server.
if (quicGo !== undefined) launchCases.push(['quic-go HTTP/3, no session', () => quicGo.coldGet]);

const warmCases = cases.filter(([name]) => name.startsWith('5b '));
let ab: Map<string, Summary>;
let zero: LinkMeasurement | undefined;
let warmAtZero: Map<string, Summary> | undefined;
const firstRequests = new Map<string, number[]>(launchCases.map(([name]) => [name, []]));
try {
  ab = await measureInterleaved(rig, cases, { warmupRounds: 20, rounds: samples, label: 'Fig. 5a/5b' });
  // 5c: a new worker per round; the first requests in a rotated order.
  const launchRounds = quick ? 15 : 100;
  for (let round = -3; round < launchRounds; round++) {
    const worker = await rig.launchWorker();
    const order = launchCases.map((_, k) => launchCases[(k + round + 3) % launchCases.length] as (typeof launchCases)[number]);
    const times = await interleaved(order.map(([name, exchange]) => [name, exchange(worker)] as const), 1);
    await worker.retire();
    // The first three rounds warm up the code paths and are not kept.
    if (round < 0) continue;
    for (const [name, values] of times) firstRequests.get(name)?.push(...values);
    progress('Fig. 5c (new workers)', round + 1, launchRounds);
  }
  if (rig.takeNotEarly() > 0) throw new Error('a first request with the generator’s session was not accepted in 0-RTT');
  // The floors' end time: the warm exchanges over the same link at zero delay.
  if (checked !== undefined) {
    zero = await measureLink(checked.link, 0, { strict: !quick });
    warmAtZero = await measureInterleaved(rig, warmCases, { warmupRounds: 10, rounds: quick ? 20 : 50, label: 'warm, zero delay' });
  }
} finally {
  await rig.close();
  await checked?.link.close();
}

const s = (name: string) => ab.get(name) as Summary;
const c = new Map([...firstRequests].map(([name, values]) => [name, summarize(values)]));
const cs = (name: string) => c.get(name) as Summary;
// On loopback there is no zero-delay pass: the warm exchange itself stands for the end time.
const floor = (roundTrips: number, warm: string) =>
  physicalFloorMs(roundTrips, rttMs, endTimeMs((warmAtZero?.get(warm) ?? s(warm)).median, zero?.rttMs ?? rttMs));
const machine = machineLine();
const selfChecks = checked === undefined ? ['loopback, no link'] : [checked.line, ...(zero === undefined ? [] : [zero.line])];
const where = delayUs === undefined ? 'loopback' : `${delayUs} µs one way`;
const figure = (name: string, title: string, series: FigureSeries[], paper: string): FigureJson => ({
  name,
  title,
  machine,
  selfChecks,
  x: { label: 'request', kind: 'category' },
  unit: 'ms',
  series,
  paper,
});

const fig5a = figure(
  'fig5a',
  `Fig. 5a: non-continuous requests, a new connection each (${where})`,
  [
    { transport: 'node:http', points: [figurePoint('GET', s('5a GET node:http'), floor(rt.tcp, '5b node:http')), figurePoint('POST', s('5a POST node:http'), floor(rt.tcp, '5b node:http'))] },
    {
      transport: 'node:https TLS 1.2',
      points: [
        figurePoint('GET', s('5a GET node:https TLS 1.2'), floor(rt.tls12Resumed, '5b node:https TLS 1.2')),
        figurePoint('POST', s('5a POST node:https TLS 1.2'), floor(rt.tls12Resumed, '5b node:https TLS 1.2')),
      ],
    },
    {
      transport: 'node:https TLS 1.3',
      points: [figurePoint('GET', s('5a GET node:https TLS 1.3'), floor(rt.tls13, '5b node:https TLS 1.3')), figurePoint('POST', s('5a POST node:https TLS 1.3'), floor(rt.tls13, '5b node:https TLS 1.3'))],
    },
    {
      transport: 'qfaas',
      points: [figurePoint('GET', s('5a GET qfaas 0-RTT'), floor(rt.quicZeroRtt, '5b qfaas')), figurePoint('POST', s('5a POST qfaas 1-RTT'), floor(rt.quicOneRtt, '5b qfaas'))],
    },
    ...(quicGo === undefined
      ? []
      : [
          {
            transport: 'quic-go HTTP/3',
            points: [
              figurePoint('GET', s('5a GET quic-go HTTP/3'), floor(rt.quicZeroRtt, '5b quic-go HTTP/3')),
              figurePoint('POST', s('5a POST quic-go HTTP/3'), floor(rt.quicOneRtt, '5b quic-go HTTP/3')),
            ],
          },
        ]),
  ],
  'Paper (Fig. 5a, 0.5 ms): QFaaS 28% below OpenFaaS with TCP+TLS for GET in 0-RTT, 14% for POST over 1-RTT; 0-RTT matched insecure TCP.',
);
const fig5b = figure(
  'fig5b',
  `Fig. 5b: continuous requests on a kept connection (${where})`,
  ['node:http', 'node:https TLS 1.2', 'node:https TLS 1.3', 'qfaas', ...(quicGo === undefined ? [] : ['quic-go HTTP/3'])].map((transport) => ({
    transport,
    points: [figurePoint('GET', s(`5b ${transport}`), floor(rt.warm, `5b ${transport}`))],
  })),
  'Paper (Fig. 5b): continuous requests over kept connections; the paper’s headline reductions are for the non-continuous case.',
);
const fig5c = figure(
  'fig5c',
  `Fig. 5c: the first request to a newly launched worker (${where})`,
  [
    { transport: 'node:http', points: [figurePoint('first GET', cs('node:http'), floor(rt.tcp, '5b node:http'))] },
    { transport: 'node:https TLS 1.2', points: [figurePoint('first GET', cs('node:https TLS 1.2'), floor(rt.tls12Full, '5b node:https TLS 1.2'))] },
    { transport: 'node:https TLS 1.3', points: [figurePoint('first GET', cs('node:https TLS 1.3'), floor(rt.tls13, '5b node:https TLS 1.3'))] },
    { transport: 'qfaas 1-RTT', points: [figurePoint('first GET', cs('qfaas, no session (1-RTT)'), floor(rt.quicOneRtt, '5b qfaas'))] },
    { transport: 'qfaas 0-RTT', points: [figurePoint('first GET', cs('qfaas, generator session (0-RTT)'), floor(rt.quicZeroRtt, '5b qfaas'))] },
    ...(quicGo === undefined ? [] : [{ transport: 'quic-go HTTP/3', points: [figurePoint('first GET', cs('quic-go HTTP/3, no session'), floor(rt.quicOneRtt, '5b quic-go HTTP/3'))] }]),
  ],
  'Paper (Fig. 5c): QFaaS 11% below TCP+TLS for the first request to a new function, without 0-RTT (it had no session yet). quic-go’s point here is a first connection without a session to its running server (not relaunched).',
);

const overLink = delayUs === 500;
const ratio = (a: number, b: number) => (a / b).toFixed(2);
const rows: ResultRow[] = [];
for (const fig of [fig5a, fig5b, fig5c]) {
  for (const series of fig.series) {
    for (const point of series.points) {
      rows.push([`${fig.name} ${point.x}, ${series.transport}`, formatPoint(point), '']);
    }
  }
}
const floorRatio = (fig: FigureJson, transport: string, x: string) => {
  const point = findPoint(fig, transport, x);
  return point === undefined || point.floorMs === undefined ? 'n/a' : ratio(point.median, point.floorMs);
};
rows.push(
  ['5a qfaas 0-RTT GET / TLS 1.3 GET', ratio(s('5a GET qfaas 0-RTT').median, s('5a GET node:https TLS 1.3').median), overLink ? '≤ 0.65' : ''],
  ['5a qfaas 0-RTT GET / node:http GET', ratio(s('5a GET qfaas 0-RTT').median, s('5a GET node:http').median), overLink ? '≤ 1.0' : ''],
  ['5a qfaas 0-RTT GET / its floor', floorRatio(fig5a, 'qfaas', 'GET'), overLink ? '≤ 1.3' : ''],
  ['5a qfaas 1-RTT POST / TLS 1.3 POST', ratio(s('5a POST qfaas 1-RTT').median, s('5a POST node:https TLS 1.3').median), overLink ? '≤ 0.8' : ''],
  ['5a qfaas 1-RTT POST / its floor', floorRatio(fig5a, 'qfaas', 'POST'), overLink ? '≤ 1.3' : ''],
  ['5b qfaas warm / TLS 1.3 keep-alive', ratio(s('5b qfaas').median, s('5b node:https TLS 1.3').median), overLink ? '≤ 1.1' : ''],
  ['5b qfaas warm / its floor', floorRatio(fig5b, 'qfaas', 'GET'), overLink ? '≤ 1.3' : ''],
  ['5c qfaas generator session / TLS 1.3', ratio(cs('qfaas, generator session (0-RTT)').median, cs('node:https TLS 1.3').median), overLink ? '≤ 0.65' : ''],
  ['5c qfaas no session / TLS 1.3', ratio(cs('qfaas, no session (1-RTT)').median, cs('node:https TLS 1.3').median), ''],
  ['5c qfaas generator session / its floor', floorRatio(fig5c, 'qfaas 0-RTT', 'first GET'), overLink ? '≤ 1.3' : ''],
);
if (quicGo !== undefined) {
  rows.push(
    ['5a quic-go 0-RTT GET / TLS 1.3 GET', ratio(s('5a GET quic-go HTTP/3').median, s('5a GET node:https TLS 1.3').median), ''],
    ['5a qfaas 0-RTT GET / quic-go 0-RTT GET', ratio(s('5a GET qfaas 0-RTT').median, s('5a GET quic-go HTTP/3').median), ''],
    ['5b qfaas warm / quic-go warm', ratio(s('5b qfaas').median, s('5b quic-go HTTP/3').median), ''],
  );
}
if (!quick) for (const fig of [fig5a, fig5b, fig5c]) writeBenchJson(fig.name, fig);
reportResults({
  section: 'bench:fig5',
  title: `The paper’s Fig. 5a, 5b and 5c (\`npm run bench:fig5\`), ${where}`,
  description: `${checked === undefined ? 'Servers in a child process on loopback' : `Servers in a network namespace behind the delay link (${checked.line})`}; ${samples} samples per 5a/5b point with all twelve cases interleaved, ${quick ? 15 : 100} new workers for 5c (the five first requests to each in a rotated order); 100-byte responses and bodies. qfaas uses mutual TLS, node:https server authentication only. Floors: unavoidable round trips × link RTT + the same transport’s warm exchange over the link at zero delay, less that link’s RTT. ${fig5a.paper} ${fig5c.paper}`,
  rows,
  quick,
});
