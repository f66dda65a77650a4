import dgram from 'node:dgram';
import { mulberry32 } from './prng.js';

export interface RelayStats {
  forwarded: number;
  dropped: number;
}

export interface UdpRelay {
  port: number;
  stats: { toServer: RelayStats; toClient: RelayStats };
  /**
   * For each client address, in order of arrival: the datagrams it sent before the server's first
   * answer reached it (its first flight: Initial, and 0-RTT when it had a session).
   */
  firstFlights(): Uint8Array[][];
  close(): Promise<void>;
}

/**
 * A UDP relay on loopback between clients and one server, dropping datagrams at random with
 * `lossRate` in both directions. Each client address gets its own upstream socket, so the server
 * sees one peer per client.
 */
export async function startUdpRelay(options: {
  targetPort: number;
  lossRate?: number;
  seed?: number;
  /** Drops chosen datagrams on top of `lossRate`; `index` counts that direction's datagrams from 0. */
  drop?: (direction: 'toServer' | 'toClient', index: number) => boolean;
}): Promise<UdpRelay> {
  const lossRate = options.lossRate ?? 0;
  const random = mulberry32(options.seed ?? 1);
  const stats = { toServer: { forwarded: 0, dropped: 0 }, toClient: { forwarded: 0, dropped: 0 } };
  const front = dgram.createSocket('udp4');
  const upstreams = new Map<string, dgram.Socket>();
  const flights = new Map<string, { datagrams: Uint8Array[]; answered: boolean }>();

  const upstreamFor = (address: string, port: number): dgram.Socket => {
    const key = `${address}:${port}`;
    let socket = upstreams.get(key);
    if (socket === undefined) {
      socket = dgram.createSocket('udp4');
      socket.bind(0, '127.0.0.1');
      socket.on('message', (message) => {
        const flight = flights.get(key);
        if (flight !== undefined) flight.answered = true;
        const index = stats.toClient.forwarded + stats.toClient.dropped;
        if (random() < lossRate || options.drop?.('toClient', index) === true) {
          stats.toClient.dropped++;
          return;
        }
        stats.toClient.forwarded++;
        front.send(message, port, address);
      });
      socket.on('error', () => undefined);
      upstreams.set(key, socket);
    }
    return socket;
  };

  front.on('message', (message, remote) => {
    const key = `${remote.address}:${remote.port}`;
    let flight = flights.get(key);
    if (flight === undefined) {
      flight = { datagrams: [], answered: false };
      flights.set(key, flight);
    }
    if (!flight.answered) flight.datagrams.push(Uint8Array.from(message));
    const upstream = upstreamFor(remote.address, remote.port);
    const index = stats.toServer.forwarded + stats.toServer.dropped;
    if (random() < lossRate || options.drop?.('toServer', index) === true) {
      stats.toServer.dropped++;
      return;
    }
    stats.toServer.forwarded++;
    upstream.send(message, options.targetPort, '127.0.0.1');
  });
  front.on('error', () => undefined);
  await new Promise<void>((resolve) => front.bind(0, '127.0.0.1', () => resolve()));

  return {
    port: front.address().port,
    stats,
    firstFlights: () => [...flights.values()].map((flight) => flight.datagrams),
    async close() {
      const sockets = [front, ...upstreams.values()];
      await Promise.all(sockets.map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))));
    },
  };
}
