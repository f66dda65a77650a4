import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AmplificationLimit } from '../../src/transport/quic/amplification-limit.js';
import { HalfOpenSet } from '../../src/transport/quic/half-open.js';
import type { QuicEndpoint } from '../../src/transport/index.js';
import { flood, genuineInitial, genuineInitials, openSilentPeer } from '../helpers/attack-traffic.js';
import { clientConfig, createQuicClient, request, serverName, startTestServer, useQuicTestbed, type TestServer } from '../helpers/quic.js';

describe('HalfOpenSet (sans-I/O)', () => {
  it('keeps arrival order, expires from the front, and forgets completed handshakes', () => {
    const set = new HalfOpenSet<string>(100);
    set.add('a', 0);
    set.add('b', 10);
    set.add('c', 20);
    expect(set.oldest()).toBe('a');
    expect(set.nextDeadline()).toBe(100);
    set.delete('a');
    expect(set.oldest()).toBe('b');
    expect(set.takeExpired(109)).toEqual([]);
    expect(set.takeExpired(115)).toEqual(['b']);
    expect(set.size).toBe(1);
    expect(set.nextDeadline()).toBe(120);
  });

  it('with timeout 0 nothing expires', () => {
    const set = new HalfOpenSet<string>(0);
    set.add('a', 0);
    expect(set.nextDeadline()).toBeUndefined();
    expect(set.takeExpired(Number.MAX_SAFE_INTEGER)).toEqual([]);
  });
});

describe('AmplificationLimit (sans-I/O)', () => {
  it('allows exactly three times what was received, and more as more arrives', () => {
    const limit = new AmplificationLimit(1200);
    expect(limit.trySend(1200)).toBe(true);
    expect(limit.trySend(1200)).toBe(true);
    expect(limit.trySend(1201)).toBe(false);
    expect(limit.trySend(1200)).toBe(true);
    expect(limit.trySend(1)).toBe(false);
    expect(limit.bytesSent).toBe(3600);
    limit.received(100);
    expect(limit.trySend(300)).toBe(true);
    expect(limit.trySend(1)).toBe(false);
  });
});

describe('half-open connections on the endpoint', () => {
  const testbed = useQuicTestbed();
  const setup = async (options: Parameters<typeof startTestServer>[1] = {}) => {
    const server = await startTestServer(testbed.pki, options);
    const client = await createQuicClient();
    const attacker = await openSilentPeer();
    testbed.track(server, client, attacker);
    return { server, client, attacker };
  };
  const honest = (client: QuicEndpoint, server: TestServer, session?: Uint8Array) =>
    client.connect({ host: '127.0.0.1', port: server.port, serverName, config: clientConfig(testbed.pki), ...(session === undefined ? {} : { session }) });
  const attackerConfig = () => clientConfig(testbed.pki, { withCertificate: false });

  it('a flood of Initials does not lock out an honest client, even with room for only 50 connections', async () => {
    const { server, client, attacker } = await setup({ admission: { maxConnections: 50 } });
    const initials = genuineInitials(600, attackerConfig(), serverName);
    await flood(attacker, server.port, initials);
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Before the defences every Initial held a connection until the idle timeout: the 51st and
    // later ones, and then the honest client, were refused (CONNECTION_REFUSED).
    const connection = honest(client, server);
    expect((await request(connection, Buffer.from('let me in'))).toString()).toBe('echo:let me in');
    const stats = server.endpoint.stats();
    expect(stats.halfOpenConnections).toBeLessThanOrEqual(100);
    expect(stats.retriesSent).toBeGreaterThanOrEqual(500);
    expect(stats.connectionsRefused).toBe(0);
  });

  it('drops a handshake that has not completed within handshakeTimeoutMs, with its state', async () => {
    const { server, attacker } = await setup({ admission: { handshakeTimeoutMs: 300 }, transport: { maxIdleTimeoutMs: 30_000 } });
    await attacker.send(genuineInitial(attackerConfig(), serverName), server.port);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.endpoint.stats()).toMatchObject({ connections: 1, halfOpenConnections: 1 });
    await new Promise((resolve) => setTimeout(resolve, 600));
    // Not the 30 s idle timeout.
    expect(server.endpoint.stats()).toMatchObject({ connections: 0, halfOpenConnections: 0, handshakeTimeouts: 1 });
  });

  it('without Retry, maxHalfOpenConnections bounds the flood and the oldest half-open connection makes room', async () => {
    const { server, client, attacker } = await setup({ retry: false, admission: { maxHalfOpenConnections: 20, handshakeTimeoutMs: 1000 } });
    await flood(attacker, server.port, genuineInitials(200, attackerConfig(), serverName));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const stats = server.endpoint.stats();
    expect(stats.retriesSent).toBe(0);
    expect(stats.halfOpenConnections).toBeLessThanOrEqual(20);
    expect(stats.halfOpenEvicted).toBeGreaterThanOrEqual(180);
    const connection = honest(client, server);
    expect((await request(connection, Buffer.from('still served'))).toString()).toBe('echo:still served');
    // and the survivors go at their handshake timeout
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(server.endpoint.stats()).toMatchObject({ halfOpenConnections: 0, connections: 1 });
  });

  it('below the threshold no Retry (0-RTT keeps its single round trip); above it, a Retry, and the session still resumes', async () => {
    const ticketKey = randomBytes(48);
    const { server, client, attacker } = await setup({ ticketKey, retry: { halfOpenThreshold: 10 }, admission: { handshakeTimeoutMs: 20_000 } });
    const tickets: Uint8Array[] = [];
    const first = client.connect({
      host: '127.0.0.1',
      port: server.port,
      serverName,
      config: clientConfig(testbed.pki),
      onSessionTicket: (session) => tickets.push(session),
    });
    await request(first, Buffer.from('first'));
    await first.close();
    const session = tickets.at(-1) as Uint8Array;
    expect(server.endpoint.stats().retriesSent).toBe(0);

    const calm = honest(client, server, session);
    expect((await request(calm, Buffer.from('calm'))).toString()).toBe('echo:calm');
    expect(calm.earlyDataAttempted).toBe(true);
    expect(server.endpoint.stats().retriesSent).toBe(0);
    expect(server.requests.at(-1)?.earlyData).toBe(true);

    // The client's Finished follows its request: give the server a moment to complete the handshake.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.endpoint.stats().halfOpenConnections).toBe(0);
    // Ten handshakes that never complete: the next new client gets a Retry.
    await flood(attacker, server.port, genuineInitials(10, attackerConfig(), serverName));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.endpoint.stats().halfOpenConnections).toBe(10);
    const busy = honest(client, server, session);
    expect((await request(busy, Buffer.from('busy'))).toString()).toBe('echo:busy');
    expect(server.endpoint.stats().retriesSent).toBe(1);
    // The session resumes after the Retry, but quiche sends the request again in 1-RTT once the
    // handshake completes (measured): the client must not report it as accepted early data.
    const info = await busy.handshake;
    expect(info.resumed).toBe(true);
    expect(info.earlyDataAccepted).toBe(server.requests.at(-1)?.earlyData);
  });
});
