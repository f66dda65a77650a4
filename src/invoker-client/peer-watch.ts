/** What the watch needs from a connection (a QuicConnection, or a fake in tests). */
export interface WatchedConnection {
  /**
   * Packets quiche authenticated from the peer so far, and the smoothed RTT in milliseconds if
   * known: one call, as both come from one native stats query.
   */
  sample(): { packetsReceived: number; rttMs: number | undefined };
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
  /** Packets received as of the last tick; undefined until the first (nothing is read at start). */
  #packets: number | undefined;
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
    // Nothing is asked of the connection until the first tick: most pooled connections of a
    // fresh-connection workload close before it. Until then the RTT counts as unknown (0).
    this.#heardAt = this.#now();
    this.#limitMs = this.#limit(undefined);
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
  #limit(rttMs: number | undefined): number {
    return Math.max(this.#options.deadPeerTimeoutMs, 3 * (2 * (rttMs ?? 0) + 25));
  }

  /** Reads the connection once; returns the silence limit for its current RTT. */
  #observe(now: number): number {
    const { packetsReceived, rttMs } = this.#connection.sample();
    // The first reading is only a baseline: packets before it may predate the silence. A live peer
    // still answers the PING that silence brings, so it is never declared dead for that.
    if (this.#packets !== undefined && packetsReceived !== this.#packets) {
      this.#heardAt = now;
      this.#probeSentAt = undefined;
    }
    this.#packets = packetsReceived;
    return this.#limit(rttMs);
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
    const limit = (this.#limitMs = this.#observe(now));
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
