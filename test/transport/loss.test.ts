import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QuicEndpoint } from '../../src/transport/index.js';
import {
  clientConfig,
  createQuicClient,
  createTestPki,
  serverName,
  startTestServer,
  type TestPki,
  type TestServer,
} from '../helpers/quic.js';
import { startUdpRelay, type UdpRelay } from '../../interop/udp-relay.js';

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

describe('5% random packet loss in both directions', () => {
  let pki: TestPki;
  let server: TestServer;
  let relay: UdpRelay;
  let client: QuicEndpoint;
  const ticketKey = randomBytes(48);

  beforeAll(async () => {
    pki = await createTestPki();
    // The server answers with the SHA-256 of what it received followed by a 1 MiB body derived from it.
    server = await startTestServer(pki, {
      ticketKey,
      respond: (body) => Buffer.concat([Buffer.from(sha256(body)), Buffer.alloc(1024 * 1024, body[0] ?? 0)]),
    });
    relay = await startUdpRelay({ targetPort: server.port, lossRate: 0.05, seed: 20_221_107 });
    client = await createQuicClient();
  });
  afterAll(async () => {
    await client.close();
    await relay.close();
    await server.close();
  });

  it('completes every transfer intact: handshakes, 0-RTT, and 1 MiB each way', async () => {
    let session: Uint8Array | undefined;
    for (let round = 0; round < 6; round++) {
      const connection = client.connect({
        host: '127.0.0.1',
        port: relay.port,
        serverName,
        config: clientConfig(pki),
        ...(session === undefined ? {} : { session }),
        onSessionTicket: (fresh) => {
          session = fresh;
        },
      });
      const transfers = Array.from({ length: 3 }, async (_, i) => {
        const body = randomBytes(1024 * 1024);
        body[0] = round * 3 + i;
        const stream = await connection.openBidirectionalStream();
        await stream.end(body);
        const reply = await stream.readAll();
        expect(reply.subarray(0, 64).toString()).toBe(sha256(body));
        expect(reply.length).toBe(64 + 1024 * 1024);
        expect(reply.subarray(64).every((byte) => byte === body[0])).toBe(true);
      });
      await Promise.all(transfers);
      await connection.close();
    }
    expect(relay.stats.toServer.dropped).toBeGreaterThan(0);
    expect(relay.stats.toClient.dropped).toBeGreaterThan(0);
    // Later rounds resumed with a session from an earlier one.
    expect(server.requests.some((request) => request.earlyData)).toBe(true);
    expect(server.requests).toHaveLength(18);
  }, 120_000);
});
