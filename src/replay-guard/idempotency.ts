/**
 * `Idempotency-Key` on an unsafe request: executed at most once per key within the window; a
 * repeat gets the stored response, or 409 while the first is still running.
 */
export interface IdempotencyOptions {
  /** How long a key is remembered. @default 10 minutes */
  windowMs?: number;
  /** Keys remembered at most; the oldest go first. @default 10_000 */
  maxEntries?: number;
  /** Largest response body stored for repeats; a larger one is answered 409 on repeat. @default 1 MiB */
  maxBodyBytes?: number;
}

interface StoredResponse {
  status: number;
  headers: Array<[string, string]>;
  body: Uint8Array | undefined;
}

type Entry = { state: 'running'; until: number } | { state: 'done'; until: number; response: StoredResponse | undefined };

export class IdempotencyCache {
  readonly #entries = new Map<string, Entry>();
  readonly #windowMs: number;
  readonly #maxEntries: number;
  readonly #maxBodyBytes: number;
  readonly #now: () => number;

  constructor(options: IdempotencyOptions = {}, now: () => number = Date.now) {
    this.#windowMs = options.windowMs ?? 10 * 60_000;
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
    this.#now = now;
  }

  /**
   * Runs `execute` once per key: a repeat within the window gets the stored response (with
   * `idempotent-replayed: true`), or 409 while the first is running.
   */
  async run(key: string, execute: () => Promise<Response>): Promise<{ response: Response; repeated: boolean }> {
    const now = this.#now();
    const existing = this.#entries.get(key);
    if (existing !== undefined && existing.until > now) {
      if (existing.state === 'running') return { response: conflict('the first request with this Idempotency-Key is still running'), repeated: true };
      if (existing.response === undefined) return { response: conflict('the response to this Idempotency-Key was too large to store'), repeated: true };
      const stored = existing.response;
      const headers = new Headers(stored.headers);
      headers.set('idempotent-replayed', 'true');
      return { response: new Response(stored.body === undefined ? null : stored.body, { status: stored.status, headers }), repeated: true };
    }
    this.#entries.delete(key);
    while (this.#entries.size >= this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value as string);
    this.#entries.set(key, { state: 'running', until: now + this.#windowMs });
    let response: Response;
    try {
      response = await execute();
    } catch (error) {
      this.#entries.delete(key); // it did not complete: a retry may run it
      throw error;
    }
    const { stored, forward } = await this.#capture(response);
    this.#entries.set(key, { state: 'done', until: this.#now() + this.#windowMs, response: stored });
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

function conflict(message: string): Response {
  return new Response(`${message}\n`, { status: 409 });
}
