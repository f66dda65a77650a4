/**
 * npm run bench:hop — the gateway→worker hop, on loopback, interleaved:
 *   - node:http on a new TCP connection per request;
 *   - node:https, TLS 1.3 and TLS 1.2, a new connection per request with Node's session cache;
 *   - qfaas InvokerClient on a new connection with a cached session: GET in 0-RTT, POST over 1-RTT
 *     (policy 'idempotent');
 *   - warm connections: node:https keep-alive against a pooled qfaas connection.
 * Servers run in a child process. Results go to docs/performance.md.
 *
 * `--delay-us=N` (root): the servers run in a network namespace behind the delay link
 * (bench/link) with N µs one way, after the link's self-check passes; the section is
 * `bench:hop@N`. Without root it says so and stays on loopback.
 */
import { fork, type ForkOptions } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import { fileURLToPath } from 'node:url';
import { getTransportInfo, InvokerClient } from '../src/invoker-client/index.js';
import { createPlatformCA, encodeCredentials, MemoryTicketStore, ZeroRttGenerator } from '../src/zero-rtt/index.js';
import { createDelayLink, isRoot, type DelayLink } from './link/delay-link.js';
import { reportResults, type ResultRow } from './report.js';
import { formatSummary, summarize, type Summary } from './stats.js';

const quick = process.argv.includes('--quick');
const samples = quick ? 60 : 300;
const delayArgument = process.argv.find((argument) => argument.startsWith('--delay-us='));
let delayUs = delayArgument === undefined ? undefined : Number(delayArgument.slice('--delay-us='.length));
if (delayUs !== undefined && !(Number.isInteger(delayUs) && delayUs >= 0)) throw new Error('--delay-us must be a whole number of microseconds');
if (delayUs !== undefined && !isRoot()) {
  console.log('The delay link needs root (network namespaces and TUN devices): running on loopback instead.');
  delayUs = undefined;
}

let link: DelayLink | undefined;
let linkLine = '';
if (delayUs !== undefined) {
  link = await createDelayLink({ delayUs });
  const check = await link.selfCheck();
  linkLine = `Link self-check: UDP echo RTT ${(check.rttUs / 1000).toFixed(3)} ms, floor ${(check.floorRttUs / 1000).toFixed(3)} ms, added ${(check.addedRttUs / 1000).toFixed(3)} ms for 2 × ${delayUs} µs (tolerance ±${(check.toleranceUs / 1000).toFixed(3)} ms)`;
  console.log(linkLine);
  if (!check.ok) {
    await link.close();
    throw new Error('the delay link is outside its tolerance: results would not be trustworthy');
  }
}
const host = link?.insideAddress ?? '127.0.0.1';

const ca = await createPlatformCA();
const generator = new ZeroRttGenerator({ ca });
const provisioned = await generator.provision({ functionName: 'hop', instanceId: 'i-1', hosts: [host] });
// Behind the link, the server process starts inside the namespace; the IPC channel crosses `ip netns exec`.
const forkOptions: ForkOptions =
  link === undefined
    ? { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }
    : { execPath: 'ip', execArgv: ['netns', 'exec', link.namespace, process.execPath, '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] };
const child = fork(fileURLToPath(new URL('./hop-servers.ts', import.meta.url)), forkOptions);
const ports = await new Promise<{ http: number; tls13: number; tls12: number; qfaas: number }>((resolve) => {
  child.once('message', (message: { http: number; tls13: number; tls12: number; qfaas: number }) => resolve(message));
  child.send({ credentials: encodeCredentials(provisioned.worker, 'json'), host });
});

const payload = Buffer.alloc(100, 0x62);
const serverName = provisioned.serverName;

function nodeRequest(module: typeof http | typeof https, agent: http.Agent, port: number, method: 'GET' | 'POST'): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = module.request(
      { host, port, method, path: '/', agent, servername: serverName, ca: ca.certPem, headers: method === 'POST' ? { 'content-length': payload.length } : {} },
      (response) => {
        let bytes = 0;
        response.on('data', (chunk: Buffer) => (bytes += chunk.length));
        response.once('end', () => (bytes === 100 ? resolve() : reject(new Error(`got ${bytes} bytes`))));
      },
    );
    request.once('error', reject);
    request.end(method === 'POST' ? payload : undefined);
  });
}

const freshHttp = new http.Agent({ keepAlive: false });
const freshTls13 = new https.Agent({ keepAlive: false, maxCachedSessions: 100 });
const freshTls12 = new https.Agent({ keepAlive: false, maxCachedSessions: 100 });
const warmTls13 = new https.Agent({ keepAlive: true, maxSockets: 1 });
const store = new MemoryTicketStore();
store.set(serverName, provisioned.session);
const invoker = new InvokerClient({ ca, certificate: await generator.invokerCertificate(), ticketStore: store, idleTimeoutMs: 0 });
const warmInvoker = new InvokerClient({ ca, certificate: await generator.invokerCertificate(), idleTimeoutMs: 0 });
const target = { serverName, host, port: ports.qfaas };

