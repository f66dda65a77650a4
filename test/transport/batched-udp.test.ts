/**
 * The batched UDP addon (native/udp_batch.c, issue 17), built by `npm run build:native`: many
 * datagrams per call each way, errors to one destination that leave the socket working, the
 * backpressure signal (in a network namespace of its own, where a slow queue on loopback makes the
 * kernel refuse datagrams), the endpoint's fallback to node:dgram where the addon cannot load, and
 * IPv6 link-local peers with their zone (two network namespaces joined by a veth pair; root).
 */
import { execFile, execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isRoot } from '../../bench/link/delay-link.js';
import { QfaasConfigError } from '../../src/errors.js';
import { BatchedUdpSocket, loadBatchedUdp } from '../../src/transport/quic/batched-udp.js';
import type { HostPort } from '../../src/transport/quic/connection-driver.js';
import { createQuicConfig } from '../../src/transport/quic/config.js';
import { QuicEndpoint } from '../../src/transport/quic/endpoint.js';
import { createTestPki } from '../helpers/quic.js';

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

  it('an IPv6 zone is an interface name or index that exists here: one that names none is refused like a non-address (describe, bind, connect)', async () => {
    const sender = new BatchedUdpSocket(addon, 6, { host: '::1', port: 0 });
    open.push(sender);
    // The loopback device is interface 1 in every network namespace.
    expect(addon.parseAddress('fe80::1%lo')).toEqual([6, 0xfe800000, 0, 0, 1, 1]);
    expect(addon.parseAddress('fe80::1%1')).toEqual([6, 0xfe800000, 0, 0, 1, 1]);
    for (const host of ['fe80::1%no-such-if', 'fe80::1%999999', 'fe80::1%', 'fe80::1%1x', '127.0.0.1%lo', `fe80::1%${'x'.repeat(40)}`]) {
      expect(addon.parseAddress(host), host).toBeUndefined();
      expect(write(sender, 0, 100, { host, port: 9 }), host).toBe(false);
    }
    expect(write(sender, 0, 100, { host: 'fe80::1%lo', port: 9 })).toBe(true);
    // Reported as node:dgram does: the zone, by name, for a link-local address only.
    expect(addon.formatAddress(6, 0xfe800000, 0, 0, 1, 1)).toBe('fe80::1%lo');
    expect(addon.formatAddress(6, 0xfe800000, 0, 0, 1, 0)).toBe('fe80::1');
    expect(addon.formatAddress(6, 0x20010db8, 0, 0, 1, 1)).toBe('2001:db8::1');
    // An interface gone since: its index, which can still be sent to if it comes back.
    expect(addon.formatAddress(6, 0xfe800000, 0, 0, 1, 999999)).toBe('fe80::1%999999');
    // node:dgram's bind says EINVAL here too (libuv drops the unknown zone; the kernel wants one).
    expect(() => new BatchedUdpSocket(addon, 6, { host: 'fe80::1%no-such-if', port: 0 })).toThrow(expect.objectContaining({ code: 'EINVAL', syscall: 'bind' }));
    const endpoint = await QuicEndpoint.bind({ host: '::1', io: 'batched' });
    try {
      const pki = await createTestPki();
      expect(() => endpoint.connect({ host: 'fe80::1%no-such-if', port: 443, config: createQuicConfig({ role: 'client', caPem: pki.ca.certPem }) })).toThrow(QfaasConfigError);
    } finally {
      await endpoint.close();
    }
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

const run = promisify(execFile);

/**
 * Two network namespaces joined by a veth pair, fe80::1 on vA in one and fe80::2 on vB in the
 * other, no other addresses. Each also has a decoy veth whose fe80::/64 route is preferred: a
 * datagram sent without the zone (or with the wrong one) goes there and is lost, so an answer
 * proves the zone was used, both ways.
 */
interface LinkLocalPair {
  readonly a: string;
  readonly b: string;
  /** vA's interface index in namespace a. */
  readonly indexA: number;
  /** Starts a test/helpers/link-local-peer.ts role inside a namespace, its stdout read line by line as JSON. */
  start(namespace: string, args: string[]): Promise<Peer>;
  /** Runs a role to its end; its last line as JSON. */
  runRole<T>(namespace: string, args: string[]): Promise<T>;
  close(): void;
}

interface Peer {
  port: number;
  /** Lines after the first ({"port"}). */
  readonly lines: Array<Record<string, unknown>>;
  stop(): Promise<void>;
}

function createLinkLocalPair(env: NodeJS.ProcessEnv): LinkLocalPair {
  const a = `qfaas-ll-a-${process.pid}`;
  const b = `qfaas-ll-b-${process.pid}`;
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  const close = () => {
    for (const namespace of [a, b]) spawnSync('ip', ['netns', 'del', namespace], { stdio: 'ignore' });
  };
  try {
    ip('netns', 'add', a);
    ip('netns', 'add', b);
    ip('link', 'add', 'vA', 'netns', a, 'type', 'veth', 'peer', 'name', 'vB', 'netns', b);
    for (const [namespace, device, address] of [
      [a, 'vA', 'fe80::1/64'],
      [b, 'vB', 'fe80::2/64'],
    ] as const) {
      ip('-n', namespace, 'link', 'set', 'lo', 'up');
      ip('-n', namespace, 'link', 'add', 'decoy0', 'type', 'veth', 'peer', 'name', 'decoy1');
      // No addresses of the kernel's making: the only link-local ones are those set here.
      for (const name of [device, 'decoy0', 'decoy1']) ip('-n', namespace, 'link', 'set', name, 'addrgenmode', 'none');
      for (const name of ['decoy0', 'decoy1']) ip('-n', namespace, 'link', 'set', name, 'up');
      ip('-n', namespace, '-6', 'route', 'add', 'fe80::/64', 'dev', 'decoy0', 'metric', '1');
      ip('-n', namespace, '-6', 'addr', 'add', address, 'dev', device, 'nodad');
      ip('-n', namespace, 'link', 'set', device, 'up');
    }
    const [link] = JSON.parse(ip('-n', a, '-j', 'link', 'show', 'vA')) as Array<{ ifindex: number }>;
    const command = (namespace: string, args: string[]) => ['netns', 'exec', namespace, process.execPath, '--import', 'tsx', 'test/helpers/link-local-peer.ts', ...args];
    const children = new Set<ChildProcess>();
    return {
      a,
      b,
      indexA: link?.ifindex ?? 0,
      async start(namespace, args) {
        const child = spawn('ip', command(namespace, args), { cwd: root, env, stdio: ['pipe', 'pipe', 'inherit'] });
        children.add(child);
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        const lines: Array<Record<string, unknown>> = [];
        const first = new Promise<number>((resolve, reject) => {
          createInterface({ input: child.stdout }).on('line', (line) => {
            const value = JSON.parse(line) as Record<string, unknown>;
            if (typeof value.port === 'number') resolve(value.port);
            else lines.push(value);
          });
          void exited.then(() => reject(new Error(`${args.join(' ')} exited before binding`)));
        });
        // Stopped by closing its stdin (it also goes if this process dies); killed if it hangs.
        const stop = async () => {
          child.stdin.end();
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(timer);
          children.delete(child);
        };
        try {
          return { port: await within(first, 15_000), lines, stop };
        } catch (error) {
          await stop();
          throw error;
        }
      },
      async runRole(namespace, args) {
        const { stdout } = await run('ip', command(namespace, args), { cwd: root, env, timeout: 30_000 });
        return JSON.parse(stdout.trim().split('\n').pop() as string);
      },
      close() {
        for (const child of children) child.kill('SIGKILL');
        close();
      },
    };
  } catch (error) {
    close();
    throw error;
  }
}

describe('IPv6 link-local peers: two network namespaces joined by a veth pair, every socket bound on ::', () => {
  let pair: LinkLocalPair | undefined;
  beforeAll(async () => {
    expect(isRoot(), 'these tests create network namespaces and veth devices: run them as root').toBe(true);
    const pki = await createTestPki();
    const env = { ...process.env, QFAAS_TEST_PKI: JSON.stringify({ caPem: pki.ca.certPem, server: pki.server, client: pki.client }) };
    pair = createLinkLocalPair(env);
  }, 30_000);
  afterAll(() => {
    pair?.close();
    if (pair !== undefined) expect(execFileSync('ip', ['netns', 'list']).toString()).not.toMatch(new RegExp(`qfaas-ll-[ab]-${process.pid}\\b`));
  });

  for (const echoIo of ['dgram', 'batched'] as const) {
    it(`a ${echoIo} receiver sees the sender as fe80::1%vB, and its answer to that address arrives; batched sends to fe80::2%vA and %<index> (node:dgram: %vA)`, async () => {
      const { a, b, indexA, start, runRole } = pair as LinkLocalPair;
      const echo = await start(b, ['echo', echoIo]);
      try {
        type Sent = Array<{ to: string; described: boolean; reply: string | null }>;
        const batched = await runRole<Sent>(a, ['send', 'batched', String(echo.port), 'fe80::2%vA', `fe80::2%${indexA}`, 'fe80::2']);
        const dgram = await runRole<Sent>(a, ['send', 'dgram', String(echo.port), 'fe80::2%vA']);
        expect(batched).toEqual([
          { to: 'fe80::2%vA', described: true, reply: 'fe80::2%vA' },
          { to: `fe80::2%${indexA}`, described: true, reply: 'fe80::2%vA' },
          // Without the zone the kernel takes the decoy's route: lost, as with node:dgram.
          { to: 'fe80::2', described: true, reply: null },
        ]);
        expect(dgram).toEqual([{ to: 'fe80::2%vA', described: true, reply: 'fe80::2%vA' }]);
        // What node:dgram reports (the first run) is what the batched receiver must report.
        expect(echo.lines).toEqual([{ from: 'fe80::1%vB' }, { from: 'fe80::1%vB' }, { from: 'fe80::1%vB' }]);
      } finally {
        await echo.stop();
      }
    }, 30_000);
  }

  it('a QUIC server bound on :: with batched I/O answers clients connecting to fe80::2%vA and %<index>; so does one on node:dgram', async () => {
    const { a, b, indexA, start, runRole } = pair as LinkLocalPair;
    for (const serverIo of ['batched', 'dgram'] as const) {
      const server = await start(b, ['quic-server', serverIo]);
      try {
        const clients = [
          ['batched', 'fe80::2%vA'],
          ['batched', `fe80::2%${indexA}`],
          ['dgram', 'fe80::2%vA'],
        ] as const;
        const results = await Promise.all(clients.map(([io, host]) => runRole<Record<string, unknown>>(a, ['quic-client', io, String(server.port), host])));
        expect(results, `server on ${serverIo}`).toEqual(clients.map(() => ({ response: 'echo:hello' })));
        expect(server.lines, `server on ${serverIo}`).toEqual(clients.map(() => ({ remote: 'fe80::1%vB' })));
      } finally {
        await server.stop();
      }
    }
  }, 60_000);
});
