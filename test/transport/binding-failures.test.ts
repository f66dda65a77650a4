import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseBindingFailure, quiche, Shutdown, type QuicheConnection } from '../../src/transport/quic/binding.js';
import { createQuicConfig, nativeQuicheConfig } from '../../src/transport/quic/config.js';
import { createPlatformCA } from '../../src/zero-rtt/index.js';

/**
 * The native binding reports quiche's errors only as message strings (`StreamLimit`,
 * `StreamReset(7)`, …), which parseBindingFailure reads, and quiche's `Done` as a null result.
 * Each string the driver relies on is produced here by a real quiche connection pair in memory, so
 * an upgrade of the binding that changes one fails here, loudly, rather than turning a reset into
 * a hang.
 */
describe('the native binding’s error strings (parseBindingFailure)', () => {
  async function connectedPair(options: { maxStreamsBidi?: number } = {}) {
    const ca = await createPlatformCA();
    const serverName = 'binding.test.internal';
    const server = await ca.issue({ role: 'worker', name: serverName, hosts: ['127.0.0.1'] });
    const client = await ca.issue({ role: 'invoker', name: 'invoker' });
    const transport = options.maxStreamsBidi === undefined ? {} : { transport: { initialMaxStreamsBidi: options.maxStreamsBidi } };
    const clientConfig = createQuicConfig({ role: 'client', caPem: ca.certPem, certificate: client, ...transport });
    const serverConfig = createQuicConfig({ role: 'server', caPem: ca.certPem, certificate: server, ticketKey: randomBytes(48), ...transport });
    const a = { host: '127.0.0.1', port: 1 };
    const b = { host: '127.0.0.1', port: 2 };
    const c = quiche.Connection.connect(serverName, randomBytes(8), a, b, nativeQuicheConfig(clientConfig));
    const s = quiche.Connection.accept(randomBytes(8), null, b, a, nativeQuicheConfig(serverConfig));
    const buffer = new Uint8Array(quiche.MAX_UDP_PACKET_SIZE);
    const flow = (from: QuicheConnection, to: QuicheConnection, fromAddress: typeof a, toAddress: typeof a) => {
      for (let sent = from.send(buffer); sent !== null; sent = from.send(buffer)) {
        to.recv(buffer.slice(0, sent[0]), { from: fromAddress, to: toAddress });
      }
    };
    const pump = () => {
      for (let round = 0; round < 6; round++) {
        flow(c, s, a, b);
        flow(s, c, b, a);
      }
    };
    pump();
    expect(c.isEstablished() && s.isEstablished()).toBe(true);
    return { client: c, server: s, pump };
  }

  const failureOf = (operation: () => unknown) => {
    try {
      operation();
    } catch (error) {
      return parseBindingFailure(error);
    }
    throw new Error('the binding did not throw');
  };

  it('Done is a null result, not a throw: nothing to read on a stream, nothing to send', async () => {
    const { client, server, pump } = await connectedPair();
    client.streamSend(0, new Uint8Array([1]), false);
    pump();
    expect(server.streamRecv(0, new Uint8Array(16))).toEqual([1, false]);
    expect(server.streamRecv(0, new Uint8Array(16))).toBeNull();
    pump();
    expect(client.send(new Uint8Array(quiche.MAX_UDP_PACKET_SIZE))).toBeNull();
  });

  it('InvalidStreamState(id): a stream that does not exist', async () => {
    const { server } = await connectedPair();
    expect(failureOf(() => server.streamRecv(8, new Uint8Array(16)))).toEqual({ kind: 'InvalidStreamState', code: 8 });
  });

  it('StreamLimit: a stream beyond the peer’s allowance', async () => {
    const { client } = await connectedPair({ maxStreamsBidi: 1 });
    client.streamPriority(0, 3, true);
    expect(failureOf(() => client.streamPriority(4, 3, true))).toEqual({ kind: 'StreamLimit', code: undefined });
  });

  it('StreamReset(code): the peer reset the stream', async () => {
    const { client, server, pump } = await connectedPair();
    client.streamSend(0, new Uint8Array([1]), false);
    pump();
    server.streamRecv(0, new Uint8Array(16));
    client.streamShutdown(0, Shutdown.Write, 7);
    pump();
    expect(failureOf(() => server.streamRecv(0, new Uint8Array(16)))).toEqual({ kind: 'StreamReset', code: 7 });
  });

  it('StreamStopped(code): the peer stopped the stream', async () => {
    const { client, server, pump } = await connectedPair();
    client.streamSend(0, new Uint8Array([1]), false);
    pump();
    server.streamRecv(0, new Uint8Array(16));
    server.streamShutdown(0, Shutdown.Read, 9);
    pump();
    expect(failureOf(() => client.streamSend(0, new Uint8Array([2]), false))).toEqual({ kind: 'StreamStopped', code: 9 });
  });

  it('an unknown message is kept whole as the kind', () => {
    expect(parseBindingFailure(new Error('something else entirely'))).toEqual({ kind: 'something else entirely', code: undefined });
  });
});
