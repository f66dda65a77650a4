import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { QfaasConfigError } from '../../errors.js';
import { port as checkPort } from '../../option-checks.js';
import { minClientInitialLength, quiche, Type, type QuicheHeader } from './binding.js';
import { configMaxUdpPayloadSize, createQuicConfig, maxUdpPayloadLimit, QuicConfig, type QuicClientConfigOptions, type QuicServerConfigOptions } from './config.js';
import { QuicConnectionDriver, type HostPort } from './connection-driver.js';
import { QuicConnection, type DatagramSink } from './connection.js';
import { AmplificationLimit } from './amplification-limit.js';
import { connectionRefusedCode } from './error-codes.js';
import { QuicEndpointClosedError } from '../../errors.js';
import { HalfOpenSet } from './half-open.js';
import { createRetryTokenMinter, type RetryTokenMinter } from './retry-token.js';
import { bindEndpointSocket, chosenDatagramIo, type DatagramIo, type EndpointSocket } from './datagram-socket.js';
import type { BatchedUdpStats } from './batched-udp.js';
import type { SendSlot, SendSlotPool } from './send-buffer-pool.js';
import { StatelessResetLimiter, statelessResetToken, writeStatelessReset } from './stateless-reset.js';

/** Length of every connection ID this endpoint issues; short headers are parsed with it. */
export const connectionIdLength = 8;

/** The send buffers' size when `maxDatagramSize` is not given: an Ethernet MTU's worth. */
const defaultMaxDatagramSize = 1500;

const defaultReceiveBufferSize = 4 * 1024 * 1024;
const defaultSendBufferSize = 1024 * 1024;

/** The UDP socket of an endpoint: address, port, kernel buffers. */
export interface QuicEndpointOptions {
  /**
   * Largest datagram this endpoint sends, in bytes (1200 to 16383): the size of its send buffers.
   * A connection whose `transport.maxUdpPayloadSize` is larger is refused. `createQuicServer`
   * takes it from its config when that sends more than 1500.
   * @default 1500
   */
  maxDatagramSize?: number | undefined;
  /** Local address to bind. @default '127.0.0.1' */
  host?: string;
  /** Local UDP port; 0 picks a free one. @default 0 */
  port?: number;
  /**
   * Kernel receive buffer for the socket, in bytes; the kernel caps it at net.core.rmem_max. The
   * system default (about 208 KiB on Linux) overflows when a peer sends a congestion window's
   * burst while this process is busy: the datagrams are dropped and the sender backs off
   * (docs/performance.md, "Measured design choices"). undefined keeps the system default.
   * @default 4 MiB
   */
  receiveBufferSize?: number | undefined;
  /** Kernel send buffer for the socket, in bytes (capped by net.core.wmem_max). @default 1 MiB */
  sendBufferSize?: number | undefined;
  /**
   * Datagram I/O: `'batched'` (the native addon on Linux: many datagrams per system call and per
   * call into JavaScript, docs/transport.md, "Datagram I/O") or `'dgram'` (node:dgram, a call per
   * datagram each way). Where the addon cannot load, `'batched'` falls back to `'dgram'` with a
   * one-line warning.
   * @default process.env.QFAAS_UDP, else 'batched'
   */
  io?: DatagramIo | undefined;
}

/**
 * Stateless Retry (RFC 9000 section 8.1.2): a new client must first echo a token proving it owns
 * its address, so the server holds no state for it until then. It costs the client one round trip,
 * and with quiche its 0-RTT request then goes in 1-RTT after the handshake (measured), so by default
 * it is asked for only while many handshakes are in progress (quic-go's
 * `Transport.MaxUnvalidatedHandshakes` works the same way).
 */
export interface QuicRetryOptions {
  /**
   * Half-open connections (handshake not complete) at or above which new clients are sent a
   * Retry. 0 sends every new client a Retry.
   * @default 100
   */
  halfOpenThreshold?: number;
  /** Signs tokens, at least 32 bytes; endpoints sharing it accept each other's tokens. @default random per endpoint */
  key?: Uint8Array;
  /** How long a token stays valid. @default 10_000 */
  tokenLifetimeMs?: number;
}

