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

/** The smallest burst, in datagrams: the initial window RFC 9002 section 7.2 allows to leave at once. */
export const minBurstDatagrams = 10;

/**
 * Token bucket filled at `pacingMultiplier × cwnd / srtt` bytes per ms, holding
 * `max(minBurstDatagrams × maxDatagramSize, rate × pacingGranularityMs)` bytes. Without an RTT
 * sample it limits nothing. At an RTT up to 2.5 ms the bucket holds a whole congestion window, so
 * pacing delays nothing on a data-centre path; on longer paths a window leaves in chunks spread
 * over the RTT.
 */
export class Pacer {
  readonly #maxDatagramSize: number;
  /** Bytes per ms; Infinity while there is no RTT sample. */
  #rate = Number.POSITIVE_INFINITY;
  #capacity = Number.POSITIVE_INFINITY;
  #tokens = Number.POSITIVE_INFINITY;
  #filledAt = 0;
  #sentSinceUpdate = 0;

  /** @param maxDatagramSize the largest datagram this side sends, in bytes */
  constructor(maxDatagramSize: number) {
    this.#maxDatagramSize = maxDatagramSize;
  }

  /**
   * The congestion window (bytes) and smoothed RTT (ms) now. An RTT of 0 or undefined (no sample,
   * or below the binding's 1 ms resolution) lifts the limit.
   */
  update(cwndBytes: number, rttMs: number | undefined, now: number): void {
    this.#refill(now);
    this.#sentSinceUpdate = 0;
    if (rttMs === undefined || !(rttMs > 0)) {
      this.#rate = Number.POSITIVE_INFINITY;
      this.#capacity = Number.POSITIVE_INFINITY;
      this.#tokens = Number.POSITIVE_INFINITY;
      return;
    }
    this.#rate = (pacingMultiplier * cwndBytes) / rttMs;
    this.#capacity = Math.max(minBurstDatagrams * this.#maxDatagramSize, this.#rate * pacingGranularityMs);
    // A bucket that was unlimited starts full; one that shrank keeps no more than it now holds.
    if (this.#tokens > this.#capacity) this.#tokens = this.#capacity;
  }

  /**
   * True once a minimum burst left since the last {@link update}: only then can a stale rate
   * matter, so the caller need not read quiche's path statistics (5 µs) for every flush.
   */
  get wantsUpdate(): boolean {
    return this.#sentSinceUpdate >= minBurstDatagrams * this.#maxDatagramSize;
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
