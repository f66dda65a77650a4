import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { QuicConnectionDriver, type QuicConfig } from '../../src/transport/index.js';

/**
 * Traffic an attacker sends without ever answering: genuine client Initials (each from its own
 * quiche client, so each has a fresh destination ID and decrypts on the server) from a raw socket
 * that counts whatever comes back. No vitest here: bench/guard/attack.ts uses it too.
 */

/** A genuine client Initial datagram, made by a driver that never touches a socket. */
export function genuineInitial(config: QuicConfig, serverName: string): Uint8Array {
  const driver = QuicConnectionDriver.connect({
    config,
    serverName,
    sourceId: randomBytes(16),
    local: { host: '127.0.0.1', port: 1 },
    remote: { host: '127.0.0.1', port: 2 },
  });
  const [first] = driver.datagramsToSend(performance.now());
  if (first === undefined) throw new Error('the client driver produced no Initial');
  return first;
}

export interface SilentPeer {
  readonly port: number;
  /** Bytes and datagrams this socket sent and received. */
  readonly counts: { sent: number; received: number; datagramsSent: number; datagramsReceived: number };
  /** Sends one datagram to 127.0.0.1:port and waits for the socket to take it. */
  send(datagram: Uint8Array, port: number): Promise<void>;
  close(): Promise<void>;
}

/** A UDP socket on loopback that sends what it is told and never answers what it receives. */
export async function openSilentPeer(): Promise<SilentPeer> {
  const socket = dgram.createSocket('udp4');
  const counts = { sent: 0, received: 0, datagramsSent: 0, datagramsReceived: 0 };
  socket.on('message', (message) => {
    counts.received += message.length;
    counts.datagramsReceived++;
  });
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  return {
    port: socket.address().port,
    counts,
    async send(datagram, port) {
      await new Promise<void>((resolve) => socket.send(datagram, port, '127.0.0.1', () => resolve()));
      counts.sent += datagram.length;
      counts.datagramsSent++;
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** `count` genuine Initials, made ahead of a flood (each costs about a ClientHello to make). */
export function genuineInitials(count: number, config: QuicConfig, serverName: string): Uint8Array[] {
  return Array.from({ length: count }, () => genuineInitial(config, serverName));
}

/**
 * Sends the datagrams to `port` from one silent socket, `batch` per event-loop turn (so the
 * server gets to read its socket and the kernel drops few).
 */
export async function flood(peer: SilentPeer, port: number, datagrams: readonly Uint8Array[], batch = 20): Promise<void> {
  for (let sent = 0; sent < datagrams.length; ) {
    const pending: Promise<void>[] = [];
    for (let i = 0; i < batch && sent < datagrams.length; i++, sent++) pending.push(peer.send(datagrams[sent] as Uint8Array, port));
    await Promise.all(pending);
    await new Promise((resolve) => setImmediate(resolve));
  }
}
