/**
 * Run by test/transport/batched-udp.test.ts inside a network namespace (`ip netns exec`), one end
 * of a link whose peer is reachable only by an IPv6 link-local address with its zone. Every socket
 * is bound on `::`; `io` is `dgram` (node:dgram) or `batched` (the addon).
 *
 *   echo <io>                    prints {"port"} once bound, then {"from"} for each datagram, which
 *                                it sends back to that address; exits when stdin ends
 *   send <io> <port> <host>...   sends one datagram to each host in turn and waits for its echo;
 *                                prints one JSON line: [{ to, described, reply: from | null }]
 *   quic-server <io>             a QuicEndpoint answering "echo:" + request; prints {"port"}, then
 *                                {"remote"} for each connection; exits when stdin ends
 *   quic-client <io> <port> <host>  one request over a new connection; prints {"response"} or {"error"}
 *
 * The QUIC roles take the PKI (createTestPki's PEMs) as JSON in QFAAS_TEST_PKI.
 */
import dgram from 'node:dgram';
import { createQuicClient, createQuicConfig, createQuicServer } from '../../src/transport/index.js';
import { BatchedUdpSocket, loadBatchedUdp } from '../../src/transport/quic/batched-udp.js';
import type { HostPort } from '../../src/transport/quic/connection-driver.js';

type Io = 'dgram' | 'batched';

/** One UDP socket on [::]:0 of either kind, reduced to what these roles need. */
interface Socket {
  port: number;
  onDatagram: (data: Buffer, from: HostPort) => void;
  /** false: the address was refused before any system call (batched only). */
  send(data: Buffer, to: HostPort): boolean;
  close(): void;
}

async function bindSocket(io: Io): Promise<Socket> {
  if (io === 'dgram') {
    const socket = dgram.createSocket({ type: 'udp6', ipv6Only: true });
    await new Promise<void>((resolve) => socket.bind(0, '::', resolve));
    socket.on('error', () => undefined);
    const wrapped: Socket = {
      port: socket.address().port,
      onDatagram: () => undefined,
      send: (data, to) => {
        socket.send(data, to.port, to.host);
        return true;
      },
      close: () => socket.close(),
    };
    socket.on('message', (data, remote) => wrapped.onDatagram(data, { host: remote.address, port: remote.port }));
    return wrapped;
  }
  const native = loadBatchedUdp();
  if (native instanceof Error) throw native;
  const socket = new BatchedUdpSocket(native, 6, { host: '::', port: 0 });
  const wrapped: Socket = {
    port: socket.port,
    onDatagram: () => undefined,
    send: (data, to) => {
      data.copy(socket.sendBuffer, 0);
      if (!socket.describe(0, 0, data.length, to)) return false;
      socket.sendBatch(1);
      return true;
    },
    close: () => socket.close(),
  };
  socket.onDatagram = (data, from) => wrapped.onDatagram(Buffer.from(data), from);
  return wrapped;
}

const print = (value: unknown): void => console.log(JSON.stringify(value));

/** Resolves when stdin ends: the test closed it, or died. */
const stdinEnded = (): Promise<void> =>
  new Promise((resolve) => {
    process.stdin.on('end', resolve).resume();
  });

function pki(): { caPem: string; server: { certPem: string; keyPem: string }; client: { certPem: string; keyPem: string } } {
  const text = process.env.QFAAS_TEST_PKI;
  if (text === undefined) throw new Error('QFAAS_TEST_PKI is not set');
  return JSON.parse(text) as ReturnType<typeof pki>;
}

const [role, io, ...rest] = process.argv.slice(2) as [string, Io, ...string[]];
if (io !== 'dgram' && io !== 'batched') throw new Error(`io must be dgram or batched, not ${io}`);

if (role === 'echo') {
  const socket = await bindSocket(io);
  socket.onDatagram = (data, from) => {
    print({ from: from.host });
    socket.send(data, from);
  };
  print({ port: socket.port });
  await stdinEnded();
  socket.close();
} else if (role === 'send') {
  const [port, ...hosts] = rest;
  const socket = await bindSocket(io);
  const results: Array<{ to: string; described: boolean; reply: string | null }> = [];
  for (const host of hosts) {
    let timer: NodeJS.Timeout | undefined;
    const reply = new Promise<string | null>((resolve) => {
      socket.onDatagram = (_data, from) => resolve(from.host);
      timer = setTimeout(() => resolve(null), 2000);
    });
    const described = socket.send(Buffer.from(`to ${host}`), { host, port: Number(port) });
    results.push({ to: host, described, reply: described ? await reply : null });
    clearTimeout(timer);
  }
  print(results);
  socket.close();
} else if (role === 'quic-server') {
  const { caPem, server } = pki();
  const endpoint = await createQuicServer({
    host: '::',
    port: 0,
    io,
    config: createQuicConfig({ role: 'server', caPem, certificate: server, clientAuth: 'required' }),
    onConnection(connection) {
      print({ remote: connection.remoteAddress.host });
      connection.onStream = (stream) => {
        void (async () => {
          try {
            await stream.end(Buffer.concat([Buffer.from('echo:'), await stream.readAll()]));
          } catch {
            // a stream the client gave up on
          }
        })();
      };
    },
  });
  print({ port: endpoint.address.port });
  await stdinEnded();
  await endpoint.close();
} else if (role === 'quic-client') {
  const [port, host] = rest as [string, string];
  const { caPem, client } = pki();
  const endpoint = await createQuicClient({ host: '::', io });
  try {
    const connection = endpoint.connect({
      host,
      port: Number(port),
      serverName: 'w1.echo.qfaas.internal',
      config: createQuicConfig({ role: 'client', caPem, certificate: client, transport: { maxIdleTimeoutMs: 3000 } }),
    });
    const stream = await connection.openBidirectionalStream();
    await stream.end(Buffer.from('hello'));
    print({ response: (await stream.readAll()).toString() });
  } catch (error) {
    print({ error: error instanceof Error ? error.message : String(error) });
  } finally {
    await endpoint.close();
  }
} else {
  throw new Error(`unknown role ${role}`);
}