/** How many connections an endpoint takes, and how it defends its state against floods. */
export interface QuicAdmissionOptions {
  /**
   * Stateless Retry policy; `false` never sends one (a flood then holds up to
   * `maxHalfOpenConnections` connections, each until its handshake timeout).
   * @default {} (Retry while 100 or more handshakes are in progress)
   */
  retry?: QuicRetryOptions | false | undefined;
  /**
   * Connections whose handshake completed, served at once; further clients are refused with
   * CONNECTION_REFUSED. Half-open connections do not count (they have their own limit), so a flood
   * of Initials cannot lock out clients that authenticate.
   * @default 10_000
   */
  maxConnections?: number | undefined;
  /**
   * Half-open connections held at once. At the limit, the oldest is dropped to make room for a new
   * one: an honest handshake takes a round trip, a flood's never completes.
   * @default 256 (their memory: docs/performance.md, "Measured design choices")
   */
  maxHalfOpenConnections?: number | undefined;
  /**
   * A connection whose handshake has not completed this long after its first Initial is dropped
   * and its memory released. 0 disables it (only the idle timeout then ends such a connection).
   * @default 5000
   */
  handshakeTimeoutMs?: number | undefined;
}

/** The flood defences every listener gets unless its options say otherwise (docs/security.md). */
export const defaultAdmission = Object.freeze({
  retryHalfOpenThreshold: 100,
  maxConnections: 10_000,
  maxHalfOpenConnections: 256,
  handshakeTimeoutMs: 5000,
  retryTokenLifetimeMs: 10_000,
});

/** Only the admission options of a larger options object (to pass them on to an endpoint). */
export function admissionOptions(options: QuicAdmissionOptions): QuicAdmissionOptions {
  const { retry, maxConnections, maxHalfOpenConnections, handshakeTimeoutMs } = options;
  return {
    ...(retry === undefined ? {} : { retry }),
    ...(maxConnections === undefined ? {} : { maxConnections }),
    ...(maxHalfOpenConnections === undefined ? {} : { maxHalfOpenConnections }),
    ...(handshakeTimeoutMs === undefined ? {} : { handshakeTimeoutMs }),
  };
}

/** What `endpoint.listen()` serves with: the server config, the connection callback and the flood defences. */
export interface QuicListenOptions extends QuicAdmissionOptions {
  /** A config from {@link createQuicConfig} with role 'server', or the options to build one. */
  config: QuicConfig | QuicServerConfigOptions;
  /** Called with each new connection as soon as its first Initial arrives (before the handshake). */
  onConnection: (connection: QuicConnection) => void;
  /**
   * Stateless reset (RFC 9000 section 10.3): with a key (at least 16 bytes), each connection's
   * reset token is derived from it and the connection ID, and a short-header packet for an unknown
   * connection is answered with a stateless reset. A process restarted with the same key on the
   * same address so tells clients of its predecessor at once that their connection is gone.
   * @default undefined (no stateless resets)
   */
  statelessResetKey?: Uint8Array;
}

/** Where and how `endpoint.connect()` opens a client connection. */
export interface QuicConnectOptions {
  host: string;
  port: number;
  /**
   * Name the server's certificate must carry. Give a DNS name: an IP address never matches, even
   * one the certificate carries (BoringSSL compares the name with DNS names only, as quiche sets it).
   * @default host
   */
  serverName?: string;
  /** A config from {@link createQuicConfig} with role 'client', or the options to build one. */
  config: QuicConfig | QuicClientConfigOptions;
  /** A session from an earlier connection or the 0-RTT generator: streams work at once, in 0-RTT. @default none: a full handshake, no 0-RTT */
  session?: Uint8Array;
  /** Called with every session ticket the server sends (also ones after the handshake). @default none */
  onSessionTicket?: (session: Uint8Array) => void;
}

/** Datagram, connection and defence counters of an endpoint. */
export interface QuicEndpointStats {
  datagramsReceived: number;
  datagramsSent: number;
  /** Datagrams that matched no connection and could not start one (garbage, stray, too short). */
  datagramsDropped: number;
  versionNegotiationsSent: number;
  retriesSent: number;
  invalidRetryTokens: number;
  connectionsRefused: number;
  connections: number;
  /** Accepted connections whose handshake has not completed. */
  halfOpenConnections: number;
  /** Half-open connections dropped at their handshake timeout. */
  handshakeTimeouts: number;
  /** Half-open connections dropped to make room at `maxHalfOpenConnections`. */
  halfOpenEvicted: number;
  /** Datagrams not sent because they would exceed 3x the bytes received from an unvalidated address. */
  amplificationLimited: number;
  /** UDP payload bytes received and sent by the socket. */
  bytesReceived: number;
  bytesSent: number;
  /** The largest UDP payload sent, in bytes (above 1500 only with a larger `maxDatagramSize`). */
  largestDatagramSent: number;
  /** Send buffers ever allocated: flat once traffic is steady (no allocation per packet). */
  sendBuffersAllocated: number;
  /** The datagram I/O in use (`'batched'` only when the addon loaded). */
  io: DatagramIo;
  /** The batched socket's counters: system calls, datagrams, GSO and GRO use, errors. */
  batchedIo?: BatchedUdpStats;
}

