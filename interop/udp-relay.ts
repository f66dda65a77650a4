/**
 * A UDP relay on loopback between clients and one server: it forwards datagrams both ways, drops
 * some on purpose (random loss, a chosen rule, or everything once blackholed), can hold each one
 * for a fixed delay (a longer path), and can keep a copy of every datagram for the interop
 * matrix's wire checks (interop/wire/). The library's loss and pacing tests use it too.
 */
import dgram from 'node:dgram';
import { mulberry32 } from './prng.js';

export type RelayDirection = 'toServer' | 'toClient';

export interface RelayStats {
  forwarded: number;
  dropped: number;
}

/** One datagram as the relay saw it. */
export interface CapturedDatagram {
  /** `performance.now()` when it reached the relay. */
  at: number;
  direction: RelayDirection;
  /** The client address it belongs to ("host:port"): one flow per client socket. */
  flow: string;
  data: Uint8Array;
  /** The relay dropped it (loss, rule or blackhole): the other side never got it. */
  dropped: boolean;
}

export interface UdpRelayOptions {
  targetPort: number;
  /** The relay's own port on 127.0.0.1 (clients dial it). @default 0 (a free one) */
  port?: number;
  /** @default '127.0.0.1' */
  targetHost?: string;
  /** Probability of dropping each datagram, both directions. @default 0 */
  lossRate?: number;
  /** Seed of the loss draws, so a lossy run can be reproduced. @default 1 */
  seed?: number;
  /**
   * Drops chosen datagrams on top of `lossRate`; `index` counts that direction's datagrams from 0,
   * `flow` is the client address ("host:port").
   * @default none
   */
  drop?: (direction: RelayDirection, index: number, datagram: Uint8Array, flow: string) => boolean;
  /** Keep a copy of every datagram (`captured()`). @default false */
  capture?: boolean;
  /**
   * Milliseconds each forwarded datagram is held, both directions (a round trip gains twice this),
   * in order, by one timer of Node's millisecond granularity. 0 forwards at once.
   * @default 0
   */
  delayMs?: number;
  /**
   * Kernel receive buffer of the relay's sockets, in bytes (capped by net.core.rmem_max), so that a
   * burst is not lost at the relay itself. undefined keeps the system default (about 208 KiB).
   * @default undefined
   */
  receiveBufferSize?: number;
}

export interface UdpRelay {
  port: number;
  stats: { toServer: RelayStats; toClient: RelayStats };
  /**
   * For each client address, in order of arrival: the datagrams it sent before the server's first
   * answer reached it (its first flight: Initial, and 0-RTT when it had a session).
   */
  firstFlights(): Uint8Array[][];
  /** Every datagram so far, in order of arrival (empty unless `capture`). */
  captured(): readonly CapturedDatagram[];
  /** The path goes silent: from now on every datagram, both ways, is dropped. */
  blackhole(): void;
  /** When `blackhole()` was called (`performance.now()`), if it was. */
  readonly blackholedAt: number | undefined;
  close(): Promise<void>;
}


/**
 * Starts a relay. Each client address gets its own upstream socket, so the server sees one peer
 * per client.
 */
export async function startUdpRelay(options: UdpRelayOptions): Promise<UdpRelay> {
  const lossRate = options.lossRate ?? 0;
  const targetHost = options.targetHost ?? '127.0.0.1';
  const random = mulberry32(options.seed ?? 1);
  const stats = { toServer: { forwarded: 0, dropped: 0 }, toClient: { forwarded: 0, dropped: 0 } };
  const socketOptions: dgram.SocketOptions = { type: 'udp4', ...(options.receiveBufferSize === undefined ? {} : { recvBufferSize: options.receiveBufferSize }) };
  const front = dgram.createSocket(socketOptions);
  const upstreams = new Map<string, dgram.Socket>();
  const flights = new Map<string, { datagrams: Uint8Array[]; answered: boolean }>();
  const captured: CapturedDatagram[] = [];
  let blackholedAt: number | undefined;
  const delayMs = options.delayMs ?? 0;
  // One delay for every datagram: arrival order is release order, so a FIFO and one timer do.
  const held: Array<{ due: number; forward: () => void }> = [];
  let releaseTimer: NodeJS.Timeout | undefined;
  const release = (): void => {
    releaseTimer = undefined;
    const now = performance.now();
    let due = 0;
    while (due < held.length && (held[due] as { due: number }).due <= now) due++;
    for (const datagram of held.splice(0, due)) datagram.forward();
    armRelease();
  };
  const armRelease = (): void => {
    const first = held[0];
    if (first === undefined || releaseTimer !== undefined) return;
    releaseTimer = setTimeout(release, Math.max(0, first.due - performance.now()));
  };
  const forwardLater = (forward: () => void): void => {
    if (delayMs <= 0) {
      forward();
      return;
    }
    held.push({ due: performance.now() + delayMs, forward });
    armRelease();
  };

  /** Decides the fate of one datagram, counts and records it; true to forward. */
  const admit = (direction: RelayDirection, flow: string, message: Buffer): boolean => {
    const counters = stats[direction];
    const index = counters.forwarded + counters.dropped;
    // The loss draw happens for every datagram, so a seed gives the same draws whatever the rules.
    const lost = random() < lossRate;
    const dropped = blackholedAt !== undefined || lost || options.drop?.(direction, index, message, flow) === true;
    if (dropped) counters.dropped++;
    else counters.forwarded++;
    if (options.capture === true) captured.push({ at: performance.now(), direction, flow, data: Uint8Array.from(message), dropped });
    return !dropped;
  };

  const upstreamFor = (address: string, port: number): dgram.Socket => {
    const key = `${address}:${port}`;
    let socket = upstreams.get(key);
    if (socket === undefined) {
      socket = dgram.createSocket(socketOptions);
      socket.bind(0, '127.0.0.1');
      socket.on('message', (message) => {
        const flight = flights.get(key);
        if (flight !== undefined) flight.answered = true;
        if (admit('toClient', key, message)) forwardLater(() => front.send(message, port, address));
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
    if (admit('toServer', key, message)) forwardLater(() => upstream.send(message, options.targetPort, targetHost));
  });
  front.on('error', () => undefined);
  await new Promise<void>((resolve) => front.bind(options.port ?? 0, '127.0.0.1', () => resolve()));

  return {
    port: front.address().port,
    stats,
    firstFlights: () => [...flights.values()].map((flight) => flight.datagrams),
    captured: () => captured,
    blackhole() {
      blackholedAt ??= performance.now();
    },
    get blackholedAt() {
      return blackholedAt;
    },
    async close() {
      if (releaseTimer !== undefined) clearTimeout(releaseTimer);
      held.length = 0;
      const sockets = [front, ...upstreams.values()];
      await Promise.all(sockets.map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))));
    },
  };
}
