import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createQuicConfig,
  QuicConnectionDriver,
  QuicTlsError,
  type QuicDriverEvent,
} from '../../src/transport/index.js';
import { createImpostor, createTestPki, serverName, type TestPki } from '../helpers/quic.js';

const clientAddress = { host: '192.0.2.1', port: 4000 };
const serverAddress = { host: '192.0.2.2', port: 443 };

/** Moves every pending datagram from one driver to the other, like a perfect network. */
function deliver(from: QuicConnectionDriver, to: QuicConnectionDriver, now: number): number {
  let count = 0;
  for (const datagram of from.datagramsToSend(now)) {
    to.receiveDatagram(datagram, from.local, now);
    count++;
  }
  return count;
}

function exchange(client: QuicConnectionDriver, server: QuicConnectionDriver, rounds = 6): void {
  for (let i = 0; i < rounds; i++) {
    const now = performance.now();
    deliver(client, server, now);
    deliver(server, client, now);
  }
}

function events(driver: QuicConnectionDriver): QuicDriverEvent[] {
  const out: QuicDriverEvent[] = [];
  for (let e = driver.pollEvent(); e !== undefined; e = driver.pollEvent()) out.push(e);
  return out;
}

function readAll(driver: QuicConnectionDriver, streamId: number): { text: string; fin: boolean } {
  const out = new Uint8Array(65536);
  let text = '';
  let fin = false;
  for (let r = driver.streamRecv(streamId, out); r !== null; r = driver.streamRecv(streamId, out)) {
    text += Buffer.from(out.subarray(0, r.length)).toString();
    if (r.fin) {
      fin = true;
      break;
    }
  }
  return { text, fin };
}

