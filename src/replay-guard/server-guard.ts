import { QfaasConfigError } from '../errors.js';
import { readEarlyRequestMark } from './early-data-headers.js';
import { IdempotencyCache, type IdempotencyOptions } from './idempotency.js';
import { headerValue, isEarlyDataEligible, zeroRttPolicies, type HeadersLike, type ZeroRttPolicy } from './policy.js';
import type { OutgoingResponse } from '../transport/h3/server-request.js';
import { MemoryStrikeRegister, type StrikeRegister } from './strike-register.js';

/** Options of `ReplayGuard`: policy, strike register, time window, Idempotency-Key store. */
export interface ReplayGuardOptions {
  /** Which requests may run while still in early data. @default 'idempotent' */
  policy?: ZeroRttPolicy;
  /**
   * An early request the policy does not allow either waits for the handshake (`'defer'`: a
   * replayed flight never completes one) or gets `425 Too Early` (`'reject'`, RFC 8470), which the
   * invoker retries after the handshake. @default 'defer'
   */
  ineligible?: 'defer' | 'reject';
  /** Where nonces of early requests are remembered. @default a MemoryStrikeRegister */
  strikeRegister?: StrikeRegister;
  /** How far an early request's timestamp may be from this server's clock. @default 10_000 */
  freshnessWindowMs?: number;
  /**
   * Early data stamped before this time (ms since the epoch) is refused with 425: a flight
   * captured before this server started can only be a replay, and a strike register that
   * started empty with the process cannot know its nonce. Honest requests are stamped when sent,
   * after the worker started; an invoker whose clock lags the worker's by d ms sees 425 (and
   * retries after the handshake) for requests sent within d ms of the start.
   * @default the time this guard was created
   */
  notBefore?: number;
  /** `Idempotency-Key` handling for unsafe methods; false turns it off. @default enabled */
  idempotency?: false | IdempotencyOptions;
  /** @default `Date.now` */
  now?: () => number;
}

/** What to do with a request. */
export type GuardVerdict = { action: 'execute' } | { action: 'defer' } | { action: 'respond'; response: OutgoingResponse };

/** What the guard reads of a request: a lean request, or a web `Request` (its `method` and `headers`). */
export interface GuardedRequest {
  method: string;
  headers: HeadersLike;
}

/** What `run` reads of a request: also its path (an Idempotency-Key names one operation on one path). */
export interface IdempotentRequest extends GuardedRequest {
  /** Path and query as received. */
  path: string;
  /** Cancelled when the answer comes from the store (the body is not needed). */
  body?: { cancel(reason?: unknown): unknown } | null;
}

/** Counters of the replay guard's decisions. */
export interface ReplayGuardMetrics {
  /** Early requests run in early data after their nonce was checked. */
  earlyAccepted: number;
  /** Early requests made to wait for the handshake (not eligible, unmarked, or register down). */
  earlyDeferred: number;
  /** Early requests answered 425 (not eligible with 'reject', stale, or replayed). */
  earlyRejected: number;
  /** Nonces seen twice, and stale timestamps: replays stopped before execution. */
  replaysDetected: number;
  /** Repeats answered from the Idempotency-Key cache, or 409. */
  idempotentRepeats: number;
}

const safeForIdempotency: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);
const unsafeForIdempotency = (method: string) => !safeForIdempotency.has(method.toUpperCase());

/**
 * The worker's defence against replayed 0-RTT flights (RFC 8446 section 8, RFC 8470, RFC 9114
 * section 10.9). quiche accepts the same captured flight twice; this decides, per request that
 * arrived in early data, whether it may run now, must wait for the handshake, or gets 425.
 */
export class ReplayGuard {
  readonly #policy: ZeroRttPolicy;
  readonly #ineligible: 'defer' | 'reject';
  readonly #register: StrikeRegister;
  readonly #windowMs: number;
  readonly #notBefore: number;
  readonly #idempotency: IdempotencyCache | undefined;
  readonly #now: () => number;
  readonly #metrics: ReplayGuardMetrics = { earlyAccepted: 0, earlyDeferred: 0, earlyRejected: 0, replaysDetected: 0, idempotentRepeats: 0 };

