/**
 * npm run bench:binding — what one datagram costs in quiche through its Node-API binding, with no
 * socket: two QUIC connection drivers wired in memory move 64 MiB on one stream, and every
 * `send` (build and encrypt a datagram) and `recv` (decrypt and process one) is timed. Beside it,
 * in the same run: a trivial binding call (the crossing alone) and AES-128-GCM sealing and opening
 * the same 1350 bytes with node:crypto (the cryptographic work a datagram cannot avoid). This is
 * the per-datagram floor the batched socket cannot remove (issue 17). `--quick`: 2 rounds,
 * nothing written; default 5 rounds. Writes the docs/performance.md section "bench:binding".
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { createQuicConfig, QuicConnectionDriver } from '../../src/transport/index.js';
import { createPlatformCA } from '../../src/zero-rtt/index.js';
import { reportResults, type ResultRow } from '../lib/report.js';
import { summarize } from '../lib/stats.js';

const quick = process.argv.includes('--quick');
const rounds = quick ? 2 : 5;
const transferBytes = 64 << 20;
const serverName = 'binding.bench.qfaas.internal';
const ca = await createPlatformCA();
const serverCertificate = await ca.issue({ role: 'worker', name: serverName, hosts: ['127.0.0.1'] });
const clientCertificate = await ca.issue({ role: 'invoker', name: 'binding-bench' });
const clientAddress = { host: '192.0.2.1', port: 4000 };
const serverAddress = { host: '192.0.2.2', port: 443 };

interface Tally {
  sendUs: number;
  recvUs: number;
  datagrams: number;
}

/** Moves every datagram `from` has now to `to`, timing each send and recv. */
function pump(from: QuicConnectionDriver, to: QuicConnectionDriver, scratch: Uint8Array, tally: Tally): void {
  for (;;) {
    const start = performance.now();
    const length = from.writeDatagram(scratch, start);
    const sent = performance.now();
    if (length === 0) return;
    to.receiveDatagram(scratch.subarray(0, length), from.local, sent);
    tally.sendUs += (sent - start) * 1000;
    tally.recvUs += (performance.now() - sent) * 1000;
    tally.datagrams++;
  }
}

/** One 64 MiB transfer, server to client; per-datagram µs of the data direction. */
function transferRound(): { sendUs: number; recvUs: number; datagrams: number; bytesPerDatagram: number } {
  const client = QuicConnectionDriver.connect({
    config: createQuicConfig({ role: 'client', caPem: ca.certPem, certificate: clientCertificate }),
    serverName,
    sourceId: randomBytes(16),
    local: clientAddress,
    remote: serverAddress,
  });
  const server = QuicConnectionDriver.accept({
    config: createQuicConfig({ role: 'server', caPem: ca.certPem, certificate: serverCertificate, ticketKey: randomBytes(48) }),
    sourceId: randomBytes(16),
    local: serverAddress,
    remote: clientAddress,
  });
  const scratch = new Uint8Array(1500);
  const ignored: Tally = { sendUs: 0, recvUs: 0, datagrams: 0 };
  for (let i = 0; i < 6; i++) {
    pump(client, server, scratch, ignored);
    pump(server, client, scratch, ignored);
  }
  const streamId = client.openStream(true);
  if (streamId === undefined) throw new Error('no stream after the handshake');
  client.streamSend(streamId, Buffer.from('GET'), true);
  pump(client, server, scratch, ignored);
  const data: Tally = { sendUs: 0, recvUs: 0, datagrams: 0 };
  const chunk = Buffer.alloc(256 << 10, 7);
  const out = new Uint8Array(1 << 20);
  let sent = 0;
  let received = 0;
  while (received < transferBytes) {
    while (sent < transferBytes) {
      const piece = chunk.subarray(0, Math.min(chunk.length, transferBytes - sent));
      const accepted = server.streamSend(streamId, piece, sent + piece.length === transferBytes);
      if (accepted <= 0) break;
      sent += accepted;
    }
    pump(server, client, scratch, data);
    for (let read = client.streamRecv(streamId, out); read !== null; read = read.fin ? null : client.streamRecv(streamId, out)) received += read.length;
    pump(client, server, scratch, ignored);
  }
  return { sendUs: data.sendUs / data.datagrams, recvUs: data.recvUs / data.datagrams, datagrams: data.datagrams, bytesPerDatagram: transferBytes / data.datagrams };
}

