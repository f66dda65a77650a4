/**
 * npm run bench:transport — QUIC transport on loopback:
 *   - time to a 100-byte response on a fresh connection, 1-RTT (no session) and 0-RTT (session),
 *     measured interleaved so both see the same machine state;
 *   - requests per second over one warm connection with 32 concurrent streams.
 * The server runs in a child process. Results go to docs/performance.md.
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  connectHttp3,
  createQuicClient,
  createQuicConfig,
  QuicConnectionDriver,
  Http3Connection,
  type Http3PeerSettings,
  type QuicConnection,
} from '../../src/transport/index.js';
import { createPlatformCA } from '../../src/zero-rtt/index.js';
import { fakeTransportPair } from '../../test/helpers/fake-h3-transport.js';
import { reportResults, type ResultRow } from '../lib/report.js';
import { formatSummary, requestsPerSecond, summarize } from '../lib/stats.js';

const quick = process.argv.includes('--quick');
const samples = quick ? 100 : 500;
const warmSeconds = quick ? 1 : 3;
const serverName = 'bench.echo.qfaas.internal';

const ca = await createPlatformCA();
const serverCert = await ca.issue({ role: 'worker', name: serverName, hosts: ['127.0.0.1'] });
const clientCert = await ca.issue({ role: 'invoker', name: 'bench-client' });
const ticketKey = randomBytes(48);

const child = fork(fileURLToPath(new URL('./transport-server.ts', import.meta.url)), {
  execArgv: ['--import', 'tsx', ...(process.env.QFAAS_BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=' + process.env.QFAAS_BENCH_PROFILE] : [])],
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const { port, h3Port } = await new Promise<{ port: number; h3Port: number }>((resolve, reject) => {
  child.once('message', (message: { port: number; h3Port: number }) => resolve(message));
  child.once('exit', (code) => reject(new Error(`benchmark server exited with ${code}`)));
  child.send({ caPem: ca.certPem, certPem: serverCert.certPem, keyPem: serverCert.keyPem, ticketKey: [...ticketKey] });
});

const client = await createQuicClient({ receiveBufferSize: 4 * 1024 * 1024 });
const config = createQuicConfig({ role: 'client', caPem: ca.certPem, certificate: clientCert });
let session: Uint8Array | undefined;
const request = Buffer.alloc(64, 0x62);

async function exchange(connection: QuicConnection): Promise<void> {
  const stream = await connection.openBidirectionalStream();
  await stream.end(request);
  let received = 0;
  for await (const chunk of stream) received += chunk.length;
  if (received !== 100) throw new Error(`expected 100 bytes, got ${received}`);
}

let h3Session: Uint8Array | undefined;
let h3Settings: Http3PeerSettings | undefined;
const h3Url = `https://${serverName}/bench`;

/** One GET in the lean form (what the invoker uses), its 100-byte body read whole. */
async function h3Exchange(connection: Http3Connection): Promise<void> {
  const response = await connection.request({ path: '/bench', authority: serverName });
  const body = await response.body.bytes();
  if (body.byteLength !== 100) throw new Error(`expected 100 bytes, got ${body.byteLength}`);
}

/** A fresh HTTP/3 connection with the stored session: GET in 0-RTT. */
async function freshH3(): Promise<{ ms: number; early: boolean }> {
  const started = performance.now();
  const quic = client.connect({
    host: '127.0.0.1',
    port: h3Port,
    serverName,
    config,
    ...(h3Session === undefined ? {} : { session: h3Session }),
    onSessionTicket: (ticket) => {
      h3Session = ticket;
    },
  });
  const h3 = connectHttp3(quic, h3Settings === undefined ? {} : { rememberedPeerSettings: h3Settings });
  await h3Exchange(h3);
  const ms = performance.now() - started;
  const info = await quic.handshake;
  h3Settings ??= await h3.peerSettings;
  h3.close();
  return { ms, early: info.earlyDataAccepted };
}

