import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { QuicEndpoint } from '../../src/transport/index.js';
import {
  clientConfig,
  createQuicClient,
  request,
  serverName,
  startTestServer,
  useQuicTestbed,
  type TestServer,
} from '../helpers/quic.js';

describe('0-RTT over UDP on loopback', () => {
  const testbed = useQuicTestbed();

  const server = async (ticketKey: Uint8Array) => {
    const started = await startTestServer(testbed.pki, { ticketKey });
    testbed.track(started);
    return started;
  };
  const client = async () => {
    const endpoint = await createQuicClient();
    testbed.track(endpoint);
    return endpoint;
  };

  /** A full handshake that returns the session ticket the server issued. */
  const sessionFrom = async (endpoint: QuicEndpoint, target: TestServer): Promise<Uint8Array> => {
    const tickets: Uint8Array[] = [];
    const connection = endpoint.connect({
      host: '127.0.0.1',
      port: target.port,
      serverName,
      config: clientConfig(testbed.pki),
      onSessionTicket: (session) => tickets.push(session),
    });
    expect((await request(connection, Buffer.from('first'))).toString()).toBe('echo:first');
    const info = await connection.handshake;
    expect(info).toMatchObject({ resumed: false, earlyDataAccepted: false });
    expect(connection.earlyDataAttempted).toBe(false);
    await connection.close();
    expect(target.requests.at(-1)?.earlyData).toBe(false);
    expect(tickets.length).toBeGreaterThan(0);
    return tickets.at(-1) as Uint8Array;
  };

  it('answers over 1-RTT first, then the stored session carries the next request in early data', async () => {
    const ticketKey = randomBytes(48);
    const target = await server(ticketKey);
    const endpoint = await client();
    const session = await sessionFrom(endpoint, target);

    const connection = endpoint.connect({ host: '127.0.0.1', port: target.port, serverName, config: clientConfig(testbed.pki), session });
    // Streams are usable before any packet has left: the request rides in the first flight.
    const stream = await connection.openBidirectionalStream();
    expect(connection.handshakeCompleted).toBe(false);
    await stream.end(Buffer.from('second'));
    expect((await stream.readAll()).toString()).toBe('echo:second');
    expect(connection.earlyDataAttempted).toBe(true);
    expect(await connection.handshake).toMatchObject({ resumed: true, earlyDataAccepted: true });
    expect(stream.earlyData).toBe(true);

    const observed = target.requests.at(-1);
    expect(observed?.body.toString()).toBe('second');
    expect(observed?.earlyData).toBe(true);
    expect(observed?.connectionInEarlyData).toBe(true);
  });

  it('a server instance started after the session was issued, with the same ticket key, accepts it in 0-RTT', async () => {
    const ticketKey = randomBytes(48);
    const first = await server(ticketKey);
    const endpoint = await client();
    const session = await sessionFrom(endpoint, first);
    await first.close();

    const second = await server(Uint8Array.from(ticketKey));
    expect(second.port).not.toBe(first.port);
    const connection = endpoint.connect({ host: '127.0.0.1', port: second.port, serverName, config: clientConfig(testbed.pki), session });
    expect((await request(connection, Buffer.from('to the new instance'))).toString()).toBe('echo:to the new instance');
    expect(await connection.handshake).toMatchObject({ resumed: true, earlyDataAccepted: true });
    expect(second.requests).toHaveLength(1);
    expect(second.requests[0]?.earlyData).toBe(true);
  });

  it('a server with another ticket key rejects the 0-RTT data, and the request still completes over 1-RTT', async () => {
    const issuing = await server(randomBytes(48));
    const endpoint = await client();
    const session = await sessionFrom(endpoint, issuing);

    const other = await server(randomBytes(48));
    const tickets: Uint8Array[] = [];
    const connection = endpoint.connect({
      host: '127.0.0.1',
      port: other.port,
      serverName,
      config: clientConfig(testbed.pki),
      session,
      onSessionTicket: (fresh) => tickets.push(fresh),
    });
    const stream = await connection.openBidirectionalStream();
    await stream.end(Buffer.from('must not be lost'));
    expect((await stream.readAll()).toString()).toBe('echo:must not be lost');
    expect(connection.earlyDataAttempted).toBe(true);
    expect(await connection.handshake).toMatchObject({ resumed: false, earlyDataAccepted: false });
    expect(stream.earlyData).toBe(false);
    expect(other.requests).toHaveLength(1);
    expect(other.requests[0]?.earlyData).toBe(false);
    // The rejecting server issues its own ticket, so the caller can replace the stale one.
    await expect.poll(() => tickets.length).toBeGreaterThan(0);
  });

  it('a client without a session waits for the handshake: nothing leaves in early data', async () => {
    const target = await server(randomBytes(48));
    const endpoint = await client();
    const connection = endpoint.connect({ host: '127.0.0.1', port: target.port, serverName, config: clientConfig(testbed.pki) });
    const opened = connection.openBidirectionalStream();
    expect(connection.handshakeCompleted).toBe(false);
    const stream = await opened;
    expect(connection.handshakeCompleted).toBe(true);
    await stream.end(Buffer.from('after handshake'));
    await stream.readAll();
    expect(target.requests[0]?.earlyData).toBe(false);
  });
});
