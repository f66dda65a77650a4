import { coalescedPacketLengths } from './coalesced-packets.js';
import { withoutStack } from '../../errors.js';
import { configTransportSettings, nativeQuicheConfig, type QuicConfig } from './config.js';
import {
  cryptoErrorStart,
  cryptoErrorStop,
  parseBindingFailure,
  quiche,
  Shutdown,
  type QuicheConnection,
  type QuicheConnectionError,
} from './binding.js';
import { QuicConnectionClosedError, QuicIdleTimeoutError, QuicInternalError, QuicStatelessResetError, QuicStreamResetError, QuicStreamStateError, QuicStreamStoppedError, QuicTlsError, type QuicConnectionError, type QuicTlsErrorDetails } from '../../errors.js';
import { checkServerName } from './certificate-names.js';
import { isLocallyInitiated, isBidirectional, streamIdAllocator, type StreamIdAllocator } from './stream-id.js';

/** Above this many open streams, one pass of quiche's readable iterator is cheaper than polling each. */
const maxPolledStreams = 64;

/** A UDP address: host (IPv4 or IPv6 literal, `fe80::1%eth0` with its zone) and port. */
export interface HostPort {
  host: string;
  port: number;
}

/**
 * The address as quiche takes it: quiche parses Rust's SocketAddr, which has no zone text and
 * refuses `fe80::1%eth0`. The zone only picks the interface, which the socket does with the full
 * address the driver keeps in `remote`.
 */
function withoutZone(address: HostPort): HostPort {
  const zone = address.host.indexOf('%');
  return zone === -1 ? address : { host: address.host.slice(0, zone), port: address.port };
}

/** Which side of a connection this is. */
export type QuicRole = 'client' | 'server';

/** What happened inside the connection; drained with {@link QuicConnectionDriver.pollEvent}. */
export type QuicDriverEvent =
  | { type: 'handshake-completed'; resumed: boolean; earlyDataAccepted: boolean }
  | { type: 'stream-opened'; streamId: number }
  | { type: 'stream-readable'; streamId: number }
  | { type: 'stream-writable'; streamId: number }
  | { type: 'streams-available' }
  | { type: 'session-ticket'; session: Uint8Array }
  | { type: 'closed'; error: QuicConnectionError };

/** Counters and path estimates of one connection, from quiche. */
export interface QuicConnectionStats {
  /** Smoothed round-trip time in milliseconds, or undefined before the first sample. */
  rttMs: number | undefined;
  packetsSent: number;
  packetsReceived: number;
  packetsLost: number;
  bytesSent: number;
  bytesReceived: number;
  bytesLost: number;
  /** Stream bytes quiche had to send again. */
  streamBytesRetransmitted: number;
  /** Datagrams fed to the connection; quiche silently discards those it cannot authenticate. */
  datagramsReceived: number;
  /** Congestion window in bytes. */
  congestionWindow: number | undefined;
  /** Times the connection held datagrams back to pace them (`transport.pacing`); 0 on a path below 10 ms RTT. */
  pacingDelays: number;
}

/** What `QuicConnectionDriver.connect` needs to open a client connection. */
export interface ConnectDriverOptions {
  config: QuicConfig;
  /** Name the server certificate must carry (SNI and verification). */
  serverName: string;
  /** Source connection ID, at least 8 bytes; the endpoint routes on it. */
  sourceId: Uint8Array;
  local: HostPort;
  remote: HostPort;
  /** A session from an earlier connection or from the 0-RTT generator: enables 0-RTT. @default none: a full handshake, no 0-RTT */
  session?: Uint8Array;
}

/** What `QuicConnectionDriver.accept` needs to take a client's first Initial. */
export interface AcceptDriverOptions {
  config: QuicConfig;
  sourceId: Uint8Array;
  /** Original destination connection ID, when the client was sent a Retry. @default none (no Retry was sent) */
  originalDestinationId?: Uint8Array;
  /** Stateless reset token for `sourceId`, sent to the client in the transport parameters. @default none: quiche's own */
  statelessResetToken?: bigint;
  local: HostPort;
  remote: HostPort;
}

