/**
 * Half-open connections: accepted, handshake not complete. They are the state an unauthenticated
 * peer can make a server hold, so the endpoint counts them, bounds them, and gives each a deadline.
 * Kept in arrival order (a Map iterates in insertion order) and with one timeout for all, so the
 * oldest is always first: expiry and eviction look only at the front, and one timer serves the set.
 */
export class HalfOpenSet<T> {
  readonly #deadlines = new Map<T, number>();
  readonly #timeoutMs: number;

  /** @param timeoutMs how long a handshake may take; 0 means no deadline. */
  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  get size(): number {
    return this.#deadlines.size;
  }

  add(item: T, now: number): void {
    this.#deadlines.set(item, this.#timeoutMs === 0 ? Number.POSITIVE_INFINITY : now + this.#timeoutMs);
  }

  /** The handshake completed or the connection went away. */
  delete(item: T): boolean {
    return this.#deadlines.delete(item);
  }

  has(item: T): boolean {
    return this.#deadlines.has(item);
  }

  /** The connection that has waited longest, to make room for a new one. */
  oldest(): T | undefined {
    for (const item of this.#deadlines.keys()) return item;
    return undefined;
  }

  /** Removes and returns every connection whose deadline has passed. */
  takeExpired(now: number): T[] {
    const expired: T[] = [];
    for (const [item, deadline] of this.#deadlines) {
      if (deadline > now) break;
      expired.push(item);
    }
    for (const item of expired) this.#deadlines.delete(item);
    return expired;
  }

  /** When the oldest connection's deadline passes, if any. */
  nextDeadline(): number | undefined {
    for (const deadline of this.#deadlines.values()) return Number.isFinite(deadline) ? deadline : undefined;
    return undefined;
  }
}
