import { QfaasConfigError } from '../errors.js';
import { appendOutgoingHeaders, appendWebHeaders } from '../transport/h3/header-fields.js';
import type { Field } from '../transport/h3/qpack/field-section.js';
import type { OutgoingResponse } from '../transport/h3/server-request.js';
import { MemoryIdempotencyStore, type IdempotencyStore, type StoredResponse } from './idempotency-store.js';

/** How the replay guard keeps `Idempotency-Key` responses: the store, window and largest body. */
export interface IdempotencyOptions {
  /** How long a key is remembered. @default 10 minutes */
  windowMs?: number;
  /** Keys remembered at most by the default in-memory store; the oldest go first. @default 10_000 */
  maxEntries?: number;
  /** Largest response body stored for repeats; a larger one is answered 409 on repeat. @default 1 MiB */
  maxBodyBytes?: number;
  /**
   * Where keys live. The in-memory default forgets them when the process ends; give a
   * `RedisIdempotencyStore` so that a restarted worker, or another replica, still answers a repeat
   * from the stored response. @default a MemoryIdempotencyStore
   */
  store?: IdempotencyStore;
}

/**
 * `Idempotency-Key` on an unsafe request: executed at most once per key within the window; a
 * repeat gets the stored response, or 409 while the first is still running.
 */
export class IdempotencyCache {
  readonly #store: IdempotencyStore;
  readonly #windowMs: number;
  readonly #maxBodyBytes: number;

  constructor(options: IdempotencyOptions = {}, now: () => number = Date.now) {
    this.#windowMs = options.windowMs ?? 10 * 60_000;
    this.#maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
    if (!(this.#windowMs > 0)) throw new QfaasConfigError('idempotency.windowMs', 'must be positive');
    if (!(this.#maxBodyBytes >= 0)) throw new QfaasConfigError('idempotency.maxBodyBytes', 'must be zero or more');
    this.#store = options.store ?? new MemoryIdempotencyStore({ ...(options.maxEntries === undefined ? {} : { maxEntries: options.maxEntries }), now });
  }

  /**
   * Runs `execute` once per key: a repeat within the window gets the stored response (with
   * `idempotent-replayed: true`), or 409 while the first is still running. When the store cannot answer,
   * the request gets 503 without running: at most once is kept, availability is not.
   */
  async run(key: string, execute: () => Promise<OutgoingResponse>): Promise<{ response: OutgoingResponse; repeated: boolean }> {
    let existing;
    try {
      existing = await this.#store.claim(key, this.#windowMs);
    } catch {
      return { response: unavailable(), repeated: true };
    }
    if (existing !== undefined) {
      if (existing.state === 'running') return { response: conflict('the first request with this Idempotency-Key is still running'), repeated: true };
      if (existing.response === undefined) return { response: conflict('the response to this Idempotency-Key was too large to store'), repeated: true };
      const stored = existing.response;
      return {
        response: { statusCode: stored.status, headers: [...stored.headers.flat(), 'idempotent-replayed', 'true'], body: stored.body ?? null },
        repeated: true,
      };
    }
    let response: OutgoingResponse;
    try {
      response = await execute();
    } catch (error) {
      await Promise.resolve(this.#store.release(key)).catch(() => undefined);
      throw error;
    }
    let captured;
    try {
      captured = await this.#capture(response);
    } catch (error) {
      // A response that cannot be kept (a bad header, a failing body) is not a result: the key is
      // freed so a retry runs again rather than meeting 409 until the window ends.
      await Promise.resolve(this.#store.release(key)).catch(() => undefined);
      throw error;
    }
    const { stored, forward } = captured;
    await Promise.resolve(this.#store.complete(key, stored, this.#windowMs)).catch(() => undefined);
    return { response: forward, repeated: false };
  }

  /** Buffers a response up to maxBodyBytes so it can be answered again. */
  async #capture(response: OutgoingResponse): Promise<{ stored: StoredResponse | undefined; forward: OutgoingResponse }> {
    const fields: Field[] = [];
    if (response.headers instanceof Headers) appendWebHeaders(fields, response.headers);
    else appendOutgoingHeaders(fields, response.headers);
    const headers = fields as Array<[string, string]>;
    const forwardHeaders = fields.flat();
    const body = response.body;
    if (body === null || body === undefined) {
      return { stored: { status: response.statusCode, headers, body: undefined }, forward: { statusCode: response.statusCode, headers: forwardHeaders } };
    }
    if (typeof body === 'string' || body instanceof Uint8Array) {
      const bytes = typeof body === 'string' ? Buffer.from(body) : body;
      const stored = bytes.length > this.#maxBodyBytes ? undefined : { status: response.statusCode, headers, body: bytes };
      return { stored, forward: { statusCode: response.statusCode, headers: forwardHeaders, body: bytes } };
    }
    const iterator = body[Symbol.asyncIterator]();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const next = await iterator.next();
      if (next.done === true) break;
      const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
      chunks.push(chunk);
      size += chunk.length;
      if (size > this.#maxBodyBytes) {
        // Too large to keep: what was read goes first, the rest streams on.
        const rest: AsyncIterable<Uint8Array | string> = {
          [Symbol.asyncIterator]: () => {
            let index = 0;
            return {
              next: async () => (index < chunks.length ? { done: false, value: chunks[index++] as Uint8Array } : iterator.next()),
              return: async () => (await iterator.return?.()) ?? { done: true, value: undefined },
            };
          },
        };
        return { stored: undefined, forward: { statusCode: response.statusCode, headers: forwardHeaders, body: rest } };
      }
    }
    const bytes = Buffer.concat(chunks, size);
    return { stored: { status: response.statusCode, headers, body: bytes }, forward: { statusCode: response.statusCode, headers: forwardHeaders, body: bytes } };
  }
}

function unavailable(): OutgoingResponse {
  return { statusCode: 503, headers: { 'retry-after': '1' }, body: 'idempotency store unavailable\n' };
}

function conflict(message: string): OutgoingResponse {
  return { statusCode: 409, body: `${message}\n` };
}