/**
 * Sans-I/O QUIC connection around a quiche connection: datagrams in, datagrams out, one timer.
 *
 * Times are milliseconds on the caller's monotonic clock (`performance.now()`). quiche also reads
 * the real clock internally, so `now` only decides when the caller is told to call
 * {@link handleTimer}; it cannot fast-forward quiche.
 */
export class QuicConnectionDriver {
  readonly role: QuicRole;
  readonly sourceId: Uint8Array;
  readonly remote: HostPort;
  readonly local: HostPort;
  /** `transport.pacing` of the config: whether the I/O layer paces what {@link writeDatagram} gives. */
  readonly pacing: boolean;
  /** `transport.maxUdpPayloadSize` of the config: no datagram written is longer. */
  readonly maxDatagramSize: number;

  readonly #conn: QuicheConnection;
  /** `local` as quiche takes it (see withoutZone). */
  readonly #quicheLocal: HostPort;
  readonly #events: QuicDriverEvent[] = [];
  readonly #knownStreams = new Set<number>();
  readonly #earlyStreams = new Set<number>();
  readonly #blockedStreams = new Set<number>();
  /** Peer streams known to exist (implicitly opened) but not yet announced with 'stream-opened'. */
  readonly #unannounced = new Set<number>();
  /** Streams announced readable whose consumer has not yet read them dry. */
  readonly #undrained = new Set<number>();
  #nextPeerBidi: number;
  #nextPeerUni: number;
  readonly #ids: StreamIdAllocator;
  #deadline: number | undefined;
  #handshakeCompleted = false;
  #earlyDataAttempted = false;
  #earlyDataAccepted = false;
  #resumed = false;
  #sentFirstFlight = false;
  #waitingForStreams = false;
  #lastSession: Uint8Array | undefined;
  /** Progress calls since the handshake completed, for throttling {@link #checkSession}. */
  #sessionChecks = 0;
  #closeError: QuicConnectionError | undefined;
  #datagramsReceived = 0;
  #hadSession: boolean;
  /** quiche closed the connection on a datagram carrying the peer's stateless reset token. */
  #statelessReset = false;
  #discardScratch: Uint8Array | undefined;
  /** Set by the first datagram fed since the last finishReceiving: whether quiche was open then. */
  #openBeforeBatch: boolean | undefined;
  /** Client: the server answered with a Retry, after which quiche sends no 0-RTT (measured). */
  #retried = false;
  /** Client: the name the server's certificate must carry; for the messages of errors. */
  readonly #serverName: string | undefined;
  /** `transport.maxIdleTimeoutMs` of this side, for the message of an idle timeout. */
  readonly #idleTimeoutMs: number;
  /** The caller's clock at the first datagram in or out, and at the latest call: how long a handshake was tried. */
  #startedAt: number | undefined;
  #lastNow = 0;

  private constructor(
    role: QuicRole,
    conn: QuicheConnection,
    sourceId: Uint8Array,
    local: HostPort,
    remote: HostPort,
    hadSession: boolean,
    config: QuicConfig,
    serverName?: string,
  ) {
    this.role = role;
    this.#serverName = serverName;
    const settings = configTransportSettings(config);
    this.#idleTimeoutMs = settings.maxIdleTimeoutMs;
    this.pacing = settings.pacing;
    this.maxDatagramSize = settings.maxUdpPayloadSize;
    this.#conn = conn;
    this.sourceId = sourceId;
    this.local = local;
    this.#quicheLocal = withoutZone(local);
    this.remote = remote;
    this.#ids = streamIdAllocator(role);
    this.#nextPeerBidi = role === 'client' ? 1 : 0;
    this.#nextPeerUni = role === 'client' ? 3 : 2;
    this.#hadSession = hadSession;
  }

  static connect(options: ConnectDriverOptions): QuicConnectionDriver {
    const conn = quiche.Connection.connect(
      options.serverName,
      options.sourceId,
      withoutZone(options.local),
      withoutZone(options.remote),
      nativeQuicheConfig(options.config),
    );
    let hadSession = false;
    if (options.session !== undefined) {
      try {
        conn.setSession(options.session);
        hadSession = true;
      } catch {
        // A stale or corrupt stored session must not stop the connection: fall back to a full handshake.
        hadSession = false;
      }
    }
    return new QuicConnectionDriver('client', conn, options.sourceId, options.local, options.remote, hadSession, options.config, options.serverName);
  }

