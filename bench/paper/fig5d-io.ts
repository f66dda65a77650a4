/**
 * npm run bench:fig5d-io — issue 17's question: does batched datagram I/O make Fig. 5d's 1 MiB
 * response on a new connection faster? Two hop rigs behind one delay link (default 500 µs one way,
 * `--delay-us=N`), one whose qfaas server and invoker use node:dgram and one using the batched
 * native socket (QFAAS_UDP), measured side by side with node:https TLS 1.3 and node:http in rotated
 * rounds. Then CPU: each transport alone for a few exchanges, the client's CPU and its server
 * process' CPU per exchange (= per MiB). A 100-byte GET on a new connection rides along, to show
 * the common case does not get slower. `--rounds=N` (default 60), `--quick`: 15 rounds;
 * `--io-stats` prints the batched server socket's counters. Prints the results and writes them as
 * the docs/performance.md section "bench:fig5d-io" unless quick.
 */
import { loadBatchedUdp } from '../../src/transport/quic/batched-udp.js';
import { startHopRig } from '../hop/hop-rig.js';
import type { Exchange } from '../lib/interleaved.js';
import { checkedLink, figureDelayUs } from '../link/checked-link.js';
import { progress, reportResults, type ResultRow } from '../lib/report.js';
import { formatSummary, summarize, type Summary } from '../lib/stats.js';

const addon = loadBatchedUdp();
if (addon instanceof Error) throw new Error(`the batched UDP addon does not load (npm run build:native): ${addon.message}`);
const quick = process.argv.includes('--quick');
const roundsArgument = process.argv.find((a) => a.startsWith('--rounds='));
const rounds = roundsArgument !== undefined ? Number(roundsArgument.slice('--rounds='.length)) : quick ? 15 : 60;
const cpuRounds = quick ? 5 : 20;
const delayUs = figureDelayUs();
const checked = delayUs === undefined ? undefined : await checkedLink(delayUs, { strict: !quick });
const dgramRig = await startHopRig(checked?.link, { quicGo: false, io: 'dgram' });
const batchedRig = await startHopRig(checked?.link, { quicGo: false, io: 'batched' });
if ((await batchedRig.serverDatagrams()).batchedIo === undefined) throw new Error('the batched rig’s server fell back to node:dgram');

interface Case {
  name: string;
  run: Exchange;
  serverCpuUs: () => Promise<number>;
}
const cases: Case[] = [
  { name: 'node:http', run: dgramRig.exchanges.httpLargeGet, serverCpuUs: dgramRig.serverCpuUs },
  { name: 'node:https TLS 1.3', run: dgramRig.exchanges.tls13LargeGet, serverCpuUs: dgramRig.serverCpuUs },
  { name: 'qfaas 0-RTT, dgram', run: dgramRig.exchanges.qfaasLargeGet, serverCpuUs: dgramRig.serverCpuUs },
  { name: 'qfaas 0-RTT, batched', run: batchedRig.exchanges.qfaasLargeGet, serverCpuUs: batchedRig.serverCpuUs },
  // The common case must not get slower: a 100-byte GET on a new connection (Fig. 5a's).
  { name: '100 B: node:https TLS 1.3', run: dgramRig.exchanges.tls13Get, serverCpuUs: dgramRig.serverCpuUs },
  { name: '100 B: qfaas 0-RTT, dgram', run: dgramRig.exchanges.qfaasZeroRttGet, serverCpuUs: dgramRig.serverCpuUs },
  { name: '100 B: qfaas 0-RTT, batched', run: batchedRig.exchanges.qfaasZeroRttGet, serverCpuUs: batchedRig.serverCpuUs },
];

const times = new Map<string, number[]>(cases.map((c) => [c.name, []]));
const cpu = new Map<string, { client: number[]; server: number[] }>(cases.map((c) => [c.name, { client: [], server: [] }]));
try {
  for (let i = 0; i < 5; i++) for (const c of cases) await c.run();
  dgramRig.takeNotEarly();
  batchedRig.takeNotEarly();
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < cases.length; k++) {
      const c = cases[(round + k) % cases.length] as Case;
      const started = performance.now();
      await c.run();
      times.get(c.name)?.push(performance.now() - started);
    }
    progress('Fig. 5d (and a 100-byte GET), dgram and batched', round + 1, rounds);
  }
  const notEarly = dgramRig.takeNotEarly() + batchedRig.takeNotEarly();
  if (notEarly > 0) throw new Error(`${notEarly} qfaas GETs were not accepted in 0-RTT`);
  // CPU: each transport alone, so that its server process' CPU is its own.
  for (const c of cases) {
    for (let i = 0; i < cpuRounds; i++) {
      const serverBefore = await c.serverCpuUs();
      const clientBefore = process.cpuUsage();
      await c.run();
      const client = process.cpuUsage(clientBefore);
      const serverAfter = await c.serverCpuUs();
      cpu.get(c.name)?.client.push(client.user + client.system);
      cpu.get(c.name)?.server.push(serverAfter - serverBefore);
    }
  }
  if (process.argv.includes('--io-stats')) console.log('batched server socket:', (await batchedRig.serverDatagrams()).batchedIo);
} finally {
  await dgramRig.close();
  await batchedRig.close();
  await checked?.link.close();
}

const summaries = new Map<string, Summary>([...times].map(([name, values]) => [name, summarize(values)]));
const median = (name: string) => (summaries.get(name) as Summary).median;
const cpuMedian = (name: string, side: 'client' | 'server') => summarize(cpu.get(name)?.[side] ?? []).median;
const rows: ResultRow[] = cases.map((c) => [c.name, formatSummary(summaries.get(c.name) as Summary), '']);
const tls = median('node:https TLS 1.3');
const dgramMs = median('qfaas 0-RTT, dgram');
const batchedMs = median('qfaas 0-RTT, batched');
rows.push(
  ['qfaas dgram / node:https TLS 1.3', (dgramMs / tls).toFixed(2), ''],
  ['qfaas batched / node:https TLS 1.3', (batchedMs / tls).toFixed(2), '≤ 0.9 (issue 17)'],
  ['qfaas batched / qfaas dgram', (batchedMs / dgramMs).toFixed(2), '≤ 0.75 to keep it'],
  ['100 B: qfaas batched / qfaas dgram', (median('100 B: qfaas 0-RTT, batched') / median('100 B: qfaas 0-RTT, dgram')).toFixed(2), '≤ 1.0'],
);
const cpuRows = cases.map((c) => [c.name, (cpuMedian(c.name, 'client') / 1000).toFixed(2), (cpuMedian(c.name, 'server') / 1000).toFixed(2)]);
const where = delayUs === undefined ? 'loopback' : `${delayUs} µs one way`;
reportResults({
  section: 'bench:fig5d-io',
  title: `Fig. 5d with node:dgram and with batched datagram I/O (\`npm run bench:fig5d-io\`), ${where}`,
  description: `${checked === undefined ? 'Servers in child processes on loopback' : `Servers in a network namespace behind the delay link (${checked.line})`}; two hop rigs, one per datagram I/O (QFAAS_UDP for the server process and the invokers), ${rounds} rounds of the cases in rotated order, every qfaas GET accepted in 0-RTT. CPU: each case alone, ${cpuRounds} exchanges, median ms of CPU (user + system) per exchange, client (this process) and server (its process).`,
  rows,
  tables: [{ columns: ['ms of CPU per exchange', 'client', 'server'], rows: cpuRows }],
  quick,
});
