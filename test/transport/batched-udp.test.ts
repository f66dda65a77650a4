/**
 * The batched UDP addon (native/udp_batch.c, issue 17), built by `npm run build:native`: many
 * datagrams per call each way, errors to one destination that leave the socket working, the
 * backpressure signal (in a network namespace of its own, where a slow queue on loopback makes the
 * kernel refuse datagrams), and the endpoint's fallback to node:dgram where the addon cannot load.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchedUdpSocket, loadBatchedUdp } from '../../src/transport/quic/batched-udp.js';
import type { HostPort } from '../../src/transport/quic/connection-driver.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const native = loadBatchedUdp();
if (native instanceof Error) throw new Error(`the addon did not load (run npm run build:native): ${native.message}`);
const open: BatchedUdpSocket[] = [];
afterEach(() => {
  for (const socket of open.splice(0)) socket.close();
});

const addon = native;

function socket(options: { gso?: boolean; gro?: boolean; port?: number } = {}): BatchedUdpSocket {
  const created = new BatchedUdpSocket(addon, 4, { host: '127.0.0.1', port: 0, ...options });
  open.push(created);
  // As the endpoint does: a whole batch arrives while this one thread is still sending it.
  created.setRecvBufferSize(4 << 20);
  return created;
}

interface Received {
  data: Buffer;
  from: HostPort;
}

function collect(receiver: BatchedUdpSocket, expected: number): { received: Received[]; batches: () => number; done: Promise<void> } {
  const received: Received[] = [];
  let batches = 0;
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  // The buffer is reused by the next batch: copy.
  receiver.onDatagram = (message, from) => {
    received.push({ data: Buffer.from(message), from });
    if (received.length === expected) resolve();
  };
  receiver.onBatchEnd = () => batches++;
  return { received, batches: () => batches, done };
}

/** Datagram i: `length(i)` bytes, its index in the first 4, then its index's low byte. */
function write(sender: BatchedUdpSocket, index: number, length: number, to: HostPort): boolean {
  const offset = index * sender.slotSize;
  sender.sendBuffer.fill(index & 0xff, offset, offset + length);
  if (length >= 4) sender.sendBuffer.writeUInt32BE(index, offset);
  return sender.describe(index, offset, length, to);
}

function expectIntact(datagram: Received, index: number, length: number): void {
  expect(datagram.data.length).toBe(length);
  if (length >= 4) expect(datagram.data.readUInt32BE(0)).toBe(index);
  expect(datagram.data.subarray(4).every((byte) => byte === (index & 0xff))).toBe(true);
}

const within = <T>(promise: Promise<T>, ms = 5000): Promise<T> =>
  Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`not within ${ms} ms`)), ms))]);