  static accept(options: AcceptDriverOptions): QuicConnectionDriver {
    // quiche copies the config's transport parameters into the connection at accept: the shared
    // config carries this connection's token only for that call.
    const config = nativeQuicheConfig(options.config);
    if (options.statelessResetToken !== undefined) config.setStatelessResetToken(options.statelessResetToken);
    let conn: QuicheConnection;
    try {
      conn = quiche.Connection.accept(options.sourceId, options.originalDestinationId ?? null, withoutZone(options.local), withoutZone(options.remote), config);
    } finally {
      if (options.statelessResetToken !== undefined) config.setStatelessResetToken(null);
    }
    return new QuicConnectionDriver('server', conn, options.sourceId, options.local, options.remote, false, options.config);
  }

  // ---- I/O boundary -------------------------------------------------------------------------

  /** Feeds one UDP datagram. quiche decrypts in place: `data` is garbage afterwards. */
  receiveDatagram(data: Uint8Array, from: HostPort, now: number): void {
    this.receivePackets(data, from, now);
    this.finishReceiving(now);
  }

  /**
   * Feeds one UDP datagram of a batch without the bookkeeping after it (readable streams, session,
   * close, deadline: a dozen calls into quiche); {@link finishReceiving} does that once for the
   * batch. `receiveDatagram` is both.
   */
  receivePackets(data: Uint8Array, from: HostPort, now: number): void {
    if (this.#closeError !== undefined && this.#conn.isClosed()) return;
    this.#datagramsReceived++;
    this.#startedAt ??= now;
    // Open before this batch: quiche closing silently within it means a stateless reset.
    this.#openBeforeBatch ??= !this.#conn.isClosed();
    // A long header of type Retry (its type bits are not header-protected).
    if (this.role === 'client' && !this.#handshakeCompleted && ((data[0] ?? 0) & 0xb0) === 0xb0) this.#retried = true;
    // quiche drops the rest of a datagram at the first packet it cannot decrypt (RFC 9000 section
    // 12.2 says to go on). A peer that coalesces an Initial with later packets (ngtcp2 closing a
    // handshake: Initial + Handshake + 1-RTT) would otherwise be unheard once the client dropped its
    // Initial keys. A client hands such datagrams over packet by packet; a server does not, since
    // quiche judges a client's Initial by its datagram's size.
    const packets = this.role === 'client' && ((data[0] ?? 0) & 0x80) !== 0 ? coalescedPacketLengths(data) : undefined;
    if (packets === undefined || packets.length === 1) {
      this.#recvPacket(data, from);
    } else {
      let at = 0;
      for (const length of packets) {
        this.#recvPacket(data.subarray(at, at + length), from);
        at += length;
      }
    }
  }

  /** The bookkeeping after the datagrams fed since the last call (see {@link receivePackets}). */
  finishReceiving(now: number): void {
    const wasOpen = this.#openBeforeBatch;
    if (wasOpen === undefined) return;
    this.#openBeforeBatch = undefined;
    // quiche closes silently (no error recorded) when a datagram ends with the peer's reset token.
    if (wasOpen && this.#conn.isClosed() && this.#conn.peerError() === null && this.#conn.localError() === null) {
      this.#statelessReset = true;
    }
    this.#afterProgress(now);
  }

  #recvPacket(data: Uint8Array, from: HostPort): void {
    try {
      this.#conn.recv(data, { from: withoutZone(from), to: this.#quicheLocal });
    } catch {
      // quiche throws both for a datagram it merely discards and for a fatal protocol error; only
      // the latter sets a local error, which the close check below turns into a typed error.
    }
  }

  /**
   * Writes the next datagram to send into `out` (at least 1350 bytes, reused by the caller) and
   * returns its length, or 0 when there is nothing to send now.
   */
  writeDatagram(out: Uint8Array, now: number): number {
    this.#startedAt ??= now;
    this.#lastNow = now;
    let result: ReturnType<QuicheConnection['send']>;
    try {
      result = this.#conn.send(out);
    } catch (error) {
      this.#failInternally('quiche send failed', error);
      result = null;
    }
    if (result === null) {
      this.#refreshDeadline(now);
      this.#checkClosed();
      return 0;
    }
    if (!this.#sentFirstFlight) {
      this.#sentFirstFlight = true;
      // isInEarlyData() only turns true once quiche has built a 0-RTT-capable first flight.
      this.#earlyDataAttempted = this.role === 'client' && this.#hadSession && this.#conn.isInEarlyData();
    }
    return result[0];
  }

  /** Convenience for tests and simple callers: every pending datagram as its own copy. */
  *datagramsToSend(now: number): Generator<Uint8Array> {
    const scratch = new Uint8Array(quiche.MAX_UDP_PACKET_SIZE);
    for (;;) {
      const length = this.writeDatagram(scratch, now);
      if (length === 0) return;
      yield scratch.slice(0, length);
    }
  }

  /** Absolute time (caller's clock) at which {@link handleTimer} must be called, if any. */
  nextTimer(): number | undefined {
    return this.#deadline;
  }

  handleTimer(now: number): void {
    if (this.#deadline === undefined || now < this.#deadline) return;
    this.#deadline = undefined;
    this.#lastNow = now;
    this.#conn.onTimeout();
    this.#afterProgress(now);
  }

  pollEvent(): QuicDriverEvent | undefined {
    return this.#events.shift();
  }

  // ---- State --------------------------------------------------------------------------------

  get isHandshakeCompleted(): boolean {
    return this.#handshakeCompleted;
  }

  /** True when streams may carry data now: after the handshake, or in 0-RTT with a session. */
  get canSendStreamData(): boolean {
    return (this.#handshakeCompleted || this.#hadSession) && this.#closeError === undefined;
  }

  /** True when the first flight carried 0-RTT (client only). */
  get earlyDataAttempted(): boolean {
    return this.#earlyDataAttempted;
  }

  /** After the handshake: whether the server took the 0-RTT data (client) or any arrived (server). */
  get earlyDataAccepted(): boolean {
    return this.#earlyDataAccepted;
  }

  get resumed(): boolean {
    return this.#resumed;
  }

  /** Server only: true while this connection may still be receiving 0-RTT data. */
  get inEarlyData(): boolean {
    return this.#conn.isInEarlyData();
  }

  /** The reason the connection closed, once it has. */
  get closeError(): QuicConnectionError | undefined {
    return this.#closeError;
  }

  /** True once quiche has finished closing and the connection can be forgotten. */
  get isClosed(): boolean {
    return this.#conn.isClosed();
  }

  /** The peer's certificate chain (DER, leaf first), after the handshake. */
  peerCertificateChain(): Uint8Array[] | undefined {
    return this.#conn.peerCertChain() ?? undefined;
  }

  applicationProtocol(): string {
    return Buffer.from(this.#conn.applicationProto()).toString('latin1');
  }

  serverName(): string | undefined {
    return this.#conn.serverName() ?? undefined;
  }

  /** Packets quiche accepted from the peer (cheaper than {@link stats}). */
  packetsReceived(): number {
    return this.#conn.stats().recv;
  }

  /**
   * Congestion window (bytes) and smoothed RTT (ms, whole: 0 below 1 ms; quiche's initial 333 before
   * a sample) of the active path, for pacing. One call into the binding, about 5 µs: call it
   * sparingly.
   */
  pathEstimate(): { congestionWindow: number; rttMs: number } | undefined {
    const path = this.#conn.pathStats()[0];
    return path === undefined ? undefined : { congestionWindow: path.cwnd, rttMs: path.rtt };
  }

  /** quiche's counters; `pacingDelays` is the I/O layer's (QuicConnection adds it). */
  stats(): Omit<QuicConnectionStats, 'pacingDelays'> {
    const stats = this.#conn.stats();
    const path = this.#conn.pathStats()[0];
    return {
      rttMs: path === undefined || path.rtt === 0 ? undefined : path.rtt,
      packetsSent: stats.sent,
      packetsReceived: stats.recv,
      packetsLost: stats.lost,
      bytesSent: stats.sentBytes,
      bytesReceived: stats.recvBytes,
      bytesLost: stats.lostBytes,
      streamBytesRetransmitted: stats.streamRetransBytes,
      datagramsReceived: this.#datagramsReceived,
      congestionWindow: path?.cwnd,
    };
  }

  // ---- Streams ------------------------------------------------------------------------------

  /**
   * Opens a locally initiated stream and returns its ID, or undefined when the peer's stream limit
   * is reached (a 'streams-available' event follows when it is raised) or data cannot be sent yet.
   */
  openStream(bidirectional: boolean): number | undefined {
    if (!this.canSendStreamData) return undefined;
    const left = bidirectional ? this.#conn.peerStreamsLeftBidi() : this.#conn.peerStreamsLeftUni();
    if (left === 0) {
      this.#waitingForStreams = true;
      return undefined;
    }
    const streamId = this.#ids.next(bidirectional);
    try {
      // Setting the priority makes quiche create the stream, so it counts against the limit now.
      this.#conn.streamPriority(streamId, 3, true);
    } catch (error) {
      if (parseBindingFailure(error).kind === 'StreamLimit') {
        this.#ids.giveBack(bidirectional);
        this.#waitingForStreams = true;
        return undefined;
      }
      throw error;
    }
    this.#knownStreams.add(streamId);
    if (!this.#handshakeCompleted) this.#earlyStreams.add(streamId);
    return streamId;
  }

  /** Sends up to `data.length` bytes; returns how many quiche accepted (0 when flow control is full). */
  streamSend(streamId: number, data: Uint8Array, fin: boolean): number {
    // quiche answers "Done" after a close, which would leave a writer waiting forever.
    if (this.#closeError !== undefined) throw this.#closeError;
    let written: number | null;
    try {
      written = this.#conn.streamSend(streamId, data, fin);
    } catch (error) {
      throw this.#streamError(streamId, error);
    }
    // "Done" means no flow-control credit, but quiche also answers it for a stream it already
    // collected (the peer stopped it, quiche answered with RESET_STREAM on its own, and that was
    // acknowledged). Waiting for capacity would then wait forever; asking for the capacity tells the
    // two apart: a live stream has some (0), a stopped one is StreamStopped, a collected one invalid.
    if (written === null && (data.length > 0 || fin)) {
      try {
        this.#conn.streamCapacity(streamId);
      } catch (error) {
        throw this.#streamError(streamId, error);
      }
    }
    const accepted = written ?? 0;
    if (accepted < data.length || (fin && written === null)) this.#blockedStreams.add(streamId);
    if (!this.#handshakeCompleted && this.role === 'client') this.#earlyStreams.add(streamId);
    return accepted;
  }

  /**
   * Reads into `out`. Returns null when nothing is buffered; throws {@link QuicStreamResetError}
   * when the peer reset the stream.
   */
  streamRecv(streamId: number, out: Uint8Array): { length: number; fin: boolean } | null {
    let result: [number, boolean] | null;
    try {
      result = this.#conn.streamRecv(streamId, out);
    } catch (error) {
      this.#undrained.delete(streamId);
      const failure = parseBindingFailure(error);
      if (failure.kind === 'Done') return null;
      throw this.#streamError(streamId, error);
    }
    if (result === null || result[1]) this.#undrained.delete(streamId);
    if (result === null) return null;
    return { length: result[0], fin: result[1] };
  }

  streamReadable(streamId: number): boolean {
    return this.#conn.streamReadable(streamId);
  }

  /** Bytes that may be sent on the stream now without blocking. */
  streamCapacity(streamId: number): number {
    try {
      return this.#conn.streamCapacity(streamId);
    } catch (error) {
      throw this.#streamError(streamId, error);
    }
  }

  /** Asks for a 'stream-writable' event once the stream has capacity again. */
  watchWritable(streamId: number): void {
    this.#blockedStreams.add(streamId);
  }

  /** Abandons the sending side (RESET_STREAM). */
  resetStream(streamId: number, errorCode: number): void {
    this.#shutdown(streamId, Shutdown.Write, errorCode);
  }

  /** Asks the peer to stop sending (STOP_SENDING) and discards what arrives. */
  stopSending(streamId: number, errorCode: number): void {
    this.#undrained.delete(streamId);
    this.#discardBuffered(streamId);
    this.#shutdown(streamId, Shutdown.Read, errorCode);
  }

  /**
   * Reads out and drops what quiche holds for a stream. quiche 0.18 returns connection-level
   * flow-control credit for data that arrives after a read shutdown, but not for data already
   * buffered and unread: without this, every stopped stream cost the connection its unread bytes
   * for good (a batch of datagrams routed before the application stops a large upload buffers up
   * to the stream's whole window; 22 such uploads exhausted a 16 MiB window).
   */
  #discardBuffered(streamId: number): void {
    const scratch = (this.#discardScratch ??= new Uint8Array(64 * 1024));
    for (;;) {
      let result: [number, boolean] | null;
      try {
        result = this.#conn.streamRecv(streamId, scratch);
      } catch {
        return; // Done, reset, or not readable: nothing buffered to give back
      }
      if (result === null || result[1]) return;
    }
  }

  /** True if this stream carried data before the handshake completed (0-RTT early data). */
  streamIsEarlyData(streamId: number): boolean {
    return this.#earlyStreams.has(streamId);
  }

  /** Forgets a finished stream's bookkeeping. */
  releaseStream(streamId: number): void {
    this.#knownStreams.delete(streamId);
    this.#undrained.delete(streamId);
    this.#unannounced.delete(streamId);
    this.#earlyStreams.delete(streamId);
    this.#blockedStreams.delete(streamId);
  }

  /** Queues a PING (an ack-eliciting packet): any answer proves the peer is alive. */
  ping(): void {
    try {
      this.#conn.sendAckEliciting();
    } catch {
      // Closing, or nothing to send on yet: there is no peer to probe.
    }
  }

  // ---- Closing ------------------------------------------------------------------------------

  /** Sends CONNECTION_CLOSE. `kind: 'application'` codes belong to the protocol above QUIC. */
  close(kind: 'transport' | 'application', errorCode: number, reason = '', now?: number): void {
    try {
      this.#conn.close(kind === 'application', errorCode, Buffer.from(reason, 'utf8'));
    } catch {
      // Already closing: the first close wins, as RFC 9000 section 10.2 requires.
    }
    this.#checkClosed();
    if (now !== undefined) this.#refreshDeadline(now);
  }

  // ---- Internals ----------------------------------------------------------------------------

  #afterProgress(now: number): void {
    this.#lastNow = now;
    if (!this.#handshakeCompleted && this.#conn.isEstablished()) this.#completeHandshake();
    this.#collectReadable();
    // session() copies the whole session out of quiche: polled on every packet it dominated a bulk
    // download's garbage. Tickets come right after the handshake; later ones are caught every 32nd
    // packet and when the connection closes.
    if (this.#handshakeCompleted && this.role === 'client' && (++this.#sessionChecks <= 32 || this.#sessionChecks % 32 === 0)) this.#checkSession();
    this.#collectWritable();
    if (this.#waitingForStreams && this.#streamsAvailable()) {
      this.#waitingForStreams = false;
      this.#events.push({ type: 'streams-available' });
    }
    this.#checkClosed();
    this.#refreshDeadline(now);
  }

  #completeHandshake(): void {
    this.#handshakeCompleted = true;
    this.#resumed = this.#conn.isResumed();
    // The binding does not expose BoringSSL's early-data status. A client that sent 0-RTT and was
    // resumed had it accepted: servers of this library always enable early data with resumption,
    // and a rejected 0-RTT flight is resent by quiche's loss recovery once its packets go unacked.
    this.#earlyDataAccepted =
      this.role === 'client' ? this.#earlyDataAttempted && this.#resumed && !this.#retried : this.#earlyStreams.size > 0;
    if (this.role === 'client' && !this.#earlyDataAccepted) this.#earlyStreams.clear();
    this.#events.push({ type: 'handshake-completed', resumed: this.#resumed, earlyDataAccepted: this.#earlyDataAccepted });
  }

  /**
   * Finds streams with data. The binding's readable() iterator costs far more per step than asking
   * about one known stream (docs/performance.md, "Measured design choices"), so the common
   * case polls the streams already known and discovers peer streams in ID order, the
   * order RFC 9000 section 2.1 has peers open them. The iterator is the fallback when something is
   * readable that neither finds.
   */
  #collectReadable(): void {
    if (!this.#conn.isReadable()) return;
    if (this.#knownStreams.size > maxPolledStreams) {
      this.#scanAllReadable();
      return;
    }
    let found = false;
    for (const streamId of this.#knownStreams) {
      if (this.#conn.streamReadable(streamId)) {
        this.#emitReadable(streamId);
        found = true;
      }
    }
    found = this.#discoverInOrder(true) || found;
    found = this.#discoverInOrder(false) || found;
    if (!found) this.#scanAllReadable();
  }

  /**
   * Call after the consumers have read what the last events announced: if quiche still has
   * readable data although every announced stream was drained, a peer opened a stream out of
   * order, and the full scan finds it. The I/O layer calls this once per batch of datagrams.
   */
  rescanReadable(): void {
    if (this.#undrained.size === 0 && this.#conn.isReadable()) {
      this.#scanAllReadable();
    }
  }

  #scanAllReadable(): void {
    for (const streamId of this.#conn.readable()) {
      if (!isLocallyInitiated(streamId, this.role) && !this.#knownStreams.has(streamId)) this.#notePeerStream(streamId);
      this.#emitReadable(streamId);
    }
  }

  #discoverInOrder(bidirectional: boolean): boolean {
    let found = false;
    for (;;) {
      const streamId = bidirectional ? this.#nextPeerBidi : this.#nextPeerUni;
      if (!this.#conn.streamReadable(streamId)) return found;
      this.#notePeerStream(streamId);
      this.#emitReadable(streamId);
      found = true;
    }
  }

  /** A peer stream exists: it and every lower ID of its type are open (RFC 9000 section 3.2). */
  #notePeerStream(streamId: number): void {
    const bidirectional = isBidirectional(streamId);
    let next = bidirectional ? this.#nextPeerBidi : this.#nextPeerUni;
    for (; next <= streamId; next += 4) {
      this.#knownStreams.add(next);
      this.#unannounced.add(next);
    }
    if (bidirectional) this.#nextPeerBidi = next;
    else this.#nextPeerUni = next;
  }

  #emitReadable(streamId: number): void {
    if (this.#unannounced.delete(streamId)) {
      if (this.role === 'server' && !this.#handshakeCompleted) this.#earlyStreams.add(streamId);
      this.#events.push({ type: 'stream-opened', streamId });
    } else if (this.role === 'server' && !this.#handshakeCompleted) {
      this.#earlyStreams.add(streamId);
    }
    this.#undrained.add(streamId);
    this.#events.push({ type: 'stream-readable', streamId });
  }

  #collectWritable(): void {
    if (this.#blockedStreams.size === 0) return;
    for (const streamId of this.#blockedStreams) {
      let ready: boolean;
      try {
        ready = this.#conn.streamCapacity(streamId) > 0;
      } catch {
        ready = true; // the writer learns the reason (stopped, closed) from its next send
      }
      if (ready) {
        this.#blockedStreams.delete(streamId);
        this.#events.push({ type: 'stream-writable', streamId });
      }
    }
  }

  #streamsAvailable(): boolean {
    return this.#conn.peerStreamsLeftBidi() > 0 || this.#conn.peerStreamsLeftUni() > 0;
  }

  #checkSession(): void {
    const session = this.#conn.session();
    if (session === null) return;
    const last = this.#lastSession;
    if (last !== undefined && Buffer.compare(last, session) === 0) return;
    this.#lastSession = session;
    this.#events.push({ type: 'session-ticket', session });
  }

  #checkClosed(): void {
    if (this.#closeError !== undefined) return;
    if (!this.#conn.isClosed() && !this.#conn.isDraining()) {
      const local = this.#conn.localError();
      if (local === null) return;
    }
    if (this.#handshakeCompleted && this.role === 'client') this.#checkSession();
    this.#closeError = this.#describeClose();
    this.#blockedStreams.clear();
    this.#events.push({ type: 'closed', error: this.#closeError });
  }

  #describeClose(): QuicConnectionError {
    const peer = this.#conn.peerError();
    const local = this.#conn.localError();
    if (peer !== null) return closeErrorFrom('peer', peer, () => this.#tlsDetails(undefined));
    if (local !== null) return closeErrorFrom('local', local, (alert) => this.#tlsDetails(alert));
    if (this.#statelessReset) return new QuicStatelessResetError();
    if (this.#conn.isTimedOut()) return this.#idleTimeoutError();
    return withoutStack(() => new QuicConnectionClosedError('local', 'transport', 0, ''));
  }

  /**
   * With whom a handshake failed and, when this client could not verify the server, whether the
   * name was the reason: quiche reports a name mismatch only as bad_certificate, but it keeps the
   * certificate it refused, and its names are what the user needs to see.
   */
  #tlsDetails(localAlert: number | undefined): QuicTlsErrorDetails {
    const details: QuicTlsErrorDetails = { remote: this.remote, ...(this.#serverName === undefined ? {} : { serverName: this.#serverName }) };
    // bad_certificate is what BoringSSL reports for a name mismatch; other alerts have other causes.
    if (localAlert !== badCertificateAlert || this.role !== 'client' || this.#serverName === undefined || this.#handshakeCompleted) return details;
    const leaf = this.#conn.peerCertChain()?.[0];
    const check = leaf === undefined ? undefined : checkServerName(leaf, this.#serverName);
    if (check !== undefined && !check.matches) details.certificateNames = check.names;
    return details;
  }

  /** Says with whom, and whether the peer ever answered: "nothing listens there" is the commonest mistake. */
  #idleTimeoutError(): QuicIdleTimeoutError {
    const peer = { remote: this.remote, ...(this.#serverName === undefined ? {} : { serverName: this.#serverName }) };
    if (!this.#handshakeCompleted) {
      const stage = this.role === 'client' && this.#datagramsReceived === 0 ? 'no-answer' : 'handshake';
      return new QuicIdleTimeoutError(this.#lastNow - (this.#startedAt ?? this.#lastNow), { ...peer, stage });
    }
    // The timeout in force is the smaller of the two sides' non-zero values (RFC 9000 section 10.1).
    const theirs = this.#conn.stats().peerMaxIdleTimeout;
    const ours = this.#idleTimeoutMs;
    return new QuicIdleTimeoutError(theirs === 0 ? ours : ours === 0 ? theirs : Math.min(ours, theirs), peer);
  }

  #refreshDeadline(now: number): void {
    const timeout = this.#conn.timeout();
    this.#deadline = timeout === null ? undefined : now + timeout;
  }

  #shutdown(streamId: number, direction: Shutdown, errorCode: number): void {
    try {
      this.#conn.streamShutdown(streamId, direction, errorCode);
    } catch {
      // The stream is already finished or collected in that direction: nothing left to abandon.
    }
    this.#blockedStreams.delete(streamId);
  }

  #streamError(streamId: number, error: unknown): Error {
    const failure = parseBindingFailure(error);
    if (failure.kind === 'StreamReset') return new QuicStreamResetError(streamId, failure.code ?? 0);
    if (failure.kind === 'StreamStopped') return new QuicStreamStoppedError(streamId, failure.code ?? 0);
    if (this.#closeError !== undefined) return this.#closeError;
    return new QuicStreamStateError(streamId, `quiche refused the operation (${failure.kind})`);
  }

  #failInternally(message: string, cause: unknown): void {
    try {
      this.#conn.close(false, 0x1, Buffer.from('internal error'));
    } catch {
      // already closing
    }
    if (this.#closeError === undefined) {
      this.#closeError = new QuicInternalError(message, { cause });
      this.#events.push({ type: 'closed', error: this.#closeError });
    }
  }
}

/** TLS alert 42 (RFC 8446 section 6.2). */
const badCertificateAlert = 42;

function closeErrorFrom(initiator: 'local' | 'peer', error: QuicheConnectionError, tlsDetails: (alert: number) => QuicTlsErrorDetails): QuicConnectionError {
  const reason = Buffer.from(error.reason).toString('utf8');
  if (!error.isApp && error.errorCode >= cryptoErrorStart && error.errorCode <= cryptoErrorStop) {
    const alert = error.errorCode - cryptoErrorStart;
    return new QuicTlsError(initiator, alert, tlsDetails(alert));
  }
  return withoutStack(() => new QuicConnectionClosedError(initiator, error.isApp ? 'application' : 'transport', error.errorCode, reason));
}