describe('QuicConnectionDriver (sans-I/O, two drivers wired in memory)', () => {
  let pki: TestPki;
  const ticketKey = randomBytes(48);
  beforeAll(async () => {
    pki = await createTestPki();
  });

  const serverConfig = (key: Uint8Array = ticketKey) =>
    createQuicConfig({ role: 'server', caPem: pki.ca.certPem, certificate: pki.server, ticketKey: key });
  const clientConfig = () => createQuicConfig({ role: 'client', caPem: pki.ca.certPem, certificate: pki.client });

  const pair = (session?: Uint8Array, key?: Uint8Array) => {
    const client = QuicConnectionDriver.connect({
      config: clientConfig(),
      serverName,
      sourceId: randomBytes(16),
      local: clientAddress,
      remote: serverAddress,
      ...(session === undefined ? {} : { session }),
    });
    const server = QuicConnectionDriver.accept({
      config: serverConfig(key),
      sourceId: randomBytes(16),
      local: serverAddress,
      remote: clientAddress,
    });
    return { client, server };
  };

  const fullHandshakeSession = (): Uint8Array => {
    const { client, server } = pair();
    exchange(client, server);
    const ticket = events(client).find((e) => e.type === 'session-ticket');
    expect(ticket).toBeDefined();
    return (ticket as { session: Uint8Array }).session;
  };

  it('completes a handshake, reports it once, and hands over a session ticket', () => {
    const { client, server } = pair();
    expect(client.canSendStreamData).toBe(false);
    expect(client.openStream(true)).toBeUndefined();
    exchange(client, server);
    const clientEvents = events(client);
    expect(clientEvents.filter((e) => e.type === 'handshake-completed')).toEqual([
      { type: 'handshake-completed', resumed: false, earlyDataAccepted: false },
    ]);
    expect(clientEvents.some((e) => e.type === 'session-ticket')).toBe(true);
    expect(events(server).filter((e) => e.type === 'handshake-completed')).toHaveLength(1);
    expect(client.applicationProtocol()).toBe('h3');
    expect(server.peerCertificateChain()?.length).toBeGreaterThan(0);
  });

  it('a stream whose request was read to its end can still wait for flow control to send its response', () => {
    const { client, server } = pair();
    exchange(client, server);
    const streamId = client.openStream(true) as number;
    client.streamSend(streamId, Buffer.from('request'), true);
    exchange(client, server);
    expect(readAll(server, streamId)).toEqual({ text: 'request', fin: true });
    // More than the client's stream window: quiche answers Done once the credit is used up. The
    // stream is blocked, not gone (its read side being finished says nothing about its send side).
    const response = new Uint8Array(4 * 1024 * 1024);
    let sent = 0;
    for (let accepted = server.streamSend(streamId, response, false); accepted > 0; accepted = server.streamSend(streamId, response.subarray(sent), false)) sent += accepted;
    expect(sent).toBeLessThan(response.length);
    expect(server.streamSend(streamId, response.subarray(sent), false)).toBe(0);
  });

  it('a write to a stream the peer stopped fails instead of waiting for credit that never comes', () => {
    const { client, server } = pair();
    exchange(client, server);
    const streamId = client.openStream(true) as number;
    client.streamSend(streamId, Buffer.from('request'), true);
    exchange(client, server);
    readAll(server, streamId);
    client.stopSending(streamId, 7);
    exchange(client, server);
    expect(() => {
      for (let i = 0; i < 1000; i++) server.streamSend(streamId, new Uint8Array(64 * 1024), false);
    }).toThrow();
  });

  it('a stream stopped with data still buffered and unread gives that data’s connection credit back', () => {
    // quiche 0.18 credits only data arriving after a read shutdown; the driver reads out the rest.
    // Without it the 16 MiB connection window is gone after 16 stopped uploads of 1 MiB each.
    const { client, server } = pair();
    exchange(client, server);
    const upload = new Uint8Array(2 * 1024 * 1024);
    let total = 0;
    for (let i = 0; i < 24; i++) {
      const streamId = client.openStream(true) as number;
      let sent = 0;
      for (let round = 0; round < 30; round++) {
        for (let accepted = client.streamSend(streamId, upload.subarray(sent), false); accepted > 0; accepted = client.streamSend(streamId, upload.subarray(sent), false)) sent += accepted;
        exchange(client, server, 2);
      }
      // The server never read it: it is all buffered in quiche when the server stops the stream.
      server.stopSending(streamId, 0);
      exchange(client, server, 4);
      events(client);
      events(server);
      // Past the initial window quiche grants credit in small steps, but it does grant it.
      expect(sent, `upload ${i}`).toBeGreaterThan(0);
      total += sent;
    }
    expect(total).toBeGreaterThan(16 * 1024 * 1024);
  });

  it('carries stream data in 0-RTT: the server reads it before its handshake completes', () => {
    const session = fullHandshakeSession();
    const { client, server } = pair(session);
    expect(client.canSendStreamData).toBe(true);
    const streamId = client.openStream(true);
    expect(streamId).toBe(0);
    expect(client.streamSend(0, Buffer.from('early request'), true)).toBe(13);

    // Only the client's first flight crosses: the server has not seen a Finished yet.
    deliver(client, server, performance.now());
    expect(client.earlyDataAttempted).toBe(true);
    expect(server.isHandshakeCompleted).toBe(false);
    const serverEvents = events(server);
    expect(serverEvents).toContainEqual({ type: 'stream-opened', streamId: 0 });
    expect(server.streamIsEarlyData(0)).toBe(true);
    expect(readAll(server, 0)).toEqual({ text: 'early request', fin: true });

    exchange(client, server);
    expect(events(client)).toContainEqual({ type: 'handshake-completed', resumed: true, earlyDataAccepted: true });
    expect(client.streamIsEarlyData(0)).toBe(true);
  });

  it('a server with another ticket key rejects 0-RTT, and quiche resends the data in 1-RTT', async () => {
    const session = fullHandshakeSession();
    const { client, server } = pair(session, randomBytes(48));
    client.openStream(true);
    client.streamSend(0, Buffer.from('not lost'), true);
    deliver(client, server, performance.now());
    expect(events(server).some((e) => e.type === 'stream-opened')).toBe(false);
    exchange(client, server);
    expect(events(client)).toContainEqual({ type: 'handshake-completed', resumed: false, earlyDataAccepted: false });
    expect(client.streamIsEarlyData(0)).toBe(false);

    // Loss recovery declares the 0-RTT packets lost and retransmits their frames; drive the timers.
    let received = '';
    for (let i = 0; i < 50 && received === ''; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      const now = performance.now();
      for (const driver of [client, server]) {
        const deadline = driver.nextTimer();
        if (deadline !== undefined && deadline <= now) driver.handleTimer(now);
      }
      exchange(client, server, 2);
      if (events(server).some((e) => e.type === 'stream-readable' && e.streamId === 0)) received = readAll(server, 0).text;
    }
    expect(received).toBe('not lost');
    expect(server.streamIsEarlyData(0)).toBe(false);
    expect(client.stats().packetsLost).toBeGreaterThan(0);
  });

  it('finds peer streams opened out of order, and announces each exactly once', () => {
    const { client, server } = pair();
    exchange(client, server);
    events(server);
    const [a, b, c] = [client.openStream(true), client.openStream(true), client.openStream(true)] as number[];
    expect([a, b, c]).toEqual([0, 4, 8]);
    // Only the highest stream carries data at first: sequential discovery cannot see it.
    client.streamSend(c as number, Buffer.from('third'), true);
    exchange(client, server);
    expect(events(server).filter((e) => e.type === 'stream-opened')).toEqual([{ type: 'stream-opened', streamId: 8 }]);
    expect(readAll(server, 8).text).toBe('third');
    client.streamSend(a as number, Buffer.from('first'), true);
    client.streamSend(b as number, Buffer.from('second'), true);
    exchange(client, server);
    const later = events(server);
    expect(later.filter((e) => e.type === 'stream-opened').map((e) => (e as { streamId: number }).streamId).sort()).toEqual([0, 4]);
    expect(readAll(server, 0).text).toBe('first');
    expect(readAll(server, 4).text).toBe('second');
  });

  it('falls back to a full handshake when the stored session is garbage', () => {
    const { client, server } = pair(randomBytes(300));
    expect(client.canSendStreamData).toBe(false);
    exchange(client, server);
    expect(events(client)).toContainEqual({ type: 'handshake-completed', resumed: false, earlyDataAccepted: false });
  });

  it('drops garbage datagrams without closing the connection', () => {
    const { client, server } = pair();
    exchange(client, server);
    const before = server.stats();
    for (let i = 0; i < 200; i++) server.receiveDatagram(randomBytes(1 + (i % 1300)), clientAddress, performance.now());
    expect(server.closeError).toBeUndefined();
    const after = server.stats();
    expect(after.datagramsReceived - before.datagramsReceived).toBe(200);
    expect(after.packetsReceived).toBe(before.packetsReceived);
    const id = client.openStream(true) as number;
    client.streamSend(id, Buffer.from('still fine'), true);
    exchange(client, server);
    expect(readAll(server, id).text).toBe('still fine');
  });

  it('asks for the timer and closes on idle timeout', async () => {
    const shortIdle = createQuicConfig({
      role: 'client',
      caPem: pki.ca.certPem,
      certificate: pki.client,
      transport: { maxIdleTimeoutMs: 50 },
    });
    const client = QuicConnectionDriver.connect({
      config: shortIdle,
      serverName,
      sourceId: randomBytes(16),
      local: clientAddress,
      remote: serverAddress,
    });
    const server = QuicConnectionDriver.accept({ config: serverConfig(), sourceId: randomBytes(16), local: serverAddress, remote: clientAddress });
    exchange(client, server);
    events(client);
    const deadline = client.nextTimer();
    expect(deadline).toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, 120));
    // quiche's loss and ack timers come first; keep firing until the idle timer closes it.
    for (let i = 0; i < 20 && client.closeError === undefined; i++) {
      client.handleTimer(performance.now() + 1000);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const closed = events(client).find((e) => e.type === 'closed');
    expect(closed).toBeDefined();
    expect((closed as { error: Error }).error.name).toBe('QuicIdleTimeoutError');
  });

  it('turns a certificate from another CA into a QuicTlsError on the client', async () => {
    const impostor = (await createImpostor()).server;
    const client = QuicConnectionDriver.connect({
      config: clientConfig(),
      serverName,
      sourceId: randomBytes(16),
      local: clientAddress,
      remote: serverAddress,
    });
    const server = QuicConnectionDriver.accept({
      config: createQuicConfig({ role: 'server', caPem: pki.ca.certPem, certificate: impostor }),
      sourceId: randomBytes(16),
      local: serverAddress,
      remote: clientAddress,
    });
    exchange(client, server);
    const closed = events(client).find((e) => e.type === 'closed') as { error: QuicTlsError } | undefined;
    expect(closed?.error).toBeInstanceOf(QuicTlsError);
    expect(closed?.error.initiator).toBe('local');
  });
});
