import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { coalescedPacketLengths } from '../../src/transport/quic/coalesced-packets.js';
import { createQuicConfig, QuicConnectionDriver } from '../../src/transport/index.js';
import { createTestPki, serverName, type TestPki } from '../helpers/quic.js';

/** A QUIC v1 long-header packet of `type` with a payload of `payloadLength` random bytes (undecryptable). */
function longHeaderPacket(type: 0 | 1 | 2, payloadLength: number, token = new Uint8Array(0)): Uint8Array {
  const header = [0xc3 | (type << 4), 0, 0, 0, 1, 8, ...randomBytes(8), 8, ...randomBytes(8)];
  if (type === 0) header.push(token.length, ...token); // token length fits one byte here
  header.push(0x40 | (payloadLength >> 8), payloadLength & 0xff); // two-byte varint length
  return Uint8Array.from([...header, ...randomBytes(payloadLength)]);
}

describe('coalesced packets (RFC 9000 section 12.2)', () => {
  it('measures each long-header packet by its length field, and a short-header packet to the end', () => {
    const initial = longHeaderPacket(0, 60, Uint8Array.of(9, 9, 9));
    const handshake = longHeaderPacket(2, 59);
    const short = Uint8Array.from([0x40, ...randomBytes(30)]);
    expect(coalescedPacketLengths(Buffer.concat([initial, handshake, short]))).toEqual([initial.length, handshake.length, short.length]);
    expect(coalescedPacketLengths(Buffer.concat([initial, handshake]))).toEqual([initial.length, handshake.length]);
    expect(coalescedPacketLengths(initial)).toEqual([initial.length]);
  });

  it('leaves alone what it cannot measure: a short header first, another version, Retry, truncation', () => {
    expect(coalescedPacketLengths(Uint8Array.from([0x40, 1, 2, 3]))).toBeUndefined();
    const otherVersion = longHeaderPacket(2, 10);
    otherVersion[4] = 2;
    expect(coalescedPacketLengths(otherVersion)).toBeUndefined();
    const retry = longHeaderPacket(2, 10);
    retry[0] = 0xf0;
    expect(coalescedPacketLengths(retry)).toBeUndefined();
    expect(coalescedPacketLengths(longHeaderPacket(2, 50).subarray(0, 40))).toBeUndefined();
    expect(coalescedPacketLengths(new Uint8Array(0))).toEqual([]);
  });

  describe('a client reading a datagram that starts with a packet it can no longer decrypt', () => {
    let pki: TestPki;
    beforeAll(async () => {
      pki = await createTestPki();
    });

    it('still reads the packets after it (ngtcp2 coalesces Initial, Handshake and 1-RTT when it closes a handshake)', () => {
      const client = QuicConnectionDriver.connect({
        config: createQuicConfig({ role: 'client', caPem: pki.ca.certPem, certificate: pki.client }),
        serverName,
        sourceId: randomBytes(16),
        local: { host: '192.0.2.1', port: 4000 },
        remote: { host: '192.0.2.2', port: 443 },
      });
      const server = QuicConnectionDriver.accept({
        config: createQuicConfig({ role: 'server', caPem: pki.ca.certPem, certificate: pki.server, ticketKey: randomBytes(48) }),
        sourceId: randomBytes(16),
        local: { host: '192.0.2.2', port: 443 },
        remote: { host: '192.0.2.1', port: 4000 },
      });
      const flow = (from: QuicConnectionDriver, to: QuicConnectionDriver) => {
        for (const datagram of from.datagramsToSend(performance.now())) to.receiveDatagram(datagram, from.local, performance.now());
      };
      for (let i = 0; i < 6; i++) {
        flow(client, server);
        flow(server, client);
      }
      expect(client.isHandshakeCompleted).toBe(true);
      const streamId = client.openStream(true) as number;
      client.streamSend(streamId, Buffer.from('ping'), true);
      flow(client, server);
      server.streamSend(streamId, Buffer.from('pong'), true);
      const [reply] = server.datagramsToSend(performance.now());
      expect(reply).toBeDefined();
      // The client dropped its Initial keys long ago: quiche alone would discard the whole datagram.
      client.receiveDatagram(Buffer.concat([longHeaderPacket(0, 60), reply as Uint8Array]), server.local, performance.now());
      const out = new Uint8Array(64);
      const read = client.streamRecv(streamId, out);
      expect(read === null ? undefined : Buffer.from(out.subarray(0, read.length)).toString()).toBe('pong');
    });
  });
});
