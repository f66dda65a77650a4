import { QfaasConfigError } from '../errors.js';
import { MemoryIdempotencyStore, type IdempotencyStore, type StoredResponse } from './idempotency-store.js';

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
   * `idempotent-replayed: true`), or 409 while the first is running. When the store cannot answer,
   * the request gets 503 without running: at most once is kept, availability is not.
   */
  async run(key: string, execute: () => Promise<Response>): Promise<{ response: Response; repeated: boolean }> {
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
      const headers = new Headers(stored.headers);
      headers.set('idempotent-replayed', 'true');
      return { response: new Response(stored.body === undefined ? null : stored.body, { status: stored.status, headers }), repeated: true };
    }
    let response: Response;
    try {
      response = await execute();
    } catch (error) {
      // It did not complete: a retry may run it.
      await Promise.resolve(this.#store.release(key)).catch(() => undefined);
      throw error;
    }
    const { stored, forward } = await this.#capture(response);
    // A store that fails here leaves the key claimed ('running'): repeats get 409, never a second run.
    await Promise.resolve(this.#store.complete(key, stored, this.#windowMs)).catch(() => undefined);
    return { response: forward, repeated: false };
  }

  /** Buffers a response up to maxBodyBytes so it can be answered again. */
  async #capture(response: Response): Promise<{ stored: StoredResponse | undefined; forward: Response }> {
    const headers = [...response.headers] as Array<[string, string]>;
    if (response.body === null) return { stored: { status: response.status, headers, body: undefined }, forward: response };
    const reader = response.body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
      if (size > this.#maxBodyBytes) {
        // Too large to keep: forward what was read and the rest, unstored.
        const rest = new ReadableStream<Uint8Array>({
          start(controller) {
            for (const chunk of chunks) controller.enqueue(chunk);
          },
          async pull(controller) {
            const next = await reader.read();
            if (next.done) controller.close();
            else controller.enqueue(next.value);
          },
          cancel: (reason) => reader.cancel(reason),
        });
        return { stored: undefined, forward: new Response(rest, { status: response.status, headers }) };
      }
    }
    const body = Buffer.concat(chunks, size);
    return { stored: { status: response.status, headers, body }, forward: new Response(body, { status: response.status, headers }) };
  }
}

function unavailable(): Response {
  return new Response('idempotency store unavailable\n', { status: 503, headers: { 'retry-after': '1' } });
}

function conflict(message: string): Response {
  return new Response(`${message}\n`, { status: 409 });
}
