/**
 * npm run bench:profile — where the CPU goes, for the targets the paper-figure benchmarks miss.
 * Over the delay link (500 µs one way by default; loopback without root) it runs each exchange of
 * a pair (qfaas against node:https TLS 1.3) sequentially with V8's CPU profiler on in both the
 * client (this process) and the server process, and reports self time per request by category
 * (bench/lib/cpu-profile.ts) and the top functions. Writes docs/bench/profile.json and a
 * docs/performance.md section; `--quick`: fewer requests, nothing written.
 */
import { startProfiler, summarizeProfile, type ProfileSummary } from '../lib/cpu-profile.js';
import type { Exchange } from '../lib/interleaved.js';
import { startHopRig } from './hop-rig.js';
import { checkedLink, figureDelayUs } from '../link/checked-link.js';
import { machineLine, progress, writeBenchJson, writeSection } from '../lib/report.js';

const quick = process.argv.includes('--quick');
const delayUs = figureDelayUs();
const checked = delayUs === undefined ? undefined : await checkedLink(delayUs, { strict: !quick });
const rig = await startHopRig(checked?.link);
const x = rig.exchanges;

const scenarios: Array<{ name: string; requests: number; qfaas: Exchange; tls13: Exchange }> = [
  { name: 'GET, new connection (qfaas 0-RTT)', requests: 300, qfaas: x.qfaasZeroRttGet, tls13: x.tls13Get },
  { name: 'POST, new connection (qfaas 1-RTT)', requests: 300, qfaas: x.qfaasOneRttPost, tls13: x.tls13Post },
  { name: 'GET, warm connection', requests: 500, qfaas: x.qfaasWarmGet, tls13: x.tls13WarmGet },
  { name: '1 MiB GET, new connection (qfaas 0-RTT)', requests: 40, qfaas: x.qfaasLargeGet, tls13: x.tls13LargeGet },
];

interface Measured {
  requests: number;
  wallMsPerRequest: number;
  client: ProfileSummary;
  server: ProfileSummary;
}
const results: Array<{ scenario: string; qfaas: Measured; tls13: Measured }> = [];
try {
  for (const [index, scenario] of scenarios.entries()) {
    const requests = quick ? Math.ceil(scenario.requests / 10) : scenario.requests;
    const profileOne = async (exchange: Exchange): Promise<Measured> => {
      for (let i = 0; i < 20; i++) await exchange();
      const stopServer = await rig.profileServer();
      const stopClient = await startProfiler();
      const started = performance.now();
      for (let i = 0; i < requests; i++) await exchange();
      const wallMsPerRequest = (performance.now() - started) / requests;
      const client = summarizeProfile(await stopClient(), 40);
      const server = await stopServer();
      return { requests, wallMsPerRequest, client, server };
    };
    const qfaas = await profileOne(scenario.qfaas);
    const tls13 = await profileOne(scenario.tls13);
    results.push({ scenario: scenario.name, qfaas, tls13 });
    progress('profiles', index + 1, scenarios.length);
  }
  if (rig.takeNotEarly() > 0) console.log('warning: some qfaas GETs were not accepted in 0-RTT while profiling');
} finally {
  await rig.close();
  await checked?.link.close();
}

/** µs of self time per request in a category, or 0. */
const perRequest = (measured: Measured, side: 'client' | 'server', category: string) =>
  ((measured[side].categories.find(([name]) => name === category)?.[1] ?? 0) * 1000) / measured.requests;
const cpu = (measured: Measured, side: 'client' | 'server') => (measured[side].cpuMs * 1000) / measured.requests;

const markdown: string[] = [
  '## Where the CPU goes (`npm run bench:profile`)',
  '',
  `Machine: ${machineLine()}. ${checked === undefined ? 'Loopback.' : `Over the delay link (${checked.line}).`} Each exchange runs sequentially with V8's sampling profiler (200 µs) in the client and in the server process; the tables give self time per request in µs by category (bench/lib/cpu-profile.ts), and the process' CPU time (user + system, including the profiler's own cost) from process.cpuUsage(). V8 names native time after the last native callback entered, so "native code" mixes quiche with BoringSSL (qfaas) or OpenSSL (node:https) with socket system calls; the profiler samples less than all of it, so the categories add up to less than the CPU time.`,
];
for (const result of results) {
  const categories = [...new Set([...result.qfaas.client.categories, ...result.qfaas.server.categories, ...result.tls13.client.categories, ...result.tls13.server.categories].map(([name]) => name))].filter(
    (name) => !name.startsWith('idle'),
  );
  const rows = categories
    .map((category) => [category, perRequest(result.qfaas, 'client', category), perRequest(result.qfaas, 'server', category), perRequest(result.tls13, 'client', category), perRequest(result.tls13, 'server', category)] as const)
    .filter((row) => row.slice(1).some((value) => (value as number) >= 5))
    .sort((a, b) => (b[1] as number) + (b[2] as number) - (a[1] as number) - (a[2] as number));
  markdown.push(
    '',
    `### ${result.scenario}: ${result.qfaas.wallMsPerRequest.toFixed(3)} ms per request for qfaas, ${result.tls13.wallMsPerRequest.toFixed(3)} ms for node:https TLS 1.3 (${result.qfaas.requests} requests each)`,
    '',
    '| µs of CPU per request | qfaas client | qfaas server | TLS 1.3 client | TLS 1.3 server |',
    '|---|---|---|---|---|',
    ...rows.map(([category, ...values]) => `| ${category} | ${values.map((value) => value.toFixed(0)).join(' | ')} |`),
    `| **process CPU time (user + system)** | **${cpu(result.qfaas, 'client').toFixed(0)}** | **${cpu(result.qfaas, 'server').toFixed(0)}** | **${cpu(result.tls13, 'client').toFixed(0)}** | **${cpu(result.tls13, 'server').toFixed(0)}** |`,
    '',
    `Top qfaas client functions: ${result.qfaas.client.functions.slice(0, 6).map(([fn, ms]) => `${fn} ${((ms * 1000) / result.qfaas.requests).toFixed(0)} µs`).join('; ')}.`,
    '',
    `Top qfaas server functions: ${result.qfaas.server.functions.slice(0, 6).map(([fn, ms]) => `${fn} ${((ms * 1000) / result.qfaas.requests).toFixed(0)} µs`).join('; ')}.`,
  );
}
console.log(markdown.join('\n'));
if (!quick) {
  writeBenchJson('profile', { machine: machineLine(), selfCheck: checked?.line ?? 'loopback, no link', results });
  writeSection('bench:profile', markdown.join('\n'));
}
