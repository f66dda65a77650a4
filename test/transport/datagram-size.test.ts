import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createQuicClient, QuicEndpoint } from '../../src/transport/index.js';
import { clientConfig, request, serverName, startTestServer, useQuicTestbed } from '../helpers/quic.js';

/**
 * Datagrams above 1500 bytes (jumbo frames): `transport.maxUdpPayloadSize` says how large a
 * connection's datagrams may be, the endpoint's `maxDatagramSize` how large its send buffers are.
 * Loopback carries 64 KiB, so the transfer below crosses it in datagrams of up to 8952 bytes, on
 * whichever datagram I/O this process uses (CI runs the suite on both).
 */
describe('datagram size', () => {
  const testbed = useQuicTestbed();
  const jumbo = 8952;

  it('moves 4 MiB each way intact in datagrams larger than 1500 bytes, and never larger than maxUdpPayloadSize', async () => {
    const server = await startTestServer(testbed.pki, { transport: { maxUdpPayloadSize: jumbo }, respond: (body) => body });
    const client = await QuicEndpoint.bind({ maxDatagramSize: jumbo });
    testbed.track(server, client);
    const connection = client.connect({ host: '127.0.0.1', port: server.port, serverName, config: clientConfig(testbed.pki, { transport: { maxUdpPayloadSize: jumbo } }) });
    await connection.handshake;
    const body = randomBytes(4 << 20);
    const echoed = await request(connection, body);
    expect(createHash('sha256').update(echoed).digest('hex')).toBe(createHash('sha256').update(body).digest('hex'));
    for (const stats of [server.endpoint.stats(), client.stats()]) {
      // 4 MiB in datagrams of at most 1500 bytes would take over 2900 of them.
      expect(stats.datagramsSent).toBeLessThan(1500);
      expect(stats.bytesSent / stats.datagramsSent).toBeGreaterThan(1500);
    }
    const largest = Math.max(...[server.endpoint.stats(), client.stats()].map((stats) => stats.largestDatagramSent));
    expect(largest).toBeGreaterThan(1500);
    expect(largest).toBeLessThanOrEqual(jumbo);
    await connection.close();
  }, 30_000);

  it('createQuicServer sizes its send buffers from its config', async () => {
    const server = await startTestServer(testbed.pki, { transport: { maxUdpPayloadSize: jumbo } });
    testbed.track(server);
    // The same config again on that endpoint: accepted, so its buffers hold jumbo datagrams.
    expect(() => server.endpoint.connect({ host: '127.0.0.1', port: server.port, serverName, config: clientConfig(testbed.pki, { transport: { maxUdpPayloadSize: jumbo } }) })).not.toThrow();
  });

  it('an endpoint refuses a connection whose datagrams would not fit its send buffers, naming the option to raise', async () => {
    const client = await createQuicClient();
    testbed.track(client);
    const connect = () => client.connect({ host: '127.0.0.1', port: 4433, serverName, config: clientConfig(testbed.pki, { transport: { maxUdpPayloadSize: 1501 } }) });
    expect(connect).toThrow(expect.objectContaining({ code: 'QFAAS_INVALID_CONFIG', field: 'transport.maxUdpPayloadSize' }));
    expect(connect).toThrow(/at most 1500 bytes: bind it with maxDatagramSize: 1501/);
  });

  it('refuses sizes quiche would not send or UDP cannot carry, naming the field', async () => {
    for (const size of [1199, 16384, 65000, 1500.5, Number.NaN]) {
      await expect(QuicEndpoint.bind({ maxDatagramSize: size })).rejects.toMatchObject({ code: 'QFAAS_INVALID_CONFIG', field: 'maxDatagramSize' });
    }
    for (const size of [1199, 16384]) {
      expect(() => clientConfig(testbed.pki, { transport: { maxUdpPayloadSize: size } })).toThrow(expect.objectContaining({ field: 'transport.maxUdpPayloadSize' }));
    }
    expect(() => clientConfig(testbed.pki, { transport: { maxUdpPayloadSize: 16384 } })).toThrow(/16383 \(quiche sends no larger datagram\)/);
  });
});
