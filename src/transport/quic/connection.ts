import type { QuicConnectionDriver, HostPort, QuicConnectionStats, QuicDriverEvent } from './connection-driver.js';
import type { QuicConnectionError } from '../../errors.js';
import type { SendSlot, SendSlotPool } from './send-buffer-pool.js';
import { QuicStream, type StreamHost } from './stream.js';
import { Pacer } from './pacer.js';

/** What a connection needs from the endpoint that owns its socket. */
export interface DatagramSink {
  readonly pool: SendSlotPool;
  /** Buffer for reading stream data out of quiche; copied out at once, so one per endpoint. */
  readonly readScratch: Uint8Array;
  /**
   * Returns false when the connection should stop writing for now: the endpoint would not send the
   * datagram (anti-amplification), or the socket queued it and is not writable (it flushes the
   * connection again once it is).
   */
  send(slot: SendSlot, length: number, to: HostPort, connection: QuicConnection): boolean;
  /** The connection finished closing: drop its routes. */
  forget(connection: QuicConnection): void;
  /**
   * Called by the first datagram a connection receives within a batch of datagrams; the sink then
   * calls {@link QuicConnection.endReceiveBatch} once the batch is routed. Without it, every
   * datagram is a batch of its own.
   */
  startedReceiveBatch?: (connection: QuicConnection) => void;
}

/** What the handshake established, once it completed. */
export interface HandshakeInfo {
  /** The TLS session was resumed from a ticket. */
  resumed: boolean;
  /** The client sent 0-RTT and the server accepted it. */
  earlyDataAccepted: boolean;
  /** Milliseconds from `connect()` (or the first Initial, on a server) to handshake completion. */
  handshakeMs: number;
}

export interface QuicConnectionHooks {
  /** Client: a session ticket to remember for 0-RTT next time. */
  onSessionTicket?: ((session: Uint8Array) => void) | undefined;
}

interface StreamOpener {
  bidirectional: boolean;
  resolve: (stream: QuicStream) => void;
  reject: (error: Error) => void;
}

/**
 * A QUIC connection on a {@link QuicEndpoint}: the sans-I/O driver plus its timer, flush scheduling
 * and stream objects. Created by `endpoint.connect()` (client) or handed to the listener (server).
 */
export class QuicConnection {
  readonly #driver: QuicConnectionDriver;
  readonly #sink: DatagramSink;
  readonly #hooks: QuicConnectionHooks;
  readonly #streams = new Map<number, QuicStream>();
  readonly #incoming: QuicStream[] = [];
  readonly #openers: StreamOpener[] = [];
  readonly #startedAt = performance.now();
  readonly #streamHost: StreamHost;
  #onStream: ((stream: QuicStream) => void) | undefined;
  #flushScheduled = false;
  #timer: NodeJS.Timeout | undefined;
  #timerDeadline: number | undefined;
  /** Undefined with `transport.pacing: false`. */
  readonly #pacer: Pacer | undefined;
  /** Flushes again once the pacer lets the next datagram go. */
  #pacingTimer: NodeJS.Timeout | undefined;
  #pacingAt = 0;
  #pacingDelays = 0;
  #handshakeInfo: HandshakeInfo | undefined;
  #forgotten = false;
  #inReceiveBatch = false;

  readonly #handshake: Promise<HandshakeInfo>;
  #resolveHandshake!: (info: HandshakeInfo) => void;
  #rejectHandshake!: (error: QuicConnectionError) => void;
  readonly #closed: Promise<QuicConnectionError>;
  #resolveClosed!: (error: QuicConnectionError) => void;
  readonly #terminated: Promise<void>;
  #resolveTerminated!: () => void;

