/**
 * npm run bench:fig5d — the paper's Fig. 5d: a 1 MiB response on a new connection, node:http,
 * node:https TLS 1.3 (session cache) and qfaas in 0-RTT, interleaved. `--delay-us=N` (root) runs it
 * over the delay link (the paper used 0.5 ms). Writes docs/bench/fig5d[@N].json and a section of
 * docs/performance.md; `--quick`: 20 samples, nothing written.
 */
import { measureInterleaved, startHopRig } from './hop-rig.js';
import { checkedLink, linkDelayArgument } from './link/checked-link.js';
import { machineLine, reportResults, writeBenchJson, type ResultRow } from './report.js';
import { formatSummary, type Summary } from './stats.js';

const quick = process.argv.includes('--quick');
const samples = quick ? 20 : 100;
const delayUs = linkDelayArgument();
const checked = delayUs === undefined ? undefined : await checkedLink(delayUs, { strict: !quick });
const rig = await startHopRig(checked?.link);
const cases = [
  ['node:http, new TCP connection, 1 MiB GET', rig.exchanges.httpLargeGet],
  ['node:https TLS 1.3, new connection (session cache), 1 MiB GET', rig.exchanges.tls13LargeGet],
  ['qfaas, new connection (session cached), 1 MiB GET in 0-RTT', rig.exchanges.qfaasLargeGet],
] as const;
let summaries: Map<string, Summary>;
try {
  summaries = await measureInterleaved(rig, cases, { warmupRounds: 5, rounds: samples, label: '1 MiB samples' });
} finally {
  await rig.close();
  await checked?.link.close();
}

const median = (name: (typeof cases)[number][0]) => (summaries.get(name) as Summary).median;
const rows: ResultRow[] = cases.map(([name]): ResultRow => [name, formatSummary(summaries.get(name) as Summary), '']);
rows.push(
  ['qfaas / node:https TLS 1.3', (median(cases[2][0]) / median(cases[1][0])).toFixed(2), delayUs === 500 ? '≤ 1.0' : ''],
  ['qfaas / node:http', (median(cases[2][0]) / median(cases[0][0])).toFixed(2), ''],
);
const suffix = delayUs === undefined ? '' : `@${delayUs}`;
if (!quick) {
  writeBenchJson(`fig5d${suffix}`, { machine: machineLine(), delayUs: delayUs ?? null, selfCheck: checked?.line ?? 'loopback, no link', samples, results: Object.fromEntries(summaries) });
}
reportResults({
  section: `bench:fig5d${suffix}`,
  title: `A 1 MiB response on a new connection, the paper’s Fig. 5d (\`npm run bench:fig5d${delayUs === undefined ? '' : ` -- --delay-us=${delayUs}`}\`)`,
  description: `${checked === undefined ? 'Servers in a child process on loopback' : `Servers in a network namespace behind the delay link, ${delayUs} µs one way (${checked.line})`}; ${samples} samples per row, interleaved. Paper (Fig. 5d, 0.5 ms): QFaaS 21% below TCP+TLS.`,
  rows,
  quick,
});
