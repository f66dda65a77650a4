/**
 * npm run bench:throughput — 64 MiB on one kept connection over loopback: node:https TLS 1.3
 * against qfaas (HTTP/3, the invoker and handler server) with node:dgram and with batched datagram
 * I/O (issue 17). Two server processes (QFAAS_UDP=dgram and =batched, each with the same node:https
 * server), one client of each kind here; every transfer is counted to the byte while it streams.
 * Rounds rotate the order; each round measures one transfer per transport, its wall time, the
 * client's CPU (this process) and its server process' CPU. `--rounds=N` (default 10), `--quick`:
 * 3 rounds, nothing written. Writes the docs/performance.md section "bench:throughput".
 */
import https from 'node:https';
import { InvokerClient } from '../../src/invoker-client/index.js';
import { loadBatchedUdp } from '../../src/transport/quic/batched-udp.js';
import { createPlatformCA, encodeCredentials, ZeroRttGenerator } from '../../src/zero-rtt/index.js';
import { forkServerProcess } from '../lib/server-process.js';
import { progress, reportResults, type ResultRow } from '../lib/report.js';
import { summarize } from '../lib/stats.js';
import { jumboPayloadSize, type ThroughputPorts, type ThroughputServerMessage } from './throughput-servers.js';

const addon = loadBatchedUdp();
if (addon instanceof Error) throw new Error(`the batched UDP addon does not load (npm run build:native): ${addon.message}`);
const transferBytes = 64 << 20;
const mib = transferBytes / 2 ** 20;
const quick = process.argv.includes('--quick');
const roundsArgument = process.argv.find((a) => a.startsWith('--rounds='));
const rounds = roundsArgument !== undefined ? Number(roundsArgument.slice('--rounds='.length)) : quick ? 3 : 10;

const host = '127.0.0.1';
const ca = await createPlatformCA();
const generator = new ZeroRttGenerator({ ca });
const provisioned = await generator.provision({ functionName: 'throughput', instanceId: 'i-1', hosts: [host] });
const certificate = await generator.invokerCertificate();
const script = new URL('./throughput-servers.ts', import.meta.url);
const servers = {
  dgram: forkServerProcess<ThroughputServerMessage>(script, undefined, { QFAAS_UDP: 'dgram' }),
  batched: forkServerProcess<ThroughputServerMessage>(script, undefined, { QFAAS_UDP: 'batched' }),
};
const credentials = encodeCredentials(provisioned.worker, 'json');
const ports = {
  dgram: await servers.dgram.ask<ThroughputPorts>({ credentials }),
  batched: await servers.batched.ask<ThroughputPorts>({ credentials }),
};
const serverCpuUs = async (io: 'dgram' | 'batched') => (await servers[io].ask<{ cpuUs: number }>({ cpu: true })).cpuUs;

const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
const httpsTransfer = () =>
  new Promise<void>((resolve, reject) => {
    const request = https.request({ host, port: ports.dgram.tls13, path: '/64mib', agent, servername: provisioned.serverName, ca: ca.certPem }, (response) => {
      let bytes = 0;
      response.on('data', (chunk: Buffer) => (bytes += chunk.length));
      response.once('end', () => (bytes === transferBytes ? resolve() : reject(new Error(`got ${bytes} bytes`))));
    });
    request.once('error', reject);
    request.end();
  });

type QfaasCase = 'dgram' | 'batched' | 'jumbo';
const ioOf = (which: QfaasCase) => (which === 'jumbo' ? 'batched' : which);
const portOf = (which: QfaasCase) => (which === 'jumbo' ? ports.batched.qfaasJumbo : ports[which].qfaas);

/** An invoker for `which` (its socket binds on its first request, reading QFAAS_UDP then). */
async function invokerWith(which: QfaasCase): Promise<InvokerClient> {
  const invoker = new InvokerClient({ ca, certificate, idleTimeoutMs: 0, ...(which === 'jumbo' ? { transport: { maxUdpPayloadSize: jumboPayloadSize } } : {}) });
  const before = process.env.QFAAS_UDP;
  process.env.QFAAS_UDP = ioOf(which);
  try {
    await (await invoker.request({ serverName: provisioned.serverName, host, port: portOf(which), path: '/warm-up' })).body.dump();
  } finally {
    if (before === undefined) delete process.env.QFAAS_UDP;
    else process.env.QFAAS_UDP = before;
  }
  return invoker;
}
const invokers = { dgram: await invokerWith('dgram'), batched: await invokerWith('batched'), jumbo: await invokerWith('jumbo') };
const qfaasTransfer = (which: QfaasCase) => async () => {
  const response = await invokers[which].request({ serverName: provisioned.serverName, host, port: portOf(which), path: '/64mib' });
  if (!response.transport.reusedConnection) throw new Error('the transfer did not reuse the kept connection');
  let bytes = 0;
  for await (const chunk of response.body) bytes += chunk.byteLength;
  if (bytes !== transferBytes) throw new Error(`got ${bytes} bytes`);
};