  /** @internal endpoints create connections */
  constructor(driver: QuicConnectionDriver, sink: DatagramSink, hooks: QuicConnectionHooks = {}) {
    this.#driver = driver;
    this.#sink = sink;
    this.#hooks = hooks;
    this.#pacer = driver.pacing ? new Pacer(driver.maxDatagramSize) : undefined;
    this.#handshake = new Promise((resolve, reject) => {
      this.#resolveHandshake = resolve;
      this.#rejectHandshake = reject;
    });
    // The handshake promise is also observed through `closed`; never leave it unhandled.
    this.#handshake.catch(() => undefined);
    this.#closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    this.#terminated = new Promise((resolve) => {
      this.#resolveTerminated = resolve;
    });
    const driverRef = driver;
    this.#streamHost = {
      role: driver.role,
      scratch: sink.readScratch,
      send: (id, data, fin) => driverRef.streamSend(id, data, fin),
      recv: (id, out) => driverRef.streamRecv(id, out),
      watchWritable: (id) => driverRef.watchWritable(id),
      capacity: (id) => driverRef.streamCapacity(id),
      reset: (id, code) => driverRef.resetStream(id, code),
      stopSending: (id, code) => driverRef.stopSending(id, code),
      isEarlyData: (id) => driverRef.streamIsEarlyData(id),
      release: (id) => {
        this.#streams.delete(id);
        driverRef.releaseStream(id);
      },
      scheduleFlush: () => this.scheduleFlush(),
    };
  }

  get role(): 'client' | 'server' {
    return this.#driver.role;
  }

  get remoteAddress(): HostPort {
    return this.#driver.remote;
  }

  /** @internal the endpoint's routing key */
  get sourceId(): Uint8Array {
    return this.#driver.sourceId;
  }

  /** Resolves when the TLS handshake completes; rejects with the close reason if it fails. */
  get handshake(): Promise<HandshakeInfo> {
    return this.#handshake;
  }

  /** Resolves (never rejects) with the reason once the connection is closed. */
  get closed(): Promise<QuicConnectionError> {
    return this.#closed;
  }

  /** Handshake facts once known. */
  get handshakeInfo(): HandshakeInfo | undefined {
    return this.#handshakeInfo;
  }

  get handshakeCompleted(): boolean {
    return this.#driver.isHandshakeCompleted;
  }

  /** Client: the first flight carried 0-RTT data (the session allowed it). */
  get earlyDataAttempted(): boolean {
    return this.#driver.earlyDataAttempted;
  }

  /** Server: the connection may still receive 0-RTT data (the handshake is not complete). */
  get inEarlyData(): boolean {
    return this.#driver.inEarlyData;
  }

  get closeError(): QuicConnectionError | undefined {
    return this.#driver.closeError;
  }

  get applicationProtocol(): string {
    return this.#driver.applicationProtocol();
  }

  /** The server name the client asked for (SNI). */
  get serverName(): string | undefined {
    return this.#driver.serverName();
  }

  /** The peer's certificate chain, DER, leaf first (after the handshake). */
  peerCertificateChain(): Uint8Array[] | undefined {
    return this.#driver.peerCertificateChain();
  }

  stats(): QuicConnectionStats {
    return { ...this.#driver.stats(), pacingDelays: this.#pacingDelays };
  }

  /** Sends a PING at once; the peer acknowledges it (keep-alive and liveness probe). */
  ping(): void {
    if (this.#driver.closeError !== undefined) return;
    this.#driver.ping();
    this.scheduleFlush();
  }

  /** Streams not yet finished in both directions (a number that should not keep growing). */
  get openStreams(): number {
    return this.#streams.size;
  }

  /**
   * Receives streams the peer opens. Streams that arrived before a handler was set are delivered
   * to it at once, in order.
   */
  set onStream(handler: ((stream: QuicStream) => void) | undefined) {
    this.#onStream = handler;
    if (handler === undefined) return;
    for (const stream of this.#incoming.splice(0)) handler(stream);
  }

  get onStream(): ((stream: QuicStream) => void) | undefined {
    return this.#onStream;
  }

  /**
   * Opens a bidirectional stream. With a session, this works before the handshake and the data
   * goes out as 0-RTT; without one it waits for the handshake. Waits while the peer's stream
   * limit is reached.
   */
  openBidirectionalStream(): Promise<QuicStream> {
    return this.#open(true);
  }

  openUnidirectionalStream(): Promise<QuicStream> {
    return this.#open(false);
  }

  /**
   * Closes the connection: sends CONNECTION_CLOSE and fails every open stream with the reason.
   * Resolves once the frame is handed to the socket; the connection then lingers in its closing
   * state (RFC 9000 section 10.2) so a late packet from the peer is answered, and is forgotten
   * afterwards. `closed` resolves at once with the reason.
   * @param options.kind `'application'` for codes of the protocol above QUIC (e.g. H3_NO_ERROR).
   */
  async close(options: { kind?: 'transport' | 'application'; code?: number; reason?: string } = {}): Promise<void> {
    if (this.#driver.closeError === undefined) {
      // Send what is pending first (the client's Finished may still be queued): a peer left
      // without it never completes its handshake and cannot even read our CONNECTION_CLOSE.
      this.#flush(false);
      this.#driver.close(options.kind ?? 'transport', options.code ?? 0, options.reason ?? '', performance.now());
      this.#drainEvents();
      this.#flush();
    }
  }

  /** Resolves when the connection has left its closing or draining period and is forgotten. */
  get terminated(): Promise<void> {
    return this.#terminated;
  }

  /** @internal true once quiche authenticated at least one packet from the peer */
  get receivedAnyPacket(): boolean {
    return this.#driver.packetsReceived() > 0;
  }

  /** @internal forget a connection that never got a valid packet, without sending anything */
  discard(): void {
    this.#terminate();
  }

  /** @internal the endpoint is going away: close at once and skip the closing period. */
  destroy(): void {
    void this.close();
    this.#terminate();
  }

  /** @internal endpoint delivers a datagram routed to this connection */
  receive(data: Uint8Array, from: HostPort): void {
    const batched = this.#sink.startedReceiveBatch;
    if (batched === undefined) {
      this.#driver.receiveDatagram(data, from, performance.now());
      this.#drainEvents();
      this.scheduleFlush();
      return;
    }
    // In a batch, the bookkeeping after quiche's recv (and the stream reads it triggers) runs once
    // at the end: stream data is then read in large chunks, not one per datagram.
    this.#driver.receivePackets(data, from, performance.now());
    if (!this.#inReceiveBatch) {
      this.#inReceiveBatch = true;
      batched(this);
    }
  }

  /** @internal the batch of datagrams this connection received in is routed: catch up */
  endReceiveBatch(): void {
    if (!this.#inReceiveBatch) return;
    this.#inReceiveBatch = false;
    if (this.#forgotten) return;
    this.#driver.finishReceiving(performance.now());
    this.#drainEvents();
    this.scheduleFlush();
  }

  /** @internal coalesces sends: everything written in this turn of the event loop leaves together */
  scheduleFlush(): void {
    if (this.#flushScheduled || this.#forgotten) return;
    this.#flushScheduled = true;
    setImmediate(this.#flushNow);
  }

  readonly #flushNow = (): void => {
    this.#flushScheduled = false;
    this.#flush();
  };

  /**
   * @param paced false sends everything quiche gives now (closing: pending data goes first)
   * @param pacedAt the pacing timer's time: Node may fire it a little before performance.now() reaches it
   */
  #flush(paced = true, pacedAt = 0): void {
    if (this.#forgotten) return;
    this.#driver.rescanReadable();
    this.#drainEvents();
    const now = performance.now();
    const pool = this.#sink.pool;
    // No RTT sample before the handshake completes, and a CONNECTION_CLOSE must not wait.
    const pacer = paced && this.#driver.isHandshakeCompleted && this.#driver.closeError === undefined ? this.#pacer : undefined;
    const paceNow = Math.max(now, pacedAt);
    // quiche's path statistics cost about 5 µs: read at most once per flush, and only once a
    // minimum burst left since the last reading, or before holding a datagram back.
    let pacerUpdated = false;
    for (;;) {
      if (pacer !== undefined) {
        if (!pacerUpdated && pacer.wantsUpdate) {
          this.#updatePacer(pacer, paceNow);
          pacerUpdated = true;
        }
        if (!pacer.canSend(paceNow)) {
          if (!pacerUpdated) {
            this.#updatePacer(pacer, paceNow);
            pacerUpdated = true;
          }
          if (!pacer.canSend(paceNow)) {
            this.#armPacingTimer(pacer.nextSendTime(paceNow));
            break;
          }
        }
      }
      const slot = pool.take();
      const length = this.#driver.writeDatagram(slot.buffer, now);
      if (length === 0) {
        pool.giveBack(slot);
        break;
      }
      pacer?.onSent(length, paceNow);
      if (!this.#sink.send(slot, length, this.#driver.remote, this)) break;
    }
    this.#drainEvents();
    this.#armTimer();
    if (this.#driver.isClosed) this.#terminate();
  }

  #updatePacer(pacer: Pacer, now: number): void {
    const path = this.#driver.pathEstimate();
    if (path !== undefined) pacer.update(path.congestionWindow, path.rttMs, now);
  }

  #armPacingTimer(at: number): void {
    // One armed timer is enough: it fires within a timer tick or two, and a flush before it (on an
    // ACK) sends whatever the bucket allows by then.
    if (this.#pacingTimer !== undefined) return;
    this.#pacingDelays++;
    this.#pacingAt = at;
    // Unref'd like the connection timer: the endpoint's socket keeps the process alive.
    this.#pacingTimer = setTimeout(this.#onPacingTimer, Math.max(0, at - performance.now()));
    this.#pacingTimer.unref();
  }

  readonly #onPacingTimer = (): void => {
    this.#pacingTimer = undefined;
    this.#flush(true, this.#pacingAt);
  };

  #armTimer(): void {
    const deadline = this.#driver.nextTimer();
    if (deadline === this.#timerDeadline) return;
    this.#timerDeadline = deadline;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (deadline === undefined) {
      this.#timer = undefined;
      return;
    }
    // Unref'd: the endpoint's socket decides whether the process stays alive (QuicEndpoint.unref).
    this.#timer = setTimeout(this.#onTimer, Math.max(0, deadline - performance.now()));
    this.#timer.unref();
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    const deadline = this.#timerDeadline;
    this.#timerDeadline = undefined;
    // Node's timer clock can run slightly behind performance.now(); quiche checks its own clock.
    this.#driver.handleTimer(Math.max(performance.now(), deadline ?? 0));
    this.#drainEvents();
    this.#flush();
  };

  #open(bidirectional: boolean): Promise<QuicStream> {
    const closeError = this.#driver.closeError;
    if (closeError !== undefined) return Promise.reject(closeError);
    if (this.#openers.length === 0) {
      const stream = this.#tryOpen(bidirectional);
      if (stream !== undefined) return Promise.resolve(stream);
    }
    return new Promise((resolve, reject) => {
      this.#openers.push({ bidirectional, resolve, reject });
    });
  }

  #tryOpen(bidirectional: boolean): QuicStream | undefined {
    const id = this.#driver.openStream(bidirectional);
    if (id === undefined) return undefined;
    const stream = new QuicStream(this.#streamHost, id);
    this.#streams.set(id, stream);
    return stream;
  }

  #serveOpeners(): void {
    while (this.#openers.length > 0) {
      const opener = this.#openers[0] as StreamOpener;
      const stream = this.#tryOpen(opener.bidirectional);
      if (stream === undefined) return;
      this.#openers.shift();
      opener.resolve(stream);
    }
  }

  #drainEvents(): void {
    for (let event = this.#driver.pollEvent(); event !== undefined; event = this.#driver.pollEvent()) {
      this.#handle(event);
    }
  }

  #handle(event: QuicDriverEvent): void {
    switch (event.type) {
      case 'handshake-completed': {
        this.#handshakeInfo = {
          resumed: event.resumed,
          earlyDataAccepted: event.earlyDataAccepted,
          handshakeMs: performance.now() - this.#startedAt,
        };
        this.#resolveHandshake(this.#handshakeInfo);
        this.#serveOpeners();
        return;
      }
      case 'streams-available':
        this.#serveOpeners();
        return;
      case 'stream-opened': {
        const stream = new QuicStream(this.#streamHost, event.streamId);
        this.#streams.set(event.streamId, stream);
        if (this.#onStream === undefined) this.#incoming.push(stream);
        else this.#onStream(stream);
        return;
      }
      case 'stream-readable':
        this.#streams.get(event.streamId)?.onReadable();
        return;
      case 'stream-writable':
        this.#streams.get(event.streamId)?.onWritable();
        return;
      case 'session-ticket':
        this.#deliverSessionTicket(event.session);
        return;
      case 'closed': {
        const error = event.error;
        this.#rejectHandshake(error);
        for (const opener of this.#openers.splice(0)) opener.reject(error);
        for (const stream of [...this.#streams.values()]) stream.onConnectionClosed(error);
        this.#resolveClosed(error);
        return;
      }
    }
  }

  #deliverSessionTicket(session: Uint8Array): void {
    const hook = this.#hooks.onSessionTicket;
    if (hook === undefined) return;
    try {
      hook(session);
    } catch (error) {
      // A failing store must not break the connection; say so without printing the ticket.
      process.emitWarning(`qfaas: onSessionTicket callback threw: ${(error as Error)?.message ?? String(error)}`, {
        code: 'QFAAS_SESSION_TICKET_CALLBACK',
      });
    }
  }

  #terminate(): void {
    if (this.#forgotten) return;
    this.#forgotten = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pacingTimer !== undefined) clearTimeout(this.#pacingTimer);
    this.#pacingTimer = undefined;
    this.#sink.forget(this);
    this.#resolveTerminated();
  }
}
