import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createQuicClient,
  createQuicServer,
  createQuicConfig,
  QuicStreamResetError,
  QuicStreamStoppedError,
  type QuicConnection,
  type QuicEndpoint,
  type QuicStream,
} from '../../src/transport/index.js';
import { clientConfig, createTestPki, serverName, type TestPki } from '../helpers/quic.js';

/** Deterministic pseudo-random bytes, so both sides can hash what they expect without storing it. */
function patternChunk(seed: number, length: number): Buffer {
  const chunk = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    chunk.writeUInt32LE(x >>> 0, i);
  }
  return chunk;
}

async function writeAndHash(stream: QuicStream, total: number, chunkSize: number, seed: number): Promise<string> {
  const hash = createHash('sha256');
  for (let sent = 0, i = 0; sent < total; sent += chunkSize, i++) {
    const chunk = patternChunk(seed + i, Math.min(chunkSize, total - sent));
    hash.update(chunk);
    await stream.write(chunk);
  }
  await stream.end();
  return hash.digest('hex');
}

async function readAndHash(stream: QuicStream): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

type ServerBehaviour = (stream: QuicStream, connection: QuicConnection) => void;

describe('QUIC streams over UDP on loopback', () => {
  let pki: TestPki;
  let server: QuicEndpoint;
  let client: QuicEndpoint;
  let behaviour: ServerBehaviour = () => undefined;
  const serverResults: Array<Promise<unknown>> = [];
  const serverUniStreams: Array<{ id: number; text: Promise<string> }> = [];

  beforeAll(async () => {
    pki = await createTestPki();
    server = await createQuicServer({
      config: createQuicConfig({ role: 'server', caPem: pki.ca.certPem, certificate: pki.server }),
      onConnection(connection) {
        connection.onStream = (stream) => {
          if (!stream.bidirectional) {
            serverUniStreams.push({ id: stream.id, text: stream.readAll().then((b) => b.toString()) });
            return;
          }
          behaviour(stream, connection);
        };
      },
    });
    client = await createQuicClient();
  });
  afterAll(async () => {
    await client.close();
    await server.close();
  });

  const connect = () =>
    client.connect({ host: '127.0.0.1', port: server.address.port, serverName, config: clientConfig(pki) });

  it('multiplexes 100 concurrent streams on one connection', async () => {
    behaviour = (stream) => {
      void stream.readAll().then((body) => stream.end(Buffer.concat([Buffer.from('re:'), body])));
    };
    const connection = connect();
    const replies = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const stream = await connection.openBidirectionalStream();
        await stream.end(Buffer.from(`request ${i}`));
        return (await stream.readAll()).toString();
      }),
    );
    expect(replies).toEqual(Array.from({ length: 100 }, (_, i) => `re:request ${i}`));
    await connection.close();
  });

  it('moves 16 MiB each way on one stream, intact (SHA-256)', async () => {
    const size = 16 * 1024 * 1024;
    behaviour = (stream) => {
      serverResults.push(Promise.all([readAndHash(stream), writeAndHash(stream, size, 60_000, 9_000)]));
    };
    const connection = connect();
    const stream = await connection.openBidirectionalStream();
    const [sentHash, received] = await Promise.all([writeAndHash(stream, size, 100_000, 1), readAndHash(stream)]);
    const [serverReceived, serverSentHash] = (await serverResults.pop()) as [{ sha256: string; bytes: number }, string];
    expect(serverReceived).toEqual({ sha256: sentHash, bytes: size });
    expect(received).toEqual({ sha256: serverSentHash, bytes: size });
    await connection.close();
  }, 60_000);

  it('applies backpressure: an unread stream stops the writer at the flow-control window', async () => {
    let serverStream: QuicStream | undefined;
    behaviour = (stream) => {
      serverStream = stream;
    };
    const window = 64 * 1024;
    const connection = client.connect({
      host: '127.0.0.1',
      port: server.address.port,
      serverName,
      config: clientConfig(pki),
    });
    const stream = await connection.openBidirectionalStream();
    // The server's per-stream window is 1 MiB: far more than that cannot be accepted unread.
    let written = 0;
    let blocked = false;
    for (let i = 0; i < 64 && !blocked; i++) {
      const write = stream.write(Buffer.alloc(window, i));
      const settled = await Promise.race([write.then(() => true), new Promise((r) => setTimeout(() => r(false), 50))]);
      if (settled) written += window;
      else blocked = true;
    }
    expect(blocked).toBe(true);
    expect(stream.writableCapacity).toBe(0);
    expect(written).toBeGreaterThanOrEqual(512 * 1024);
    expect(written).toBeLessThan(4 * 1024 * 1024);
    // Reading on the server side releases the writer.
    const drained = readAndHash(serverStream as QuicStream);
    await stream.end();
    const result = await drained;
    expect(result.bytes).toBe(written + window);
    await connection.close();
  });

  it('carries a reset to the reader and a stop-sending to the writer, with their codes', async () => {
    let serverStream: QuicStream | undefined;
    behaviour = (stream) => {
      serverStream = stream;
    };
    const connection = connect();
    const stream = await connection.openBidirectionalStream();
    await stream.write(Buffer.from('partial'));
    await expect.poll(() => serverStream).toBeDefined();
    const target = serverStream as QuicStream;

    target.reset(0x10c);
    await expect(stream.read()).rejects.toMatchObject({ name: 'QuicStreamResetError', errorCode: 0x10c });

    target.stopSending(0x10b);
    const failure = await (async () => {
      for (let i = 0; i < 100; i++) {
        try {
          await stream.write(Buffer.alloc(1024));
          await new Promise((r) => setTimeout(r, 5));
        } catch (error) {
          return error;
        }
      }
      return undefined;
    })();
    expect(failure).toBeInstanceOf(QuicStreamStoppedError);
    expect((failure as QuicStreamStoppedError).errorCode).toBe(0x10b);
    expect(failure).not.toBeInstanceOf(QuicStreamResetError);
    await connection.close();
  });

  it('opens unidirectional streams both ways', async () => {
    const fromServer: string[] = [];
    let serverConnection: QuicConnection | undefined;
    behaviour = (stream, connection) => {
      serverConnection = connection;
      void stream.readAll().then(() => stream.end());
    };
    const connection = connect();
    connection.onStream = (stream) => {
      expect(stream.bidirectional).toBe(false);
      expect(stream.locallyInitiated).toBe(false);
      void stream.readAll().then((body) => fromServer.push(body.toString()));
    };
    const uni = await connection.openUnidirectionalStream();
    expect(uni.id & 0x3).toBe(0x2);
    await uni.end(Buffer.from('client control stream'));
    // A bidirectional exchange makes the server's connection object reachable here.
    const bidi = await connection.openBidirectionalStream();
    await bidi.end(Buffer.from('x'));
    await bidi.readAll();
    const serverUni = await (serverConnection as QuicConnection).openUnidirectionalStream();
    expect(serverUni.id & 0x3).toBe(0x3);
    await serverUni.end(Buffer.from('server control stream'));
    await expect.poll(() => fromServer).toEqual(['server control stream']);
    const received = serverUniStreams.at(-1);
    expect(await received?.text).toBe('client control stream');
    await expect(uni.read()).resolves.toBeNull();
    await connection.close();
  });

  it('reuses its send buffers: no allocation per packet once traffic is steady', async () => {
    behaviour = (stream) => {
      void stream.readAll().then((body) => stream.end(body));
    };
    const connection = connect();
    const echo = async (size: number) => {
      const stream = await connection.openBidirectionalStream();
      await stream.end(randomBytes(size));
      return (await stream.readAll()).length;
    };
    for (let i = 0; i < 50; i++) await echo(4000);
    const allocatedAfterWarmup = client.stats().sendBuffersAllocated;
    const sentBefore = connection.stats().packetsSent;
    for (let i = 0; i < 300; i++) expect(await echo(4000)).toBe(4000);
    const packets = connection.stats().packetsSent - sentBefore;
    expect(packets).toBeGreaterThan(600);
    expect(client.stats().sendBuffersAllocated).toBe(allocatedAfterWarmup);
    await connection.close();
  });
});