interface Case {
  name: string;
  run: () => Promise<void>;
  server: 'dgram' | 'batched';
}
const cases: Case[] = [
  { name: 'node:https TLS 1.3', run: httpsTransfer, server: 'dgram' },
  { name: 'qfaas, dgram', run: qfaasTransfer('dgram'), server: 'dgram' },
  { name: 'qfaas, batched', run: qfaasTransfer('batched'), server: 'batched' },
  { name: `qfaas, batched, ${jumboPayloadSize}-byte datagrams`, run: qfaasTransfer('jumbo'), server: 'batched' },
];
const jumboName = `qfaas, batched, ${jumboPayloadSize}-byte datagrams`;
const results = new Map(cases.map((c) => [c.name, { ms: [] as number[], clientUs: [] as number[], serverUs: [] as number[] }]));
try {
  for (const c of cases) await c.run();
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < cases.length; k++) {
      const c = cases[(round + k) % cases.length] as Case;
      const serverBefore = await serverCpuUs(c.server);
      const clientBefore = process.cpuUsage();
      const started = performance.now();
      await c.run();
      const ms = performance.now() - started;
      const client = process.cpuUsage(clientBefore);
      const serverAfter = await serverCpuUs(c.server);
      const result = results.get(c.name);
      result?.ms.push(ms);
      result?.clientUs.push(client.user + client.system);
      result?.serverUs.push(serverAfter - serverBefore);
    }
    progress('64 MiB on one connection', round + 1, rounds);
  }
} finally {
  agent.destroy();
  await Promise.all([invokers.dgram.close(), invokers.batched.close(), invokers.jumbo.close()]);
  await Promise.all([servers.dgram.close(), servers.batched.close()]);
}

const throughput = (name: string) => mib / (summarize(results.get(name)?.ms ?? []).median / 1000);
const cpuPerMib = (name: string, side: 'clientUs' | 'serverUs') => summarize(results.get(name)?.[side] ?? []).median / 1000 / mib;
const tls = throughput('node:https TLS 1.3');
const rows: ResultRow[] = cases.map((c) => {
  const s = summarize(results.get(c.name)?.ms ?? []);
  return [c.name, `${throughput(c.name).toFixed(0)} MiB/s (${s.median.toFixed(0)} ms per 64 MiB, p10 ${s.p10.toFixed(0)}, p90 ${s.p90.toFixed(0)})`, ''];
});
rows.push(
  ['qfaas dgram / node:https TLS 1.3, throughput', (throughput('qfaas, dgram') / tls).toFixed(2), ''],
  ['qfaas batched / node:https TLS 1.3, throughput', (throughput('qfaas, batched') / tls).toFixed(2), '≥ 0.7 (issue 17)'],
  ['qfaas batched / qfaas dgram, throughput', (throughput('qfaas, batched') / throughput('qfaas, dgram')).toFixed(2), ''],
  ['client CPU per MiB, qfaas batched / node:https', (cpuPerMib('qfaas, batched', 'clientUs') / cpuPerMib('node:https TLS 1.3', 'clientUs')).toFixed(2), '≤ 1.5 (issue 17)'],
  [`qfaas batched with ${jumboPayloadSize}-byte datagrams / node:https TLS 1.3, throughput`, (throughput(jumboName) / tls).toFixed(2), ''],
  [`client CPU per MiB, qfaas batched with ${jumboPayloadSize}-byte datagrams / node:https`, (cpuPerMib(jumboName, 'clientUs') / cpuPerMib('node:https TLS 1.3', 'clientUs')).toFixed(2), ''],
);
reportResults({
  section: 'bench:throughput',
  title: '64 MiB on one kept connection over loopback (`npm run bench:throughput`)',
  description: `Servers in two child processes (qfaas with QFAAS_UDP=dgram and =batched, each beside a node:https TLS 1.3 server), clients here; ${rounds} rounds, the four cases in rotated order, each transfer counted to the byte as it streams. qfaas is HTTP/3 through the invoker and handler server (mutual TLS), with its default 1350-byte datagrams, and in the last case with \`transport.maxUdpPayloadSize: ${jumboPayloadSize}\` on both ends (jumbo frames; loopback's MTU is 64 KiB, and node:https's TCP uses it too). CPU is user + system time per MiB, medians.`,
  rows,
  tables: [
    {
      columns: ['ms of CPU per MiB', 'client', 'server'],
      rows: cases.map((c) => [c.name, cpuPerMib(c.name, 'clientUs').toFixed(2), cpuPerMib(c.name, 'serverUs').toFixed(2)]),
    },
  ],
  quick,
});
