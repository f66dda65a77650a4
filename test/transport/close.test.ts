import dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import {
  QuicConnectionClosedError,
  QuicIdleTimeoutError,
  isQfaasError,
  type QuicConnection,
} from '../../src/index.js';
import {
  clientConfig,
  createQuicClient,
  request,
  serverName,
  startTestServer,
  useQuicTestbed,
} from '../helpers/quic.js';

describe('closing connections', () => {
  const testbed = useQuicTestbed();

  const setup = async (idleMs?: number) => {
    const transport = idleMs === undefined ? undefined : { maxIdleTimeoutMs: idleMs };
    const server = await startTestServer(testbed.pki, transport === undefined ? {} : { transport });
    const client = await createQuicClient();
    testbed.track(server, client);
    const connection = client.connect({
      host: '127.0.0.1',
      port: server.port,
      serverName,
      config: clientConfig(testbed.pki, transport === undefined ? {} : { transport }),
    });
    await request(connection, Buffer.from('hello'));
    return { server, client, connection, serverConnection: server.connections[0] as QuicConnection };
  };

  it('an idle timeout closes both ends with QuicIdleTimeoutError', async () => {
    const { connection, serverConnection, client } = await setup(300);
    const started = performance.now();
    const [clientReason, serverReason] = await Promise.all([connection.closed, serverConnection.closed]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    expect(clientReason).toBeInstanceOf(QuicIdleTimeoutError);
    expect(serverReason).toBeInstanceOf(QuicIdleTimeoutError);
    expect(clientReason.code).toBe('QFAAS_QUIC_IDLE_TIMEOUT');
    await connection.terminated;
    expect(client.stats().connections).toBe(0);
    await expect(connection.openBidirectionalStream()).rejects.toBeInstanceOf(QuicIdleTimeoutError);
  });

  it('the idle timeout says how long, and with whom: the server name and host:port', async () => {
    const { connection } = await setup(300);
    const reason = await connection.closed;
    expect(reason.message).toBe(`QUIC connection with ${serverName} (127.0.0.1:${connection.remoteAddress.port}) idle for 300 ms and timed out`);
  });

  it('a handshake to a port where nothing listens ends at the idle timeout, naming the server, host:port and that nothing answered', async () => {
    // A UDP port that was free a moment ago: nothing answers there, not even with an error.
    const socket = dgram.createSocket('udp4');
    const port = await new Promise<number>((resolve) => socket.bind(0, '127.0.0.1', () => resolve(socket.address().port)));
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    const client = await createQuicClient();
    testbed.track(client);
    const connection = client.connect({ host: '127.0.0.1', port, serverName, config: clientConfig(testbed.pki, { transport: { maxIdleTimeoutMs: 300 } }) });
    const error = await connection.handshake.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QuicIdleTimeoutError);
    // quiche tries a handshake for at least three probe timeouts (seconds), whatever the idle timeout.
    expect((error as Error).message).toMatch(
      new RegExp(`^no answer from ${serverName} \\(127\\.0\\.0\\.1:${port}\\) within \\d+ ms: nothing listens on that port, or its packets are dropped \\(QUIC handshake never began\\)$`),
    );
    expect(error).toMatchObject({ code: 'QFAAS_QUIC_IDLE_TIMEOUT', stage: 'no-answer' });
  });

  it("the peer's application close code and reason arrive as a typed error", async () => {
    const { connection, serverConnection } = await setup();
    const pending = await connection.openBidirectionalStream();
    await serverConnection.close({ kind: 'application', code: 0x10b, reason: 'going away' });
    const reason = await connection.closed;
    expect(reason).toBeInstanceOf(QuicConnectionClosedError);
    expect(isQfaasError(reason)).toBe(true);
    expect(reason).toMatchObject({
      code: 'QFAAS_QUIC_CONNECTION_CLOSED',
      initiator: 'peer',
      kind: 'application',
      errorCode: 0x10b,
      reason: 'going away',
    });
    // Streams that were open fail with the same reason.
    await expect(pending.read()).rejects.toBe(reason);
    await expect(pending.write(Buffer.from('late'))).rejects.toBe(reason);
  });

  it("a transport close code from the peer says it is a transport error", async () => {
    const { connection, serverConnection } = await setup();
    await serverConnection.close({ kind: 'transport', code: 0xa, reason: 'bad peer' });
    const reason = await connection.closed;
    expect(reason).toMatchObject({ initiator: 'peer', kind: 'transport', errorCode: 0xa });
    expect(reason.message).toContain('PROTOCOL_VIOLATION');
  });

  it('a write on a stream after its connection closed fails at once instead of waiting', async () => {
    const { connection } = await setup();
    const stream = await connection.openBidirectionalStream();
    await connection.close({ kind: 'application', code: 0x100 });
    await expect(stream.write(Buffer.from('too late'))).rejects.toMatchObject({ code: 'QFAAS_QUIC_CONNECTION_CLOSED' });
  });

  it('a client that closes in the same turn its 0-RTT response arrived still completes the handshake and the close', async () => {
    const { randomBytes } = await import('node:crypto');
    const ticketKey = randomBytes(48);
    const server = await startTestServer(testbed.pki, { ticketKey });
    const client = await createQuicClient();
    testbed.track(server, client);
    let session: Uint8Array | undefined;
    const first = client.connect({ host: '127.0.0.1', port: server.port, serverName, config: clientConfig(testbed.pki), onSessionTicket: (s) => (session = s) });
    await request(first, Buffer.from('one'));
    await first.close();
    const early = client.connect({ host: '127.0.0.1', port: server.port, serverName, config: clientConfig(testbed.pki), session });
    await request(early, Buffer.from('two'));
    // No await between the response and the close: the client's Finished is still queued.
    await early.close({ kind: 'application', code: 0x100 });
    const serverSide = server.connections[1] as QuicConnection;
    expect(await serverSide.closed).toMatchObject({ initiator: 'peer', kind: 'application', errorCode: 0x100 });
    expect(serverSide.handshakeCompleted).toBe(true);
  });

  it('a local close tells the local side it closed, and the peer sees NO_ERROR', async () => {
    const { connection, serverConnection } = await setup();
    await connection.close();
    expect(await connection.closed).toMatchObject({ initiator: 'local', errorCode: 0 });
    expect(await serverConnection.closed).toMatchObject({ initiator: 'peer', kind: 'transport', errorCode: 0 });
  });
});