let notEarly = 0;
async function qfaasFresh(method: 'GET' | 'POST'): Promise<void> {
  // A new connection each time, resuming the session the worker issued last time.
  invoker.closeIdleConnections();
  const response = await invoker.fetch(target, method === 'POST' ? { method, body: payload } : {});
  const bytes = (await response.arrayBuffer()).byteLength;
  if (bytes !== 100) throw new Error(`got ${bytes} bytes`);
  const info = getTransportInfo(response);
  if (method === 'GET' && info?.earlyDataAccepted !== true) notEarly++;
  if (method === 'POST' && info?.earlyData !== false) throw new Error('a POST went in early data under the idempotent policy');
}
async function qfaasWarm(): Promise<void> {
  const response = await warmInvoker.fetch(target);
  await response.arrayBuffer();
}

const cases: Array<[string, () => Promise<void>]> = [
  ['node:http, new TCP connection, GET', () => nodeRequest(http, freshHttp, ports.http, 'GET')],
  ['node:https TLS 1.3, new connection (session cache), GET', () => nodeRequest(https, freshTls13, ports.tls13, 'GET')],
  ['node:https TLS 1.2, new connection (session cache), GET', () => nodeRequest(https, freshTls12, ports.tls12, 'GET')],
  ['qfaas, new connection (session cached), GET in 0-RTT', () => qfaasFresh('GET')],
  ['node:http, new TCP connection, POST', () => nodeRequest(http, freshHttp, ports.http, 'POST')],
  ['node:https TLS 1.3, new connection (session cache), POST', () => nodeRequest(https, freshTls13, ports.tls13, 'POST')],
  ['qfaas, new connection (session cached), POST over 1-RTT', () => qfaasFresh('POST')],
  ['node:https TLS 1.3 keep-alive (warm), GET', () => nodeRequest(https, warmTls13, ports.tls13, 'GET')],
  ['qfaas pooled connection (warm), GET', qfaasWarm],
];
const results = new Map<string, number[]>(cases.map(([name]) => [name, []]));
for (let i = 0; i < 30; i++) for (const [, run] of cases) await run();
notEarly = 0;
for (let i = 0; i < samples; i++) {
  for (let k = 0; k < cases.length; k++) {
    const [name, run] = cases[(i + k) % cases.length] as [string, () => Promise<void>];
    const started = performance.now();
    await run();
    results.get(name)?.push(performance.now() - started);
  }
  if (process.stdout.isTTY) process.stdout.write(`\rhop samples ${i + 1}/${samples}`);
}
if (process.stdout.isTTY) process.stdout.write('\n');
if (notEarly > 0) throw new Error(`${notEarly} qfaas GETs were not accepted in 0-RTT`);
await invoker.close();
await warmInvoker.close();
for (const agent of [freshHttp, freshTls13, freshTls12, warmTls13]) agent.destroy();
child.disconnect();
await new Promise((resolve) => child.once('exit', resolve));
await link?.close();

const summaries = new Map<string, Summary>([...results].map(([name, values]) => [name, summarize(values)]));
const median = (name: string) => (summaries.get(name) as Summary).median;
const fmt = formatSummary;
// Targets: the hop issue's on loopback; the paper-figure issue's at 0.5 ms one way over the link.
const overLink = delayUs !== undefined;
const rows: ResultRow[] = cases.map(([name]): ResultRow => [name, fmt(summaries.get(name) as Summary), '']);
rows.push(
  ['qfaas 0-RTT GET / TLS 1.3 GET (new connections)', (median('qfaas, new connection (session cached), GET in 0-RTT') / median('node:https TLS 1.3, new connection (session cache), GET')).toFixed(2), overLink ? '≤ 0.65' : '≤ 0.85'],
  ['qfaas 0-RTT GET / node:http GET (new connections)', (median('qfaas, new connection (session cached), GET in 0-RTT') / median('node:http, new TCP connection, GET')).toFixed(2), overLink ? '≤ 1.0' : ''],
  ['qfaas 1-RTT POST / TLS 1.3 POST (new connections)', (median('qfaas, new connection (session cached), POST over 1-RTT') / median('node:https TLS 1.3, new connection (session cache), POST')).toFixed(2), overLink ? '≤ 0.8' : ''],
  ['qfaas warm / node:https keep-alive', (median('qfaas pooled connection (warm), GET') / median('node:https TLS 1.3 keep-alive (warm), GET')).toFixed(2), '≤ 1.1'],
);
reportResults({
  section: delayUs === undefined ? 'bench:hop' : `bench:hop@${delayUs}`,
  title:
    delayUs === undefined
      ? 'The gateway→worker hop (`npm run bench:hop`)'
      : `The gateway→worker hop over the delay link, ${delayUs} µs one way (\`npm run bench:hop -- --delay-us=${delayUs}\`)`,
  description: `${delayUs === undefined ? 'Servers in a child process on loopback' : `Servers in a child process in a network namespace behind the delay link (${linkLine.charAt(0).toLowerCase()}${linkLine.slice(1)})`}, 100-byte responses, ${samples} samples per row with the rows rotated each round; certificates ECDSA P-256 from one CA. qfaas uses mutual TLS; node:https uses server authentication only.`,
  rows,
  quick,
});
