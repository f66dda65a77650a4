/**
 * npm run bench:hop — the gateway→worker hop, on loopback, interleaved:
 *   - node:http on a new TCP connection per request;
 *   - node:https, TLS 1.3 and TLS 1.2, a new connection per request with Node's session cache;
 *   - qfaas InvokerClient on a new connection with a cached session: GET in 0-RTT, POST over 1-RTT
 *     (policy 'idempotent');
 *   - warm connections: node:https keep-alive against a pooled qfaas connection.
 * Servers run in a child process (bench/hop/hop-rig.ts). Results go to docs/performance.md.
 *
 * `--delay-us=N` (root): the servers run in a network namespace behind the delay link
 * (bench/link) with N µs one way, after the link's self-check passes; the section is
 * `bench:hop@N`. Without root it says so and stays on loopback.
 */
import { measureInterleaved } from '../lib/interleaved.js';
import { startHopRig } from './hop-rig.js';
import { checkedLink, linkDelayArgument } from '../link/checked-link.js';
import { reportResults, type ResultRow } from '../lib/report.js';
import { formatSummary, type Summary } from '../lib/stats.js';

const quick = process.argv.includes('--quick');
const samples = quick ? 60 : 300;
const delayUs = linkDelayArgument();
const checked = delayUs === undefined ? undefined : await checkedLink(delayUs, { strict: !quick });
const link = checked?.link;
const rig = await startHopRig(link);
const x = rig.exchanges;

const cases = [
  ['node:http, new TCP connection, GET', x.httpGet],
  ['node:https TLS 1.3, new connection (session cache), GET', x.tls13Get],
  ['node:https TLS 1.2, new connection (session cache), GET', x.tls12Get],
  ['qfaas, new connection (session cached), GET in 0-RTT', x.qfaasZeroRttGet],
  ['node:http, new TCP connection, POST', x.httpPost],
  ['node:https TLS 1.3, new connection (session cache), POST', x.tls13Post],
  ['qfaas, new connection (session cached), POST over 1-RTT', x.qfaasOneRttPost],
  ['node:https TLS 1.3 keep-alive (warm), GET', x.tls13WarmGet],
  ['qfaas pooled connection (warm), GET', x.qfaasWarmGet],
] as const;
let summaries: Map<string, Summary>;
let datagrams: Array<[string, number, number]> = [];

/**
 * Datagrams per exchange, counted at the server (on the link or loopback nothing is lost, so what
 * it received the client sent): each qfaas case run alone, sequentially, after the timed rounds.
 * A new-connection exchange includes the connection's close.
 */
async function countDatagrams(): Promise<Array<[string, number, number]>> {
  const counted: Array<[string, number, number]> = [];
  const runs = 50;
  for (const [name, exchange] of [
    ['qfaas, new connection, GET in 0-RTT', x.qfaasZeroRttGet],
    ['qfaas, new connection, POST over 1-RTT', x.qfaasOneRttPost],
    ['qfaas pooled connection (warm), GET', x.qfaasWarmGet],
  ] as const) {
    await exchange();
    // Let the previous connection's close and acknowledgements land before counting.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const before = await rig.serverDatagrams();
    for (let i = 0; i < runs; i++) await exchange();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const after = await rig.serverDatagrams();
    counted.push([name, (after.received - before.received) / runs, (after.sent - before.sent) / runs]);
  }
  return counted;
}
try {
  summaries = await measureInterleaved(rig, cases, { warmupRounds: 30, rounds: samples, label: 'hop samples' });
  datagrams = await countDatagrams();
} finally {
  await rig.close();
  await link?.close();
}

const median = (name: (typeof cases)[number][0]) => (summaries.get(name) as Summary).median;
// Targets: the hop issue's on loopback; the paper-figure issue's at 0.5 ms one way over the link.
const overLink = delayUs !== undefined;
const rows: ResultRow[] = cases.map(([name]): ResultRow => [name, formatSummary(summaries.get(name) as Summary), '']);
rows.push(
  ['qfaas 0-RTT GET / TLS 1.3 GET (new connections)', (median('qfaas, new connection (session cached), GET in 0-RTT') / median('node:https TLS 1.3, new connection (session cache), GET')).toFixed(2), overLink ? '≤ 0.65' : '≤ 0.85'],
  ['qfaas 0-RTT GET / node:http GET (new connections)', (median('qfaas, new connection (session cached), GET in 0-RTT') / median('node:http, new TCP connection, GET')).toFixed(2), overLink ? '≤ 1.0' : ''],
  ['qfaas 1-RTT POST / TLS 1.3 POST (new connections)', (median('qfaas, new connection (session cached), POST over 1-RTT') / median('node:https TLS 1.3, new connection (session cache), POST')).toFixed(2), overLink ? '≤ 0.8' : ''],
  ['qfaas warm / node:https keep-alive', (median('qfaas pooled connection (warm), GET') / median('node:https TLS 1.3 keep-alive (warm), GET')).toFixed(2), '≤ 1.1'],
  ...datagrams.map(([name, sent, received]): ResultRow => [`datagrams per exchange, client sent / received: ${name}`, `${sent.toFixed(1)} / ${received.toFixed(1)}`, '']),
);
reportResults({
  section: delayUs === undefined ? 'bench:hop' : `bench:hop@${delayUs}`,
  title:
    delayUs === undefined
      ? 'The gateway→worker hop (`npm run bench:hop`)'
      : `The gateway→worker hop over the delay link, ${delayUs} µs one way (\`npm run bench:hop -- --delay-us=${delayUs}\`)`,
  description: `${checked === undefined ? 'Servers in a child process on loopback' : `Servers in a child process in a network namespace behind the delay link (${checked.line})`}, 100-byte responses, ${samples} samples per row with the rows rotated each round; certificates ECDSA P-256 from one CA. qfaas uses mutual TLS; node:https uses server authentication only.`,
  rows,
  quick,
});