/** µs per call of a binding method that does nothing but cross (is the connection closed?). */
function crossingUs(): number {
  const driver = QuicConnectionDriver.connect({
    config: createQuicConfig({ role: 'client', caPem: ca.certPem, certificate: clientCertificate }),
    serverName,
    sourceId: randomBytes(16),
    local: clientAddress,
    remote: serverAddress,
  });
  const calls = 200_000;
  let closed = 0;
  const start = performance.now();
  for (let i = 0; i < calls; i++) if (driver.isClosed) closed++;
  const us = ((performance.now() - start) * 1000) / calls;
  if (closed !== 0) throw new Error('the connection closed');
  return us;
}

/**
 * µs of AES-128-GCM per 1350 bytes, sealing and opening 4 MiB in one call each (node:crypto,
 * OpenSSL with AES-NI): the cipher's own cost, with no per-call setup. The fastest of 8 passes over
 * the same warm buffers, so that page faults and a busy machine do not count.
 */
function aesGcmUs(): { sealUs: number; openUs: number } {
  const key = randomBytes(16);
  const iv = randomBytes(12);
  const plain = randomBytes(4 << 20);
  const perDatagram = 1350 / plain.length;
  let sealMs = Infinity;
  let openMs = Infinity;
  for (let pass = 0; pass < 8; pass++) {
    let start = performance.now();
    const cipher = createCipheriv('aes-128-gcm', key, iv);
    const sealed = Buffer.concat([cipher.update(plain), cipher.final()]);
    const tag = cipher.getAuthTag();
    sealMs = Math.min(sealMs, performance.now() - start);
    start = performance.now();
    const decipher = createDecipheriv('aes-128-gcm', key, iv);
    decipher.setAuthTag(tag);
    decipher.update(sealed);
    decipher.final();
    openMs = Math.min(openMs, performance.now() - start);
  }
  return { sealUs: sealMs * 1000 * perDatagram, openUs: openMs * 1000 * perDatagram };
}

transferRound(); // warm-up
const transfers = Array.from({ length: rounds }, () => transferRound());
const crossings = Array.from({ length: rounds }, () => crossingUs());
const crypto = Array.from({ length: rounds }, () => aesGcmUs());
const median = (values: number[]) => summarize(values).median;
const sendUs = median(transfers.map((t) => t.sendUs));
const recvUs = median(transfers.map((t) => t.recvUs));
const crossing = median(crossings);
const sealUs = median(crypto.map((c) => c.sealUs));
const openUs = median(crypto.map((c) => c.openUs));
const datagramsPerMiB = (2 ** 20 / median(transfers.map((t) => t.bytesPerDatagram))).toFixed(0);
const rows: ResultRow[] = [
  ['quiche send through the binding (build and encrypt one datagram)', `${sendUs.toFixed(2)} µs`, ''],
  ['quiche recv through the binding (decrypt and process one datagram)', `${recvUs.toFixed(2)} µs`, ''],
  ['a trivial binding call (isClosed)', `${crossing.toFixed(3)} µs`, ''],
  ['AES-128-GCM seal per 1350 bytes, node:crypto in bulk', `${sealUs.toFixed(2)} µs`, ''],
  ['AES-128-GCM open per 1350 bytes, node:crypto in bulk', `${openUs.toFixed(2)} µs`, ''],
  ['datagrams per MiB of stream data', datagramsPerMiB, ''],
  ['send + recv per MiB (one side each)', `${(((sendUs + recvUs) * Number(datagramsPerMiB)) / 1000).toFixed(2)} ms`, ''],
  ['send / AES-GCM seal; recv / AES-GCM open', `${(sendUs / sealUs).toFixed(1)}; ${(recvUs / openUs).toFixed(1)}`, ''],
];
reportResults({
  section: 'bench:binding',
  title: 'One datagram in quiche through its binding, no socket (`npm run bench:binding`)',
  description: `Two QUIC connection drivers wired in memory move 64 MiB on one stream, server to client, ${rounds} rounds after a warm-up; every send and recv of the data direction is timed (acknowledgements are not counted). Medians of the rounds' means. AES-128-GCM (which the handshake negotiates here) over 4 MiB in one node:crypto call (the fastest of 8 passes), per 1350 bytes, is the cryptographic work a datagram cannot avoid.`,
  rows,
  quick,
});