interface Listener {
  config: QuicConfig;
  onConnection: (connection: QuicConnection) => void;
  retry: RetryTokenMinter | undefined;
  retryThreshold: number;
  maxConnections: number;
  resetKey: Uint8Array | undefined;
  maxHalfOpen: number;
}

/**
 * One UDP socket serving any number of QUIC connections, as a server (`listen`), as a client
 * (`connect`: outbound connections share the socket), or both. Datagrams are routed by destination
 * connection ID.
 */
export class QuicEndpoint {
  readonly #socket: EndpointSocket;
  readonly #local: HostPort;
  readonly #routes = new Map<string, QuicConnection>();
  /**
   * The connection the last short-header packet went to: consecutive 1-RTT packets nearly always
   * share their DCID, and comparing its bytes is cheaper than making a Map key of them.
   */
  #lastShortRoute: QuicConnection | undefined;
  readonly #connections = new Set<QuicConnection>();
  readonly #aliases = new Map<QuicConnection, string>();
  readonly #sink: DatagramSink;
  #maxDatagramSize = defaultMaxDatagramSize;
  readonly #pool: SendSlotPool;
  /** Connections that received datagrams in the batch being routed (batched I/O only). */
  readonly #receiveBatch: QuicConnection[] = [];
  /** Connections that stopped writing because the socket was not writable; flushed when it is. */
  readonly #blocked = new Set<QuicConnection>();
  readonly #connectionIds = new RandomConnectionIds(connectionIdLength);
  readonly #resetLimiter = new StatelessResetLimiter();
  /** Client connections by remote address: where an unroutable packet may be a stateless reset. */
  readonly #outbound = new Map<string, Set<QuicConnection>>();
  #listener: Listener | undefined;
  #halfOpen = new HalfOpenSet<QuicConnection>(defaultAdmission.handshakeTimeoutMs);
  #handshakeTimer: NodeJS.Timeout | undefined;
  #handshakeTimerAt: number | undefined;
  /** Server connections whose peer address is not validated yet (RFC 9000 section 8.1). */
  readonly #unvalidated = new Map<QuicConnection, AmplificationLimit>();
  #closing = false;
  #closed: Promise<void> | undefined;
  readonly #stats = {
    datagramsReceived: 0,
    datagramsSent: 0,
    datagramsDropped: 0,
    versionNegotiationsSent: 0,
    retriesSent: 0,
    invalidRetryTokens: 0,
    connectionsRefused: 0,
    handshakeTimeouts: 0,
    halfOpenEvicted: 0,
    amplificationLimited: 0,
    bytesReceived: 0,
    bytesSent: 0,
    largestDatagramSent: 0,
  };

  private constructor(socket: EndpointSocket) {
    this.#socket = socket;
    this.#local = socket.address;
    this.#pool = socket.pool;
    this.#sink = {
      pool: this.#pool,
      readScratch: new Uint8Array(64 * 1024),
      send: (slot, length, to, connection) => this.#send(slot, length, to, connection),
      forget: (connection) => this.#forget(connection),
      ...(socket.io === 'batched' ? { startedReceiveBatch: (connection: QuicConnection) => this.#receiveBatch.push(connection) } : {}),
    };
  }

  /** Binds a UDP socket. */
  static async bind(options: QuicEndpointOptions = {}): Promise<QuicEndpoint> {
    const host = options.host ?? '127.0.0.1';
    const family = isIP(host);
    if (family === 0) throw new QfaasConfigError('host', 'must be an IP address (resolve names before binding)');
    const port = checkPort(options.port ?? 0, 'port', 'listen');
    const io = chosenDatagramIo(options.io);
    const receiveBufferSize = 'receiveBufferSize' in options ? options.receiveBufferSize : defaultReceiveBufferSize;
    const sendBufferSize = 'sendBufferSize' in options ? options.sendBufferSize : defaultSendBufferSize;
    const maxDatagramSize = options.maxDatagramSize ?? defaultMaxDatagramSize;
    if (!Number.isInteger(maxDatagramSize) || maxDatagramSize < 1200 || maxDatagramSize > maxUdpPayloadLimit) {
      throw new QfaasConfigError('maxDatagramSize', `must be an integer from 1200 to ${maxUdpPayloadLimit}, not ${String(maxDatagramSize)}`);
    }
    // The socket exists before the endpoint does: its handlers reach the endpoint once it is made.
    let endpoint: QuicEndpoint | undefined;
    const socket = await bindEndpointSocket(
      io,
      { host, port, family: family === 6 ? 6 : 4, receiveBufferSize, sendBufferSize, slotSize: maxDatagramSize },
      {
        onDatagram: (message, from) => {
          if (endpoint !== undefined) endpoint.#onMessage(message, from);
        },
        onWritable: () => {
          if (endpoint !== undefined) endpoint.#onWritable();
        },
        onBatchEnd: () => {
          if (endpoint !== undefined) endpoint.#onBatchEnd();
        },
      },
    );
    endpoint = new QuicEndpoint(socket);
    endpoint.#maxDatagramSize = maxDatagramSize;
    return endpoint;
  }

  get address(): HostPort {
    return { ...this.#local };
  }

  stats(): QuicEndpointStats {
    return {
      ...this.#stats,
      connections: this.#connections.size,
      halfOpenConnections: this.#halfOpen.size,
      sendBuffersAllocated: this.#pool.allocated,
      io: this.#socket.io,
      ...(this.#socket.io === 'batched' ? { batchedIo: this.#socket.nativeStats() } : {}),
    };
  }

  /** Accepts incoming connections on this endpoint. */
  listen(options: QuicListenOptions): void {
    if (this.#closing) throw new QuicEndpointClosedError();
    const config = options.config instanceof QuicConfig ? options.config : createQuicConfig(options.config);
    this.#checkDatagramSize(config);
    const count = (field: string, value: number | undefined, fallback: number, min: number): number => {
      const chosen = value ?? fallback;
      if (!Number.isInteger(chosen) || chosen < min) throw new QfaasConfigError(field, min === 0 ? 'must be zero or a positive integer' : 'must be a positive integer');
      return chosen;
    };
    const maxConnections = count('maxConnections', options.maxConnections, defaultAdmission.maxConnections, 1);
    const maxHalfOpen = count('maxHalfOpenConnections', options.maxHalfOpenConnections, defaultAdmission.maxHalfOpenConnections, 1);
    const handshakeTimeoutMs = options.handshakeTimeoutMs ?? defaultAdmission.handshakeTimeoutMs;
    if (!Number.isFinite(handshakeTimeoutMs) || handshakeTimeoutMs < 0) {
      throw new QfaasConfigError('handshakeTimeoutMs', 'must be zero or a positive number of milliseconds');
    }
    const retryOptions = options.retry === false ? undefined : (options.retry ?? {});
    const retryThreshold = count('retry.halfOpenThreshold', retryOptions?.halfOpenThreshold, defaultAdmission.retryHalfOpenThreshold, 0);
    const retry =
      retryOptions === undefined
        ? undefined
        : createRetryTokenMinter(retryOptions.key ?? randomBytes(32), retryOptions.tokenLifetimeMs ?? defaultAdmission.retryTokenLifetimeMs);
    if (this.#halfOpen.size === 0) this.#halfOpen = new HalfOpenSet(handshakeTimeoutMs);
    const resetKey = options.statelessResetKey;
    if (resetKey !== undefined && resetKey.length < 16) throw new QfaasConfigError('statelessResetKey', 'must be at least 16 bytes');
    this.#listener = { config, onConnection: options.onConnection, retry, retryThreshold, maxConnections, maxHalfOpen, resetKey };
  }

  /**
   * Starts a client connection. With `session`, streams can be opened and written at once and their
   * data leaves in 0-RTT; `connection.handshake` tells whether the server accepted it.
   */
  connect(options: QuicConnectOptions): QuicConnection {
    if (this.#closing) throw new QuicEndpointClosedError();
    if (isIP(options.host) === 0) throw new QfaasConfigError('host', 'must be an IP address');
    // Else every datagram to it would be dropped and the handshake time out.
    if (!this.#socket.accepts(options.host)) throw new QfaasConfigError('host', `names no interface of this host after its '%': ${options.host}`);
    checkPort(options.port, 'port', 'connect');
    const config = options.config instanceof QuicConfig ? options.config : createQuicConfig(options.config);
    this.#checkDatagramSize(config);
    const sourceId = this.#freshConnectionId();
    const driver = QuicConnectionDriver.connect({
      config,
      serverName: options.serverName ?? options.host,
      sourceId,
      local: this.#local,
      remote: { host: options.host, port: options.port },
      ...(options.session === undefined ? {} : { session: options.session }),
    });
    const connection = new QuicConnection(driver, this.#sink, { onSessionTicket: options.onSessionTicket });
    this.#register(connection, routeKey(sourceId));
    const remoteKey = addressKey(driver.remote);
    let outbound = this.#outbound.get(remoteKey);
    if (outbound === undefined) this.#outbound.set(remoteKey, (outbound = new Set()));
    outbound.add(connection);
    // Deferred so that streams written in this same turn ride in the first flight (0-RTT).
    connection.scheduleFlush();
    return connection;
  }

  /**
   * Stops accepting, closes every connection with CONNECTION_CLOSE (`code`, transport NO_ERROR by
   * default) and closes the socket. Connections are not kept for their closing period: nobody
   * would answer their peers' late packets once the socket is gone. For a graceful shutdown,
   * let the protocol above drain first (HTTP/3 GOAWAY), then call this.
   */
  /**
   * Lets the process exit while this endpoint is open (its socket no longer holds the event loop),
   * as `net.Socket#unref` does. Connection timers never hold it, so an unref'd endpoint with idle
   * connections keeps nothing alive. The invoker unrefs its endpoint whenever no request is in
   * flight, the way Node's agents treat idle sockets.
   */
  unref(): void {
    this.#socket.unref();
  }

  /** Undoes {@link unref}: the open socket holds the event loop again (the default). */
  ref(): void {
    this.#socket.ref();
  }

  close(options: { code?: number; kind?: 'transport' | 'application'; reason?: string } = {}): Promise<void> {
    if (this.#closed !== undefined) return this.#closed;
    this.#closing = true;
    this.#listener = undefined;
    clearTimeout(this.#handshakeTimer);
    this.#handshakeTimer = undefined;
    const closeOptions = { kind: options.kind ?? 'transport', code: options.code ?? 0, reason: options.reason ?? '' } as const;
    for (const connection of [...this.#connections]) {
      void connection.close(closeOptions);
      connection.destroy();
    }
    // Sends are asynchronous: closing the socket first would drop the last responses and the
    // CONNECTION_CLOSE frames. Wait for them, but not forever.
    this.#closed = (async () => {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.#socket.whenDrained(), new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000)))]);
      clearTimeout(timer);
      await this.#socket.close();
    })();
    return this.#closed;
  }

  // ---- Receiving ----------------------------------------------------------------------------

  #onMessage(message: Buffer, from: HostPort): void {
    this.#stats.datagramsReceived++;
    this.#stats.bytesReceived += message.length;
    try {
      this.#route(message, from);
    } catch {
      // Whatever a datagram contains, it never takes the endpoint down.
      this.#stats.datagramsDropped++;
    }
  }

  /** Each connection that received datagrams of the batch catches up once (reads, events, flush). */
  #onBatchEnd(): void {
    const batch = this.#receiveBatch;
    for (let i = 0; i < batch.length; i++) {
      try {
        (batch[i] as QuicConnection).endReceiveBatch();
      } catch {
        // As for a single datagram: nothing received takes the endpoint down.
      }
    }
    batch.length = 0;
  }

  #route(message: Buffer, from: HostPort): void {
    if (message.length === 0) {
      this.#stats.datagramsDropped++;
      return;
    }
    // A short header (RFC 9000 section 17.3) is routed by its DCID bytes alone: building quiche's
    // Header object for every 1-RTT packet cost allocations on the hot path.
    if (((message[0] as number) & 0x80) === 0) {
      const last = this.#lastShortRoute;
      let known: QuicConnection | undefined;
      if (message.length <= connectionIdLength) known = undefined;
      else if (last !== undefined && carriesConnectionId(message, last.sourceId)) known = last;
      else known = this.#routes.get(routeKey(message.subarray(1, 1 + connectionIdLength)));
      if (known === undefined) {
        this.#unroutedShortHeader(message, from);
        return;
      }
      this.#lastShortRoute = known;
      // A short header carries the connection ID this server chose.
      if (this.#unvalidated.size !== 0) this.#noteReceived(known, message.length, from, true);
      known.receive(message, from);
      return;
    }
    let header: QuicheHeader;
    try {
      header = quiche.Header.fromSlice(message, connectionIdLength);
    } catch {
      this.#stats.datagramsDropped++;
      return;
    }
    const key = routeKey(header.dcid);
    const connection = this.#routes.get(key);
    if (connection !== undefined) {
      // Routed by the client's original destination ID (the alias), or by the one this server chose.
      if (this.#unvalidated.size !== 0) this.#noteReceived(connection, message.length, from, this.#aliases.get(connection) !== key);
      connection.receive(message, from);
      return;
    }
    const listener = this.#listener;
    if (listener === undefined || header.ty === Type.Short || header.ty === Type.VersionNegotiation) {
      this.#stats.datagramsDropped++;
      return;
    }
    // RFC 9000 sections 14.1 and 6.1: only a full-size datagram may start a connection or a
    // version negotiation (anti-amplification).
    if (message.length < minClientInitialLength) {
      this.#stats.datagramsDropped++;
      return;
    }
    if (!quiche.versionIsSupported(header.version)) {
      this.#sendVersionNegotiation(header, from);
      return;
    }
    if (header.ty !== Type.Initial) {
      this.#stats.datagramsDropped++;
      return;
    }
    this.#acceptInitial(listener, header, message, from);
  }

  #acceptInitial(listener: Listener, header: QuicheHeader, message: Buffer, from: HostPort): void {
    let sourceId: Uint8Array;
    let originalDestinationId: Uint8Array | undefined;
    const token = header.token;
    if (listener.retry !== undefined && token !== undefined && token.length > 0) {
      const odcid = listener.retry.validate(token, from.host, from.port, header.dcid, Date.now());
      if (odcid === undefined) {
        this.#stats.invalidRetryTokens++;
        this.#stats.datagramsDropped++;
        return;
      }
      originalDestinationId = odcid;
      sourceId = Uint8Array.from(header.dcid);
    } else if (listener.retry !== undefined && this.#halfOpen.size >= listener.retryThreshold) {
      // Many handshakes in progress: a flood, or a burst. Make new clients prove their address
      // before they cost any state.
      this.#sendRetry(listener.retry, header, from);
      return;
    } else {
      sourceId = this.#freshConnectionId();
    }
    if (this.#halfOpen.size >= listener.maxHalfOpen) {
      const oldest = this.#halfOpen.oldest();
      if (oldest !== undefined) {
        this.#stats.halfOpenEvicted++;
        this.#dropHalfOpen(oldest, 'too many handshakes');
      }
    }
    const driver = QuicConnectionDriver.accept({
      config: listener.config,
      sourceId,
      ...(originalDestinationId === undefined ? {} : { originalDestinationId }),
      ...(listener.resetKey === undefined ? {} : { statelessResetToken: statelessResetToken(listener.resetKey, sourceId) }),
      local: this.#local,
      remote: from,
    });
    const connection = new QuicConnection(driver, this.#sink);
    // A Retry token proved the address; otherwise the 3x limit applies until something else does.
    if (originalDestinationId === undefined) this.#unvalidated.set(connection, new AmplificationLimit(message.length));
    if (this.#connections.size - this.#halfOpen.size >= listener.maxConnections) {
      this.#stats.connectionsRefused++;
      this.#register(connection, routeKey(sourceId));
      connection.receive(message, from);
      void connection.close({ kind: 'transport', code: connectionRefusedCode, reason: 'server busy' });
      return;
    }
    this.#register(connection, routeKey(sourceId));
    this.#halfOpen.add(connection, performance.now());
    this.#armHandshakeTimer();
    if (originalDestinationId === undefined) {
      // The client keeps using its chosen destination ID until our first Initial reaches it.
      const alias = routeKey(header.dcid);
      this.#routes.set(alias, connection);
      this.#aliases.set(connection, alias);
    }
    void connection.handshake.then(
      () => this.#handshakeCompleted(connection),
      () => undefined,
    );
    connection.receive(message, from);
    if (!connection.receivedAnyPacket) {
      // The Initial did not decrypt: forget it at once instead of holding state until the idle
      // timeout, so forged Initials cannot pile up connections.
      this.#stats.datagramsDropped++;
      connection.discard();
      return;
    }
    listener.onConnection(connection);
  }

  /**
   * A short-header packet for no known connection. A client offers it to its connections to that
   * address: only quiche knows their reset tokens and recognises a stateless reset. A server with a
   * reset key answers with a stateless reset (rate-limited, always shorter than the trigger).
   */
  #unroutedShortHeader(message: Buffer, from: HostPort): void {
    this.#stats.datagramsDropped++;
    const outbound = this.#outbound.get(addressKey(from));
    // Only to connections past their handshake: before it, a resumed quiche connection still holds
    // the reset token remembered from the previous connection's session (RFC 9000 section 7.4.1
    // forbids using it), so the reset meant for that dead predecessor would end the new one too.
    if (outbound !== undefined) for (const connection of [...outbound]) if (connection.handshakeInfo !== undefined) connection.receive(message, from);
    const resetKey = this.#listener?.resetKey;
    if (resetKey === undefined || message.length <= connectionIdLength || !this.#resetLimiter.take(performance.now())) return;
    const token = statelessResetToken(resetKey, message.subarray(1, 1 + connectionIdLength));
    const slot = this.#pool.take();
    const length = writeStatelessReset(token, message.length, slot.buffer);
    if (length === 0) this.#pool.giveBack(slot);
    else this.#send(slot, length, from);
  }

  #sendVersionNegotiation(header: QuicheHeader, from: HostPort): void {
    const slot = this.#pool.take();
    const length = quiche.negotiateVersion(header.scid, header.dcid, slot.buffer);
    this.#stats.versionNegotiationsSent++;
    this.#send(slot, length, from);
  }

  #sendRetry(minter: RetryTokenMinter, header: QuicheHeader, from: HostPort): void {
    const retrySourceId = this.#freshConnectionId();
    const token = minter.mint(from.host, from.port, header.dcid, retrySourceId, Date.now());
    const slot = this.#pool.take();
    const length = quiche.retry(header.scid, header.dcid, retrySourceId, token, header.version, slot.buffer);
    this.#stats.retriesSent++;
    this.#send(slot, length, from);
  }

  // ---- Sending and bookkeeping --------------------------------------------------------------

  /** Returns false when the datagram was not sent (the connection's amplification limit). */
  #send(slot: SendSlot, length: number, to: HostPort, connection?: QuicConnection): boolean {
    if (connection !== undefined && this.#unvalidated.size !== 0) {
      const limit = this.#unvalidated.get(connection);
      if (limit !== undefined && !limit.trySend(length)) {
        // quiche counts it as sent: it will be declared lost and sent again once the peer's next
        // datagram (its ACK or probe) raised the budget or validated the address.
        this.#stats.amplificationLimited++;
        this.#pool.giveBack(slot);
        return false;
      }
    }
    this.#stats.datagramsSent++;
    this.#stats.bytesSent += length;
    if (length > this.#stats.largestDatagramSent) this.#stats.largestDatagramSent = length;
    if (this.#socket.send(slot, length, to)) return true;
    // Queued, but the socket is not writable: the connection stops and is flushed once it is.
    if (connection !== undefined) this.#blocked.add(connection);
    return false;
  }

  #onWritable(): void {
    if (this.#blocked.size === 0) return;
    const blocked = [...this.#blocked];
    this.#blocked.clear();
    for (const connection of blocked) connection.scheduleFlush();
  }

  /**
   * Counts a datagram from a peer whose address is not validated yet. The address is validated by
   * a datagram to the connection ID this server chose (RFC 9000 section 8.1: only a peer that
   * received our packets knows it; 16 random bytes), or by the completed handshake.
   */
  #noteReceived(connection: QuicConnection, length: number, from: HostPort, toOurConnectionId: boolean): void {
    const limit = this.#unvalidated.get(connection);
    if (limit === undefined) return;
    const remote = connection.remoteAddress;
    if (from.host !== remote.host || from.port !== remote.port) return;
    if (toOurConnectionId) this.#unvalidated.delete(connection);
    else limit.received(length);
  }

  #handshakeCompleted(connection: QuicConnection): void {
    this.#dropAlias(connection);
    this.#halfOpen.delete(connection);
    this.#unvalidated.delete(connection);
  }

  /** Closes a half-open connection and forgets it at once: no closing period for a stranger. */
  #dropHalfOpen(connection: QuicConnection, reason: string): void {
    this.#halfOpen.delete(connection);
    // NO_ERROR, not CONNECTION_REFUSED: an early request may already have run, so the client must
    // not take this as "not processed".
    void connection.close({ kind: 'transport', code: 0x0, reason });
    connection.discard();
  }

  #armHandshakeTimer(): void {
    const deadline = this.#halfOpen.nextDeadline();
    if (deadline === this.#handshakeTimerAt) return;
    clearTimeout(this.#handshakeTimer);
    this.#handshakeTimerAt = deadline;
    if (deadline === undefined) {
      this.#handshakeTimer = undefined;
      return;
    }
    this.#handshakeTimer = setTimeout(this.#onHandshakeTimer, Math.max(0, deadline - performance.now()) + 1);
    // The socket keeps the process alive while it is open; this timer never should on its own.
    this.#handshakeTimer.unref();
  }

  readonly #onHandshakeTimer = (): void => {
    this.#handshakeTimer = undefined;
    this.#handshakeTimerAt = undefined;
    for (const connection of this.#halfOpen.takeExpired(performance.now())) {
      this.#stats.handshakeTimeouts++;
      this.#dropHalfOpen(connection, 'handshake timeout');
    }
    this.#armHandshakeTimer();
  };

  #register(connection: QuicConnection, key: string): void {
    this.#routes.set(key, connection);
    this.#connections.add(connection);
  }

  #dropAlias(connection: QuicConnection): void {
    const alias = this.#aliases.get(connection);
    if (alias === undefined) return;
    this.#aliases.delete(connection);
    if (this.#routes.get(alias) === connection) this.#routes.delete(alias);
  }

  /** A config may not send datagrams larger than this endpoint's send buffers. */
  #checkDatagramSize(config: QuicConfig): void {
    const payload = configMaxUdpPayloadSize(config);
    const slot = this.#maxDatagramSize;
    if (payload > slot) {
      throw new QfaasConfigError('transport.maxUdpPayloadSize', `is ${payload} but this endpoint sends datagrams of at most ${slot} bytes: bind it with maxDatagramSize: ${payload}`);
    }
  }

  #forget(connection: QuicConnection): void {
    if (this.#lastShortRoute === connection) this.#lastShortRoute = undefined;
    this.#blocked.delete(connection);
    this.#dropAlias(connection);
    this.#halfOpen.delete(connection);
    this.#unvalidated.delete(connection);
    const key = routeKey(connection.sourceId);
    if (this.#routes.get(key) === connection) this.#routes.delete(key);
    this.#connections.delete(connection);
    if (connection.role === 'client') {
      const remoteKey = addressKey(connection.remoteAddress);
      const outbound = this.#outbound.get(remoteKey);
      outbound?.delete(connection);
      if (outbound?.size === 0) this.#outbound.delete(remoteKey);
    }
  }

  #freshConnectionId(): Uint8Array {
    for (;;) {
      const id = this.#connectionIds.next();
      if (!this.#routes.has(routeKey(id))) return id;
    }
  }
}

/** Connection IDs from a CSPRNG, drawn in batches: one call per ID costs more than the handshake's hashing. */
class RandomConnectionIds {
  readonly #length: number;
  #batch = Buffer.alloc(0);
  #offset = 0;

  constructor(length: number) {
    this.#length = length;
  }

  next(): Uint8Array {
    if (this.#offset + this.#length > this.#batch.length) {
      this.#batch = randomBytes(this.#length * 256);
      this.#offset = 0;
    }
    const id = Uint8Array.prototype.slice.call(this.#batch, this.#offset, this.#offset + this.#length);
    this.#offset += this.#length;
    return id;
  }
}

/** Whether a short-header packet's DCID (the bytes after its first) is `connectionId`. */
function carriesConnectionId(packet: Uint8Array, connectionId: Uint8Array): boolean {
  for (let i = 0; i < connectionIdLength; i++) if (packet[1 + i] !== connectionId[i]) return false;
  return true;
}

function routeKey(connectionId: Uint8Array): string {
  return Buffer.from(connectionId.buffer, connectionId.byteOffset, connectionId.byteLength).toString('latin1');
}

function addressKey(address: HostPort): string {
  return `${address.host}|${address.port}`;
}



/** Binds an endpoint and listens on it. */
export async function createQuicServer(
  options: QuicListenOptions & QuicEndpointOptions,
): Promise<QuicEndpoint> {
  const config = options.config instanceof QuicConfig ? options.config : createQuicConfig(options.config);
  const maxDatagramSize = options.maxDatagramSize ?? Math.max(defaultMaxDatagramSize, configMaxUdpPayloadSize(config));
  const endpoint = await QuicEndpoint.bind({ ...options, maxDatagramSize });
  try {
    endpoint.listen({ ...options, config });
  } catch (error) {
    // A refused option must not leave the socket bound.
    await endpoint.close();
    throw error;
  }
  return endpoint;
}

/** Binds a client endpoint on an ephemeral port; all its connections share the socket. */
export function createQuicClient(options: QuicEndpointOptions = {}): Promise<QuicEndpoint> {
  return QuicEndpoint.bind(options);
}

export type { QuicClientConfigOptions, QuicServerConfigOptions };
