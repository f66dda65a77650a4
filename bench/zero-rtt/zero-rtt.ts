/**
 * npm run bench:zero-rtt — the 0-RTT generator:
 *   - provision() time per worker instance (certificate, ticket key, in-memory session minting);
 *   - the first request to a freshly started worker: with the generator's session (0-RTT) and
 *     without one (1-RTT full handshake), interleaved, each against a new instance.
 * Workers run in a helper process. Results go to docs/performance.md.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connectHttp3, createQuicClient, createQuicConfig } from '../../src/transport/index.js';
import { createPlatformCA, encodeCredentials, ZeroRttGenerator, type Provisioned } from '../../src/zero-rtt/index.js';
import { reportResults, type ResultRow } from '../lib/report.js';
import { formatSummary, summarize } from '../lib/stats.js';

const quick = process.argv.includes('--quick');
const samples = quick ? 30 : 150;

const host: ChildProcess = fork(fileURLToPath(new URL('./worker-host.ts', import.meta.url)), {
  execArgv: ['--import', 'tsx'],
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
function ask<T>(message: object): Promise<T> {
  return new Promise((resolve) => {
    host.once('message', (reply: T) => resolve(reply));
    host.send(message);
  });
}

const ca = await createPlatformCA();
const generator = new ZeroRttGenerator({ ca });
const invoker = await generator.invokerCertificate();
const config = createQuicConfig({ role: 'client', caPem: ca.certPem, certificate: invoker });
const client = await createQuicClient();

let instance = 0;
const provisionMs: number[] = [];
async function provisionOne(): Promise<Provisioned> {
  const started = performance.now();
  const provisioned = await generator.provision({ functionName: 'bench', instanceId: `i-${instance++}`, hosts: ['127.0.0.1'] });
  provisionMs.push(performance.now() - started);
  return provisioned;
}

/** Starts a new worker instance and times its very first request. */
async function firstRequest(withSession: boolean): Promise<{ ms: number; early: boolean }> {
  const provisioned = await provisionOne();
  const { port } = await ask<{ port: number }>({ start: encodeCredentials(provisioned.worker, 'json') });
  const started = performance.now();
  const quic = client.connect({
    host: '127.0.0.1',
    port,
    serverName: provisioned.serverName,
    config,
    ...(withSession ? { session: provisioned.session.session.reveal() } : {}),
  });
  const h3 = connectHttp3(
    quic,
    withSession && provisioned.session.settings !== undefined ? { rememberedPeerSettings: provisioned.session.settings } : {},
  );
  const response = await h3.fetch(new Request(`https://${provisioned.serverName}/`));
  await response.arrayBuffer();
  const ms = performance.now() - started;
  const early = response.headers.get('x-early-data') === 'true';
  h3.close();
  await ask({ stop: port });
  return { ms, early };
}

for (let i = 0; i < 10; i++) {
  await firstRequest(true);
  await firstRequest(false);
}
provisionMs.length = 0;
const zeroRtt: number[] = [];
const oneRtt: number[] = [];
for (let i = 0; i < samples; i++) {
  for (const withSession of i % 2 === 0 ? [true, false] : [false, true]) {
    const result = await firstRequest(withSession);
    if (withSession !== result.early) throw new Error(`a ${withSession ? '0-RTT' : '1-RTT'} first request was ${result.early ? '' : 'not '}early data`);
    (withSession ? zeroRtt : oneRtt).push(result.ms);
  }
  if (process.stdout.isTTY) process.stdout.write(`\rcold workers ${i + 1}/${samples}`);
}
if (process.stdout.isTTY) process.stdout.write('\n');
await client.close();
host.disconnect();

const fmt = formatSummary;
const provision = summarize(provisionMs);
const zero = summarize(zeroRtt);
const one = summarize(oneRtt);
const rows: ResultRow[] = [
  ['provision() per worker instance', fmt(provision), '≤ 5 ms'],
  ['first request to a new worker, with the generator’s session (0-RTT, HTTP/3)', fmt(zero), ''],
  ['first request to a new worker, no session (1-RTT, HTTP/3)', fmt(one), ''],
  ['0-RTT / 1-RTT median', (zero.median / one.median).toFixed(2), ''],
];
reportResults({
  section: 'bench:zero-rtt',
  title: '0-RTT generator (`npm run bench:zero-rtt`)',
  description: `Workers started in a helper process from provisioned credentials, one new instance per request; ${samples} samples each, 0-RTT and 1-RTT interleaved; mutual TLS, ECDSA P-256.`,
  rows,
  quick,
});
