/** What the watch needs from a connection (a QuicConnection, or a fake in tests). */
export interface WatchedConnection {
  /** Packets quiche authenticated from the peer so far. */
  packetsReceived(): number;
  /** Smoothed RTT in milliseconds, if known. */
  rttMs(): number | undefined;
  /** Sends an ack-eliciting PING now. */
  ping(): void;
}

export interface PeerWatchOptions {
  /** Silence (no authenticated packet) after which a busy connection's peer is declared dead. */
  deadPeerTimeoutMs: number;
  /** Silence after which an idle connection is probed with a PING; 0 never probes idle ones. */
  keepAliveMs: number;
  /** True while requests are in flight. */
  busy: () => boolean;
  /** Called once, when the peer is declared dead. */
  onDead: (silentForMs: number) => void;
  /** @default performance.now */
  now?: () => number;
}

/**
 * Notices a peer that went silent (a SIGKILLed worker, a cut link) long before QUIC's idle timeout.
 * QUIC has no answer for a silent peer but the idle timeout (30 s here), and a worker running a
 * long function sends nothing, so silence alone proves nothing: after a quarter of the timeout
 * without a packet the watch sends a PING, which a live peer acknowledges within one round trip
 * and its ack delay. The peer is dead when the whole timeout passes without any packet although a
 * PING went out at least half the timeout earlier (quiche resends lost PINGs on its probe timer).
 * Idle pooled connections get a PING after `keepAliveMs` of silence, so a dead idle peer is noticed
 * too. The timeout is never below three probe timeouts (about 3 × (2 RTT + 25 ms)), so a slow path
 * is not mistaken for a dead peer. One timer per connection; nothing per request.
 */
export class PeerWatch {
  readonly #connection: WatchedConnection;
  readonly #options: PeerWatchOptions;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #packets: number;
  #heardAt: number;
  #probeSentAt: number | undefined;
  #stopped = false;
  /** The current timer runs at the busy cadence. */
  #watchingClosely = false;
  /** {@link #limit} as of the last tick: reading the RTT per request would cost a stats() call. */
  #limitMs: number;

  constructor(connection: WatchedConnection, options: PeerWatchOptions) {
    this.#connection = connection;
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    this.#packets = connection.packetsReceived();
    this.#heardAt = this.#now();
    this.#limitMs = this.#limit();
    this.#schedule();
  }

  /** Call when a request starts: a connection that was idle is watched closely from now on. */
  wake(): void {
    // Per request: nothing to do while already watching closely (no stats call, no new timer).
    if (this.#stopped || this.#watchingClosely) return;
    // An idle connection's silence is expected: the clock starts with the request.
    if (this.#probeSentAt === undefined) this.#heardAt = Math.max(this.#heardAt, this.#now() - this.#limitMs / 4);
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** The silence that declares a peer dead: the option, but never below three probe timeouts. */
  #limit(): number {
    const rtt = this.#connection.rttMs() ?? 0;
    return Math.max(this.#options.deadPeerTimeoutMs, 3 * (2 * rtt + 25));
  }

  #observe(now: number): void {
    const packets = this.#connection.packetsReceived();
    if (packets !== this.#packets) {
      this.#packets = packets;
      this.#heardAt = now;
      this.#probeSentAt = undefined;
    }
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#stopped) return;
    const quarter = this.#limitMs / 4;
    let delay: number;
    this.#watchingClosely = this.#options.busy() || this.#probeSentAt !== undefined;
    if (this.#watchingClosely) delay = quarter;
    else if (this.#options.keepAliveMs > 0) delay = Math.max(quarter, this.#heardAt + this.#options.keepAliveMs - this.#now());
    else return;
    this.#timer = setTimeout(this.#tick, delay);
    this.#timer.unref();
  }

  readonly #tick = (): void => {
    this.#timer = undefined;
    if (this.#stopped) return;
    const now = this.#now();
    this.#observe(now);
    const limit = (this.#limitMs = this.#limit());
    const silent = now - this.#heardAt;
    const busy = this.#options.busy();
    if (this.#probeSentAt !== undefined && silent >= limit && now - this.#probeSentAt >= limit / 2) {
      this.stop();
      this.#options.onDead(silent);
      return;
    }
    const probeAfter = busy ? limit / 4 : this.#options.keepAliveMs;
    if (this.#probeSentAt === undefined && probeAfter > 0 && silent >= probeAfter) {
      this.#probeSentAt = now;
      this.#connection.ping();
    }
    this.#schedule();
  };
}
