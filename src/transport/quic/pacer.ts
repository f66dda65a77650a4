/**
 * Pacing (RFC 9002 section 7.7) by quiche's rule, kept here because the binding does not expose
 * quiche's own send time (`SendInfo.at` is an opaque object in JavaScript). A token bucket, sans
 * I/O: times are milliseconds on the caller's clock.
 */

/** quiche's pacing rate for cubic and reno is 1.25 congestion windows per smoothed RTT: a little over one, so pacing never keeps the window from being used. */
export const pacingMultiplier = 1.25;

/**
 * Node's timers fire on whole milliseconds and often one late: the bucket holds at least two
 * milliseconds of sending, so that the link does not idle between two timer ticks.
 */
export const pacingGranularityMs = 2;

/**
 * The smallest burst, in bytes: one GSO message (UDP_SEGMENT takes up to 64 KiB), which the kernel
 * puts on the wire at once anyway, as it does a TSO segment of TCP. Ten datagrams (RFC 9002's
 * initial window) was too small: quiche's smoothed RTT right after a handshake read 3 to 7 ms on a
 * 1 ms path, and pacing the first windows of a 1 MiB response by it cost up to 14 timer waits.
 */
export const minBurstBytes = 64 * 1024;

/**
 * Paths whose smoothed RTT stays below this many ms are not paced. There quiche's estimate mostly
 * measures the endpoints, not the path: on a 1 ms path it read up to 8 ms right after the
 * handshake (the peer's TLS work and event loop), and pacing by it held back up to 25 times a
 * 1 MiB response whose window the path would have carried at once.
 */
export const minPacedRttMs = 10;

/**
 * Pacing starts only once the smoothed RTT has stayed at or above {@link minPacedRttMs} for this
 * many of its own lengths: a peer's pause during the handshake (a garbage collection, a busy event
 * loop) read as 10 to 21 ms on a 1 ms path, and samples after the pause bring it down. A long path
 * loses nothing: its window is below the smallest burst for its first round trips anyway.
 */
export const pacingSettleRtts = 2;

/**
 * Token bucket filled at `pacingMultiplier × cwnd / rtt` bytes per ms, holding
 * `max(minBurstBytes, rate × pacingGranularityMs)` bytes, on paths from {@link minPacedRttMs}
 * (after {@link pacingSettleRtts}): there a window leaves in chunks spread over the RTT. It limits nothing while the bucket holds a
 * whole congestion window: no burst can then be larger than the bucket, and a rate limit alone
 * only holds back what the ACKs already allow (with a smoothed RTT above the path's, it kept quiche
 * from growing its window: quiche took the connection for application-limited). Nothing is
 * limited before an RTT sample.
 *
 * `rtt` is the smallest smoothed RTT seen, where quiche uses the latest: in this library the
 * smoothed RTT also counts the time datagrams wait in the endpoints' own event loops, which pacing
 * cannot spread. Paced by it, a 64 MiB transfer over loopback (smoothed RTT read 8 to 17 ms) waited
 * on the pacing timer some 70 times and lost about a third of its throughput.
 */
export class Pacer {
  readonly #maxDatagramSize: number;
  /** Bytes per ms; Infinity while nothing is limited. */
  #rate = Number.POSITIVE_INFINITY;
  #capacity = Number.POSITIVE_INFINITY;
  #tokens = Number.POSITIVE_INFINITY;
  #filledAt = 0;
  /** The smallest smoothed RTT seen (0: below 1 ms). */
  #rttMs = Number.POSITIVE_INFINITY;
  #firstUpdateAt: number | undefined;
  /** Starts high: the first flush that consults the pacer reads the numbers. */
  #sentSinceUpdate = Number.POSITIVE_INFINITY;

  /** @param maxDatagramSize the largest datagram this side sends, in bytes */
  constructor(maxDatagramSize: number) {
    this.#maxDatagramSize = maxDatagramSize;
  }

  /**
   * The congestion window (bytes) and smoothed RTT (ms, whole: the binding's resolution) now; call
   * only once quiche has an RTT sample. Nothing is limited before {@link pacingSettleRtts} RTTs
   * after the first call, nor ever again once an RTT below {@link minPacedRttMs} was seen.
   */
  update(cwndBytes: number, smoothedRttMs: number, now: number): void {
    this.#refill(now);
    this.#sentSinceUpdate = 0;
    this.#firstUpdateAt ??= now;
    if (smoothedRttMs < this.#rttMs) this.#rttMs = smoothedRttMs;
    const rate = (pacingMultiplier * cwndBytes) / this.#rttMs;
    const capacity = Math.max(minBurstBytes, rate * pacingGranularityMs);
    const settled = now - this.#firstUpdateAt >= pacingSettleRtts * this.#rttMs;
    if (!(this.#rttMs >= minPacedRttMs) || !settled || capacity >= cwndBytes) {
      this.#rate = Number.POSITIVE_INFINITY;
      this.#capacity = Number.POSITIVE_INFINITY;
      this.#tokens = Number.POSITIVE_INFINITY;
      return;
    }
    this.#rate = rate;
    this.#capacity = capacity;
    // A bucket that was unlimited starts full; one that shrank keeps no more than it now holds.
    if (this.#tokens > capacity) this.#tokens = capacity;
  }

  /**
   * True before the first {@link update} and, on a path that may be paced, once a minimum burst
   * left since the last: only then can a stale rate matter, so the caller need not read quiche's
   * path statistics (5 µs) for every flush, and never again on a data-centre path.
   */
  get wantsUpdate(): boolean {
    return this.#rttMs >= minPacedRttMs && this.#sentSinceUpdate >= minBurstBytes;
  }

  /** Bytes per ms, Infinity while unlimited. */
  get rate(): number {
    return this.#rate;
  }

  /** Bucket capacity in bytes: the largest burst. Infinity while unlimited. */
  get capacity(): number {
    return this.#capacity;
  }

  /** True when a datagram of the largest size may leave now. */
  canSend(now: number): boolean {
    this.#refill(now);
    return this.#tokens >= this.#maxDatagramSize;
  }

  onSent(bytes: number, now: number): void {
    this.#refill(now);
    this.#tokens -= bytes;
    this.#sentSinceUpdate += bytes;
  }

  /** When the next datagram of the largest size may leave: `now` or later. */
  nextSendTime(now: number): number {
    this.#refill(now);
    const missing = this.#maxDatagramSize - this.#tokens;
    return missing <= 0 ? now : now + missing / this.#rate;
  }

  #refill(now: number): void {
    if (now > this.#filledAt) {
      if (this.#tokens < this.#capacity) this.#tokens = Math.min(this.#capacity, this.#tokens + (now - this.#filledAt) * this.#rate);
      this.#filledAt = now;
    }
  }
}