describe('batched UDP addon', () => {
  for (const offloads of [true, false]) {
    it(`sends 250 datagrams to two sockets in one call and each receives them intact, in order, many per call (GSO and GRO ${offloads ? 'on' : 'off'})`, async () => {
      const sender = socket({ gso: offloads, gro: offloads });
      const a = socket({ gso: offloads, gro: offloads });
      const b = socket({ gso: offloads, gro: offloads });
      const toA = collect(a, 200);
      const toB = collect(b, 50);
      // Runs of equal sizes (what GSO sends as one message), shorter ends, single odd sizes, and
      // a change of destination every 25 datagrams.
      const length = (i: number) => (i % 25 === 24 ? 100 + i : i % 50 < 30 ? 1350 : 1200 - (i % 7));
      const destination = (i: number) => (Math.floor(i / 25) % 5 === 4 ? b : a);
      for (let i = 0; i < 250; i++) expect(write(sender, i, length(i), { host: '127.0.0.1', port: destination(i).port })).toBe(true);
      expect(sender.sendBatch(250)).toBe(true);
      await within(Promise.all([toA.done, toB.done]));
      const sent = [...Array(250).keys()];
      for (const [receiver, indexes] of [
        [toA, sent.filter((i) => destination(i) === a)],
        [toB, sent.filter((i) => destination(i) === b)],
      ] as const) {
        expect(receiver.received.length).toBe(indexes.length);
        receiver.received.forEach((datagram, k) => {
          expectIntact(datagram, indexes[k] as number, length(indexes[k] as number));
          expect(datagram.from).toEqual({ host: '127.0.0.1', port: sender.port });
        });
        // One call into JavaScript per many datagrams, not one each.
        expect(receiver.batches()).toBeLessThan(indexes.length / 4);
      }
      const stats = sender.stats();
      expect(stats.datagramsSent).toBe(250);
      expect(stats.sendCalls).toBe(1);
      expect(stats.gsoMessages > 0).toBe(offloads && stats.gso);
    });
  }

  it('an error to one destination costs that datagram only: the rest of the batch and later batches go out', async () => {
    const sender = socket();
    const receiver = socket();
    const collected = collect(receiver, 6);
    const good = { host: '127.0.0.1', port: receiver.port };
    write(sender, 0, 1000, good);
    write(sender, 1, 1000, good);
    write(sender, 2, 1000, { host: '127.0.0.1', port: 0 }); // EINVAL from the kernel
    write(sender, 3, 1000, good);
    write(sender, 4, 1000, { host: '::1', port: receiver.port }); // IPv6 on an IPv4 socket
    write(sender, 5, 1000, good);
    expect(write(sender, 6, 1000, { host: 'not-an-address', port: receiver.port })).toBe(false);
    expect(sender.sendBatch(6)).toBe(true);
    expect(sender.stats().sendErrors).toBe(2);
    for (let i = 0; i < 2; i++) write(sender, i, 500, good);
    expect(sender.sendBatch(2)).toBe(true);
    await within(collected.done);
    expect(collected.received.map((datagram) => datagram.data.length)).toEqual([1000, 1000, 1000, 1000, 500, 500]);
  });

  it('ICMP port unreachable from a closed port does not stop the socket sending or receiving', async () => {
    const sender = socket();
    const closed = socket();
    const closedPort = closed.port;
    closed.close();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 10; i++) write(sender, i, 1200, { host: '127.0.0.1', port: closedPort });
      expect(sender.sendBatch(10)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const peer = socket();
    const back = collect(sender, 5);
    const there = collect(peer, 5);
    for (let i = 0; i < 5; i++) write(peer, i, 800, { host: '127.0.0.1', port: sender.port });
    peer.sendBatch(5);
    for (let i = 0; i < 5; i++) write(sender, i, 800, { host: '127.0.0.1', port: peer.port });
    sender.sendBatch(5);
    await within(Promise.all([back.done, there.done]));
  });

  it('binds like node:dgram: EADDRINUSE on a taken port, the port free again as soon as close() returns, buffer sizes set', () => {
    const first = socket();
    expect(() => socket({ port: first.port })).toThrow(expect.objectContaining({ code: 'EADDRINUSE', syscall: 'bind' }));
    const port = first.port;
    first.close();
    const again = socket({ port });
    expect(again.port).toBe(port);
    again.setRecvBufferSize(1 << 20);
    again.setSendBufferSize(1 << 19);
    // Linux doubles the value (and caps it at rmem_max / wmem_max).
    expect(again.getRecvBufferSize()).toBeGreaterThan(0);
    expect(again.getSendBufferSize()).toBeGreaterThan(0);
  });

  it('signals backpressure: sendBatch returns false when the kernel refuses datagrams, keeps them in order, and onDrain fires once they left', () => {
    // Its own network namespace, with a slow token-bucket queue on loopback (root or user namespaces).
    const result = spawnSync('unshare', ['-rn', process.execPath, '--import', 'tsx', 'test/helpers/batched-udp-backpressure.ts', '200'], { cwd: root, encoding: 'utf8', timeout: 30_000 });
    expect(result.status, result.stderr).toBe(0);
    const outcome = JSON.parse(result.stdout.trim().split('\n').pop() as string) as Record<string, unknown>;
    expect(outcome).toMatchObject({ accepted: false, drains: 1, received: 200, inOrder: true, sendErrors: 0, queueLength: 0 });
    expect(outcome.queuedAtReturn as number).toBeGreaterThan(0);
  });

  it('an endpoint asked for batched I/O where the addon cannot load uses node:dgram and says so in one line', () => {
    const script = "import { QuicEndpoint } from './src/transport/quic/endpoint.ts'; const e = await QuicEndpoint.bind(); const f = await QuicEndpoint.bind(); console.log(e.stats().io, f.stats().io); await e.close(); await f.close();";
    // QFAAS_PREBUILD (node-gyp-build: <package name>_PREBUILD) points it at a directory with neither
    // build/ nor prebuilds/, since `npm run build:native` fills both in the repository.
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, QFAAS_UDP: 'batched', PREBUILDS_ONLY: '1', QFAAS_PREBUILD: join(root, 'no-such-directory') },
      timeout: 30_000,
    });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe('dgram dgram');
    const notices = result.stderr.split('\n').filter((line) => line.includes('QFAAS_UDP_FALLBACK') || line.includes('batched UDP I/O unavailable'));
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/batched UDP I\/O unavailable, using node:dgram \(No native build was found/);
  });

  it('the prebuilt binary that build:native leaves in prebuilds/ loads without build/', () => {
    const script = "import { QuicEndpoint } from './src/transport/quic/endpoint.ts'; const e = await QuicEndpoint.bind({ io: 'batched' }); console.log(e.stats().io); await e.close();";
    // PREBUILDS_ONLY: node-gyp-build skips build/ and looks in prebuilds/ only, as in an installed package.
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', env: { ...process.env, PREBUILDS_ONLY: '1' }, timeout: 30_000 });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe('batched');
    expect(result.stderr).not.toMatch(/QFAAS_UDP_FALLBACK|batched UDP I\/O unavailable/);
  });

  it('an endpoint uses the addon by default and node:dgram with QFAAS_UDP=dgram; another value is refused naming QFAAS_UDP', () => {
    const script = "import { QuicEndpoint } from './src/transport/quic/endpoint.ts'; const e = await QuicEndpoint.bind(); console.log(e.stats().io, e.stats().batchedIo?.gro); await e.close();";
    const withUdp = (value: string | undefined) => {
      const env = { ...process.env };
      delete env.QFAAS_UDP;
      if (value !== undefined) env.QFAAS_UDP = value;
      return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', env, timeout: 30_000 });
    };
    for (const value of [undefined, '', 'batched']) {
      const result = withUdp(value);
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout.trim()).toMatch(/^batched (true|false)$/);
    }
    const dgram = withUdp('dgram');
    expect(dgram.status, dgram.stderr).toBe(0);
    expect(dgram.stdout.trim()).toBe('dgram undefined');
    const wrong = withUdp('uring');
    expect(wrong.status).not.toBe(0);
    expect(wrong.stderr).toMatch(/QFAAS_UDP.*must be 'dgram' or 'batched', not "uring"/);
  });
});
