/**
 * 0-RTT on a QUIC hop, end to end on loopback:
 *   1. a worker-like server with a ticket key and mutual TLS,
 *   2. a first request over a full handshake (1-RTT), which yields a session ticket,
 *   3. a second request on a new connection with that ticket: it leaves in the first flight,
 *      and the server sees it as early data,
 *   4. a brand-new server instance with the same ticket key accepts the ticket too.
 *
 * Run: npm run demo:echo
 */
import { randomBytes } from 'node:crypto';
import { createQuicClient, createQuicServer, createQuicConfig, type QuicConnection } from 'qfaas/transport';
import { createPlatformCA } from 'qfaas/zero-rtt';

const serverName = 'instance-1.echo.qfaas.internal';
const ca = await createPlatformCA();
const workerCertificate = await ca.issue({ role: 'worker', name: serverName, hosts: ['127.0.0.1'] });
const invokerCertificate = await ca.issue({ role: 'invoker', name: 'gateway' });
const ticketKey = randomBytes(48);

async function startWorker() {
  return createQuicServer({
    config: createQuicConfig({ role: 'server', caPem: ca.certPem, certificate: workerCertificate, ticketKey }),
    onConnection(connection) {
      connection.onStream = async (stream) => {
        const body = await stream.readAll();
        await stream.end(Buffer.from(`hello ${body.toString()} (early data: ${stream.earlyData})`));
      };
    },
  });
}

const clientConfig = createQuicConfig({ role: 'client', caPem: ca.certPem, certificate: invokerCertificate });
const client = await createQuicClient();
let session: Uint8Array | undefined;

async function invoke(port: number, label: string) {
  const started = performance.now();
  const connection: QuicConnection = client.connect({
    host: '127.0.0.1',
    port,
    serverName,
    config: clientConfig,
    ...(session === undefined ? {} : { session }),
    onSessionTicket: (ticket) => {
      session = ticket;
    },
  });
  const stream = await connection.openBidirectionalStream();
  await stream.end(Buffer.from(label));
  const reply = (await stream.readAll()).toString();
  const elapsedMs = performance.now() - started;
  const handshake = await connection.handshake;
  await connection.close();
  return { request: label, reply, '0-RTT accepted': handshake.earlyDataAccepted, ms: elapsedMs.toFixed(2) };
}

const worker = await startWorker();
const rows = [await invoke(worker.address.port, 'first (full handshake)'), await invoke(worker.address.port, 'second (session ticket)')];
await worker.close();
const freshWorker = await startWorker();
rows.push(await invoke(freshWorker.address.port, 'new instance, same ticket key'));
console.table(rows);
await freshWorker.close();
await client.close();
