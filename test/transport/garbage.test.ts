import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quiche, Type } from '../../src/transport/quic/binding.js';
import { QuicConnectionDriver, type QuicEndpoint } from '../../src/transport/index.js';
import {
  clientConfig,
  createQuicClient,
  createTestPki,
  request,
  serverName,
  startTestServer,
  type TestPki,
  type TestServer,
} from '../helpers/quic.js';

/** A genuine client Initial datagram, made by a driver that never touches a socket. */
function clientInitial(pki: TestPki): Uint8Array {
  const driver = QuicConnectionDriver.connect({
    config: clientConfig(pki),
    serverName,
    sourceId: randomBytes(16),
    local: { host: '127.0.0.1', port: 1 },
    remote: { host: '127.0.0.1', port: 2 },
  });
  const [first] = driver.datagramsToSend(performance.now());
  return first as Uint8Array;
}

describe('garbage sent to the server port', () => {
  let pki: TestPki;
  let server: TestServer;
  let raw: dgram.Socket;
  let client: QuicEndpoint;
  const replies: Buffer[] = [];

  beforeAll(async () => {
    pki = await createTestPki();
    server = await startTestServer(pki);
    client = await createQuicClient();
    raw = dgram.createSocket('udp4');
    raw.on('message', (message) => replies.push(message));
    await new Promise<void>((resolve) => raw.bind(0, '127.0.0.1', () => resolve()));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => raw.close(() => resolve()));
    await client.close();
    await server.close();
  });

  // One datagram per event-loop turn, so the server drains its socket and the kernel drops none.
  const send = async (datagram: Uint8Array) => {
    await new Promise<void>((resolve) => raw.send(datagram, server.port, '127.0.0.1', () => resolve()));
    await new Promise((resolve) => setImmediate(resolve));
  };

  it('drops random bytes, truncated headers and empty datagrams, answers a bad version, and keeps serving', async () => {
    const initial = clientInitial(pki);
    expect(initial.length).toBeGreaterThanOrEqual(1200);

    await send(new Uint8Array(0));
    for (let i = 0; i < 300; i++) await send(randomBytes(1 + ((i * 37) % 1400)));
    // Long headers cut short at every length up to the end of the connection IDs, and well beyond.
    for (let cut = 1; cut < 80; cut++) await send(initial.subarray(0, cut));
    for (const cut of [200, 600, 1199]) await send(initial.subarray(0, cut));
    // A genuine Initial with its payload scrambled: the header is fine, decryption is not.
    const scrambled = Uint8Array.from(initial);
    for (let i = 60; i < scrambled.length; i++) scrambled[i] = (scrambled[i] as number) ^ 0x5a;
    await send(scrambled);
    // A genuine Initial announcing an unknown version must get a Version Negotiation packet.
    const badVersion = Uint8Array.from(clientInitial(pki));
    badVersion.set([0x1a, 0x2a, 0x3a, 0x4a], 1);
    await send(badVersion);

    // Random datagrams of 1200 bytes or more that look like long headers also get one (stateless,
    // never larger than what was received); find the answer to our Initial by its connection ID.
    const clientId = Buffer.from(quiche.Header.fromSlice(Uint8Array.from(badVersion), 16).scid);
    const answer = () =>
      replies
        .map((reply) => quiche.Header.fromSlice(reply, 16))
        .find((header) => Buffer.from(header.dcid).equals(clientId));
    await expect.poll(answer).toBeDefined();
    const negotiation = answer();
    expect(negotiation?.ty).toBe(Type.VersionNegotiation);
    expect(negotiation?.versions).toContain(quiche.PROTOCOL_VERSION);
    expect(replies.every((reply) => reply.length < 1200)).toBe(true);
    const stats = server.endpoint.stats();
    expect(stats.versionNegotiationsSent).toBe(replies.length);
    // Nothing here could start a connection, not even the scrambled Initial.
    expect(stats.connections).toBe(0);
    expect(stats.datagramsReceived).toBe(1 + 300 + 79 + 3 + 1 + 1);
    expect(stats.datagramsDropped).toBe(stats.datagramsReceived - stats.versionNegotiationsSent);
    expect(server.requests).toHaveLength(0);

    const connection = client.connect({ host: '127.0.0.1', port: server.port, serverName, config: clientConfig(pki) });
    expect((await request(connection, Buffer.from('still here'))).toString()).toBe('echo:still here');
    await connection.close();
  });

  it('a short Initial (under 1200 bytes) does not start a connection', async () => {
    // The previous test's connection finishes its closing period first.
    await expect.poll(() => server.endpoint.stats().connections, { timeout: 5000 }).toBe(0);
    const before = server.endpoint.stats();
    const initial = clientInitial(pki);
    await send(initial.subarray(0, 1100));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const after = server.endpoint.stats();
    expect(after.datagramsDropped - before.datagramsDropped).toBe(1);
    expect(after.connections).toBe(0);
  });
});
