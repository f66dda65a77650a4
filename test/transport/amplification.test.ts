import { describe, expect, it } from 'vitest';
import { genuineInitial, openSilentPeer } from '../helpers/attack-traffic.js';
import { clientConfig, createQuicClient, request, serverName, startTestServer, useQuicTestbed, type TestPki } from '../helpers/quic.js';

/**
 * RFC 9000 section 8.1: before a peer's address is validated, a server sends at most three times
 * the bytes it received from it. Checked on the wire: a raw socket sends one genuine Initial and
 * never answers, and every byte that comes back is counted, through the server's retransmissions
 * (probe timeouts) until the connection is given up.
 */
describe('anti-amplification (3x before address validation)', () => {
  const testbed = useQuicTestbed();
  // Measured before the limit: 1,200 bytes at once, then probes at 1, 2 and 5 s took the total to
  // 5,659 bytes (4.7x) by 5 s and 7,429 (6.2x) by 21 s. The handshake timeout is off here so that
  // the limit, not the timeout, is what stops the probes.
  const transport = { maxIdleTimeoutMs: 10_000 };
  const admission = { handshakeTimeoutMs: 0 };

  /** A server certificate of about 13 KB: 300 long host names. */
  const withLargeCertificate = async (pki: TestPki): Promise<TestPki> => {
    const hosts = Array.from({ length: 300 }, (_, i) => `h${i}.a-rather-long-host-name.qfaas.internal`);
    const server = await pki.ca.issue({ role: 'worker', name: serverName, hosts: ['127.0.0.1', ...hosts] });
    const client = await pki.ca.issue({ role: 'invoker', name: 'invoker.gateway.qfaas.internal', hosts });
    // The CA certificate appended twice more makes it a chain, as intermediates would.
    const chain = (pem: string | Uint8Array) => [String(pem), pki.ca.certPem, pki.ca.certPem].map((text) => `${text.trim()}\n`).join('');
    return { ca: pki.ca, server: { ...server, certPem: chain(server.certPem) }, client: { ...client, certPem: chain(client.certPem) } };
  };

  const silentInitial = async (pki: TestPki) => {
    const server = await startTestServer(pki, { transport, admission });
    testbed.track(server);
    const peer = await openSilentPeer();
    testbed.track(peer);
    await peer.send(genuineInitial(clientConfig(pki), serverName), server.port);
    await new Promise((resolve) => setTimeout(resolve, 6000));
    return { sent: peer.counts.sent, received: peer.counts.received, datagrams: peer.counts.datagramsReceived, stats: server.endpoint.stats() };
  };

  it('one Initial from an address that never answers draws at most 3x its bytes', async () => {
    const { sent, received, datagrams, stats } = await silentInitial(testbed.pki);
    expect(sent).toBeGreaterThanOrEqual(1200);
    expect(datagrams).toBeGreaterThan(0);
    expect(received).toBeLessThanOrEqual(3 * sent);
    // The connection was still there (the limit, not a timeout, held the probes back).
    expect(stats.halfOpenConnections).toBe(1);
    expect(stats.amplificationLimited).toBeGreaterThan(0);
  }, 20_000);

  it('the same with a large certificate chain', async () => {
    const { sent, received } = await silentInitial(await withLargeCertificate(testbed.pki));
    expect(received).toBeLessThanOrEqual(3 * sent);
  }, 20_000);

  it('handshakes with a large certificate chain on both sides (mutual TLS) still complete', async () => {
    const pki = await withLargeCertificate(testbed.pki);
    const server = await startTestServer(pki);
    const client = await createQuicClient();
    testbed.track(server, client);
    for (let i = 0; i < 3; i++) {
      const connection = client.connect({ host: '127.0.0.1', port: server.port, serverName, config: clientConfig(pki) });
      expect((await request(connection, Buffer.from(`big ${i}`))).toString()).toBe(`echo:big ${i}`);
      await connection.close();
    }
  }, 20_000);
});
