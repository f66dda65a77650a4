/**
 * npm run bench:fig5d — the paper's Fig. 5d: a 1 MiB response on a new connection, node:http,
 * node:https TLS 1.3 (session cache) and qfaas in 0-RTT, interleaved. `--delay-us=N` (root) runs it
 * over the delay link (the paper used 0.5 ms). Writes docs/bench/fig5d[@N].json and a section of
 * docs/performance.md; `--quick`: 20 samples, nothing written.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { interleaved, startHopRig } from './hop-rig.js';
import { checkedLink, linkDelayArgument } from './link/checked-link.js';
import { machineLine, reportResults, type ResultRow } from './report.js';
import { formatSummary, summarize, type Summary } from './stats.js';

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
  await interleaved(cases, 5);
  rig.takeNotEarly();
  const results = await interleaved(cases, samples, (round) => {
    if (process.stdout.isTTY) process.stdout.write(`\r1 MiB samples ${round}/${samples}`);
  });
  if (process.stdout.isTTY) process.stdout.write('\n');
  const notEarly = rig.takeNotEarly();
  if (notEarly > 0) throw new Error(`${notEarly} qfaas GETs were not accepted in 0-RTT`);
  summaries = new Map([...results].map(([name, values]) => [name, summarize(values)]));
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
  const directory = new URL('../docs/bench/', import.meta.url);
  mkdirSync(directory, { recursive: true });
  const json = { machine: machineLine(), delayUs: delayUs ?? null, selfCheck: checked?.line ?? 'loopback, no link', samples, results: Object.fromEntries(summaries) };
  writeFileSync(new URL(`fig5d${suffix}.json`, directory), `${JSON.stringify(json, null, 2)}\n`);
}
reportResults({
  section: `bench:fig5d${suffix}`,
  title: `A 1 MiB response on a new connection, the paper’s Fig. 5d (\`npm run bench:fig5d${delayUs === undefined ? '' : ` -- --delay-us=${delayUs}`}\`)`,
  description: `${checked === undefined ? 'Servers in a child process on loopback' : `Servers in a network namespace behind the delay link, ${delayUs} µs one way (${checked.line})`}; ${samples} samples per row, interleaved. Paper (Fig. 5d, 0.5 ms): QFaaS 21% below TCP+TLS.`,
  rows,
  quick,
});