async function fresh(useSession: boolean): Promise<{ ms: number; early: boolean }> {
  const started = performance.now();
  const connection = client.connect({
    host: '127.0.0.1',
    port,
    serverName,
    config,
    ...(useSession && session !== undefined ? { session } : {}),
    onSessionTicket: (ticket) => {
      session = ticket;
    },
  });
  await exchange(connection);
  const ms = performance.now() - started;
  const info = await connection.handshake;
  await connection.close();
  return { ms, early: info.earlyDataAccepted };
}

function progress(label: string, done: number, total: number): void {
  if (!process.stdout.isTTY) return;
  const width = 30;
  const filled = Math.round((done / total) * width);
  process.stdout.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`);
  if (done === total) process.stdout.write('\n');
}

// Warm-up: JIT, a session ticket, the server's first connections.
for (let i = 0; i < 50; i++) {
  await fresh(false);
  await fresh(true);
  await freshH3();
}

const oneRtt: number[] = [];
const zeroRtt: number[] = [];
const zeroRttH3: number[] = [];
let notEarly = 0;
const kinds = ['1-rtt', '0-rtt', 'h3'] as const;
for (let i = 0; i < samples; i++) {
  // Rotate the order so no kind always follows the same other kind's close.
  for (let k = 0; k < kinds.length; k++) {
    const kind = kinds[(i + k) % kinds.length];
    if (kind === '1-rtt') oneRtt.push((await fresh(false)).ms);
    else {
      const result = kind === '0-rtt' ? await fresh(true) : await freshH3();
      (kind === '0-rtt' ? zeroRtt : zeroRttH3).push(result.ms);
      if (!result.early) notEarly++;
    }
  }
  progress('fresh connections', i + 1, samples);
}
if (notEarly > 0) throw new Error(`${notEarly} session requests were not accepted in 0-RTT`);

const warm = client.connect({ host: '127.0.0.1', port, serverName, config });
await exchange(warm);
const rawRequestsPerSecond = await requestsPerSecond(() => exchange(warm), 32, warmSeconds);
await warm.close();

const warmH3 = connectHttp3(client.connect({ host: '127.0.0.1', port: h3Port, serverName, config }));
await h3Exchange(warmH3);
const h3RequestsPerSecond = await requestsPerSecond(() => h3Exchange(warmH3), 32, warmSeconds);
warmH3.close();
await client.close();
child.disconnect();

/**
 * The handshake's own CPU cost, both sides, with the two drivers wired in memory (no sockets, no
 * event loop): the floor under the fresh-connection rows above, which add round trips on top.
 */
const inMemoryServerConfig = createQuicConfig({ role: 'server', caPem: ca.certPem, certificate: serverCert, ticketKey });
function inMemoryHandshakeMs(useSession: boolean): number {
  const a = { host: '127.0.0.1', port: 1 };
  const b = { host: '127.0.0.1', port: 2 };
  const started = performance.now();
  const clientDriver = QuicConnectionDriver.connect({
    config,
    serverName,
    sourceId: randomBytes(16),
    local: a,
    remote: b,
    ...(useSession && session !== undefined ? { session } : {}),
  });
  const serverDriver = QuicConnectionDriver.accept({ config: inMemoryServerConfig, sourceId: randomBytes(16), local: b, remote: a });
  for (let round = 0; round < 4 && !(clientDriver.isHandshakeCompleted && serverDriver.isHandshakeCompleted); round++) {
    for (const datagram of clientDriver.datagramsToSend(0)) serverDriver.receiveDatagram(datagram, a, 0);
    for (const datagram of serverDriver.datagramsToSend(0)) clientDriver.receiveDatagram(datagram, b, 0);
  }
  if (!clientDriver.isHandshakeCompleted) throw new Error('in-memory handshake did not complete');
  return performance.now() - started;
}
const handshakeFull = summarize(Array.from({ length: samples }, () => inMemoryHandshakeMs(false)));
const handshakeResumed = summarize(Array.from({ length: samples }, () => inMemoryHandshakeMs(true)));

/**
 * The HTTP/3 layer alone: client and server Http3Connection over an in-memory transport (no QUIC,
 * no sockets), one warm GET at a time, both sides together: what framing and QPACK cost per
 * request in the lean form, and with the web Request/Response adapters on both ends.
 */
async function h3LayerOnlyMicroseconds(form: 'lean' | 'web'): Promise<number> {
  const pair = fakeTransportPair({ chunked: true });
  const body = Buffer.alloc(100, 0x61);
  const server =
    form === 'lean'
      ? new Http3Connection(pair.server, { onRequest: () => ({ statusCode: 200, body }) })
      : new Http3Connection(pair.server, { handler: () => new Response(body) });
  const client = new Http3Connection(pair.client);
  const once =
    form === 'lean'
      ? async () => {
          await (await client.request({ path: '/bench', authority: serverName })).body.bytes();
        }
      : async () => {
          await (await client.fetch(new Request(h3Url))).arrayBuffer();
        };
  for (let i = 0; i < 2000; i++) await once();
  const count = quick ? 2000 : 10_000;
  const started = performance.now();
  for (let i = 0; i < count; i++) await once();
  const perRequest = ((performance.now() - started) * 1000) / count;
  client.close();
  server.close();
  return perRequest;
}
const h3LayerOnly = await h3LayerOnlyMicroseconds('lean');
const h3LayerOnlyWeb = await h3LayerOnlyMicroseconds('web');

const oneRttSummary = summarize(oneRtt);
const zeroRttSummary = summarize(zeroRtt);
const zeroRttH3Summary = summarize(zeroRttH3);
const fmt = formatSummary;
const rows: ResultRow[] = [
  ['fresh connection, 1-RTT (full handshake), 100-byte response', fmt(oneRttSummary), '≤ 1.3 ms'],
  ['fresh connection, 0-RTT (session ticket), 100-byte response', fmt(zeroRttSummary), '≤ 1.0 ms'],
  ['0-RTT / 1-RTT median', (zeroRttSummary.median / oneRttSummary.median).toFixed(2), ''],
  ['fresh connection, 0-RTT HTTP/3 GET, 100-byte response', fmt(zeroRttH3Summary), ''],
  ['HTTP/3 0-RTT / raw-stream 0-RTT median', (zeroRttH3Summary.median / zeroRttSummary.median).toFixed(2), '≤ 1.15'],
  ['handshake CPU only, full (mutual TLS), both sides in memory', fmt(handshakeFull), ''],
  ['handshake CPU only, resumed, both sides in memory', fmt(handshakeResumed), ''],
  ['warm connection, 32 concurrent streams', `${Math.round(rawRequestsPerSecond).toLocaleString('en-US')} requests/s`, '≥ 10,000 requests/s'],
  ['warm connection, HTTP/3 GET, 32 concurrent requests', `${Math.round(h3RequestsPerSecond).toLocaleString('en-US')} requests/s`, ''],
  ['HTTP/3 / raw-stream requests per second', (h3RequestsPerSecond / rawRequestsPerSecond).toFixed(2), '≥ 0.7'],
  ['HTTP/3 layer alone (both sides in memory, no QUIC), warm GET, lean form', `${h3LayerOnly.toFixed(1)} µs per request`, ''],
  ['the same with web Request/Response on both ends', `${h3LayerOnlyWeb.toFixed(1)} µs per request`, ''],
];
reportResults({
  section: 'bench:transport',
  title: 'QUIC transport on loopback (`npm run bench:transport`)',
  description: `Server in a child process, client in the benchmark process; ${samples} samples per fresh-connection row, 1-RTT, 0-RTT and HTTP/3 interleaved; mutual TLS with ECDSA P-256.`,
  rows,
  quick,
});
