import type { H3Stream } from './transport.js';

/**
 * Bounds the request header sections a server connection holds before they are complete: each has
 * a deadline from its stream's first byte (`timeoutMs`, like Node's `headersTimeout`), and their
 * buffered bytes together have a cap (`maxBytes`). Without it, a client that announces a large
 * HEADERS frame and never finishes it holds memory on many streams while no request is "in flight",
 * so no request limit or exec timeout ever applies.
 *
 * One timer per connection, armed for the oldest deadline: every section gets the same timeout, so
 * insertion order is deadline order. It is not cleared when the last section completes: it fires
 * once more at most, finds nothing due and re-arms for what is pending, if anything.
 */
export class UnfinishedHeaderSections {
  readonly #timeoutMs: number;
  readonly #maxBytes: number;
  readonly #onTimeout: (stream: H3Stream) => void;
  readonly #pending = new Map<H3Stream, { deadline: number; bytes: number }>();
  #bytes = 0;
  #timer: NodeJS.Timeout | undefined;

  /**
   * @param options.timeoutMs 0 disables the deadline.
   * @param options.maxBytes 0 disables the cap.
   * @param options.onTimeout told about each section whose deadline passed (it is then forgotten).
   */
  constructor(options: { timeoutMs: number; maxBytes: number; onTimeout: (stream: H3Stream) => void }) {
    this.#timeoutMs = options.timeoutMs;
    this.#maxBytes = options.maxBytes;
    this.#onTimeout = options.onTimeout;
  }

  /** Sections started and not yet finished. */
  get count(): number {
    return this.#pending.size;
  }

  /** Bytes those sections have buffered. */
  get bytes(): number {
    return this.#bytes;
  }

  /** A request stream's first byte arrived: its header section's clock starts. */
  start(stream: H3Stream): void {
    this.#pending.set(stream, { deadline: performance.now() + this.#timeoutMs, bytes: 0 });
    if (this.#timeoutMs > 0 && this.#timer === undefined) this.#arm(this.#timeoutMs);
  }

  /** Counts bytes read for an unfinished section; false when the connection's cap is exceeded. */
  add(stream: H3Stream, bytes: number): boolean {
    const entry = this.#pending.get(stream);
    if (entry === undefined) return true;
    entry.bytes += bytes;
    this.#bytes += bytes;
    return this.#maxBytes === 0 || this.#bytes <= this.#maxBytes;
  }

  /** The section completed, or its stream failed: its bytes are released. */
  finish(stream: H3Stream): void {
    const entry = this.#pending.get(stream);
    if (entry === undefined) return;
    this.#pending.delete(stream);
    this.#bytes -= entry.bytes;
    // The timer stays armed: re-arming it per request would cost a timer per request, and when it
    // fires with nothing pending it simply is not armed again.
  }

  /** Stops the timer (the connection closed); pending streams fail on their own. */
  close(): void {
    this.#disarm();
  }

  #arm(delayMs: number): void {
    this.#timer = setTimeout(() => this.#expire(), Math.max(1, Math.ceil(delayMs)));
    this.#timer.unref();
  }

  #disarm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #expire(): void {
    this.#timer = undefined;
    const now = performance.now();
    for (const [stream, entry] of this.#pending) {
      if (entry.deadline > now) {
        this.#arm(entry.deadline - now);
        return;
      }
      this.finish(stream);
      this.#onTimeout(stream);
    }
  }
}