  constructor(options: ReplayGuardOptions = {}) {
    this.#policy = options.policy ?? 'idempotent';
    if (!zeroRttPolicies.includes(this.#policy)) throw new QfaasConfigError('replayGuard.policy', `must be one of ${zeroRttPolicies.join(', ')}`);
    this.#ineligible = options.ineligible ?? 'defer';
    if (this.#ineligible !== 'defer' && this.#ineligible !== 'reject') throw new QfaasConfigError('replayGuard.ineligible', "must be 'defer' or 'reject'");
    this.#now = options.now ?? Date.now;
    this.#register = options.strikeRegister ?? new MemoryStrikeRegister({ now: this.#now });
    this.#windowMs = options.freshnessWindowMs ?? 10_000;
    if (!(this.#windowMs > 0)) throw new QfaasConfigError('replayGuard.freshnessWindowMs', 'must be positive');
    this.#notBefore = options.notBefore ?? this.#now();
    if (!Number.isFinite(this.#notBefore)) throw new QfaasConfigError('replayGuard.notBefore', 'must be a time in ms since the epoch');
    this.#idempotency = options.idempotency === false ? undefined : new IdempotencyCache(options.idempotency ?? {}, this.#now);
  }

  metrics(): ReplayGuardMetrics {
    return { ...this.#metrics };
  }

  /** Decides about a request; only early-data requests are ever held back. */
  async check(request: GuardedRequest, earlyData: boolean): Promise<GuardVerdict> {
    if (!earlyData) return { action: 'execute' };
    if (!isEarlyDataEligible(request.method, request.headers, this.#policy)) {
      if (this.#ineligible === 'reject') return this.#tooEarly('not allowed in early data');
      this.#metrics.earlyDeferred++;
      return { action: 'defer' };
    }
    const mark = readEarlyRequestMark(request.headers);
    if (mark === undefined) {
      // Without a nonce a replay cannot be told apart: run it once the handshake proves the client.
      this.#metrics.earlyDeferred++;
      return { action: 'defer' };
    }
    if (Math.abs(this.#now() - mark.timestamp) > this.#windowMs) {
      this.#metrics.replaysDetected++;
      return this.#tooEarly('stale early-data timestamp');
    }
    if (mark.timestamp < this.#notBefore) {
      this.#metrics.replaysDetected++;
      return this.#tooEarly('early data from before this server started');
    }
    let fresh: boolean;
    try {
      // Kept for two windows: a nonce cannot come back while its timestamp is still fresh.
      fresh = await this.#register.insert(mark.nonce, 2 * this.#windowMs);
    } catch {
      // Fail closed for replay, still served: wait for the handshake.
      this.#metrics.earlyDeferred++;
      return { action: 'defer' };
    }
    if (!fresh) {
      this.#metrics.replaysDetected++;
      return this.#tooEarly('replayed early data');
    }
    this.#metrics.earlyAccepted++;
    return { action: 'execute' };
  }

  /** Runs a request that passed `check`, applying Idempotency-Key to unsafe methods. */
  async run(request: IdempotentRequest, execute: () => Promise<OutgoingResponse>): Promise<OutgoingResponse> {
    if (this.#idempotency === undefined || !unsafeForIdempotency(request.method)) return execute();
    const key = headerValue(request.headers, 'idempotency-key');
    if (key === undefined || key.trim() === '') return execute();
    const queryAt = request.path.indexOf('?');
    const pathname = queryAt === -1 ? request.path : request.path.slice(0, queryAt);
    const { response, repeated } = await this.#idempotency.run(`${request.method} ${pathname} ${key}`, execute);
    if (repeated) {
      this.#metrics.idempotentRepeats++;
      try {
        await request.body?.cancel();
      } catch {
        // the body was already gone
      }
    }
    return response;
  }

  #tooEarly(reason: string): GuardVerdict {
    this.#metrics.earlyRejected++;
    return { action: 'respond', response: { statusCode: 425, body: `${reason}\n` } };
  }
}
