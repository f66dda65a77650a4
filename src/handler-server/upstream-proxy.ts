import http from 'node:http';
import { Readable } from 'node:stream';
import { urlToHttpOptions } from 'node:url';
import { QfaasConfigError } from '../errors.js';
import type { OutgoingResponse } from '../transport/h3/server-request.js';
import { upstreamUrlFor } from './request-target.js';
import { handlerServerDefaults } from './defaults.js';

/** Hop-by-hop and HTTP/3-forbidden fields, never forwarded either way (RFC 9110 section 7.6.1). */
const hopByHop: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'proxy-authenticate',
  'proxy-authorization',
  'host',
]);

/** What the proxy forwards: method, the `:path` as received, headers, and the body (null for none). */
export interface ForwardedRequest {
  method: string;
  path: string;
  headers: Readonly<Record<string, string>>;
  body: AsyncIterable<Uint8Array> | null;
}

/** The function's own HTTP/1.1 server reached over keep-alive connections (of-watchdog `mode=http`). */
export class UpstreamProxy {
  readonly #base: URL;
  readonly #agent: http.Agent;

  constructor(upstream: string, options: { maxSockets?: number } = {}) {
    this.#base = parsedUpstream(upstream);
    if (this.#base.protocol !== 'http:') throw new QfaasConfigError('upstream', 'must be an http:// URL (the function’s own HTTP server)');
    // Only the origin counts: a request's path replaces the upstream's, it never extends or moves it.
    this.#base = new URL(this.#base.origin);
    this.#agent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? handlerServerDefaults.upstreamMaxSockets });
  }

  /**
   * Forwards a request and streams both bodies. Adds `Early-Data: 1` when the request arrived in
   * early data (RFC 8470 section 5.1). Resolves with the upstream's response (its body a Node
   * stream, read as an async iterable); rejects when the upstream cannot be reached or the signal
   * aborts.
   *
   * `request.path` is the `:path` as received (before any URL parser normalised it). It must pass
   * `checkRequestTarget()`, or this throws `RequestTargetError` (answer 400) before any connection
   * is made: the upstream's origin is fixed, the request only ever chooses a path on it.
   */
  forward(request: ForwardedRequest, options: { earlyData: boolean; signal?: AbortSignal; extraHeaders?: Record<string, string> }): Promise<OutgoingResponse> {
    const incoming = request.path;
    // Checks the target and asserts the origin; the request line then carries the checked text
    // itself, not a URL parser's re-serialisation of it.
    const target = { ...urlToHttpOptions(upstreamUrlFor(this.#base, incoming)), path: incoming };
    const headers: Record<string, string> = {};
    for (const name in request.headers) if (!hopByHop.has(name)) headers[name] = request.headers[name] as string;
    if (options.earlyData) headers['early-data'] = '1';
    if (options.extraHeaders !== undefined) Object.assign(headers, options.extraHeaders);
    return new Promise<OutgoingResponse>((resolve, reject) => {
      const upstream = http.request({ ...target, method: request.method, headers, agent: this.#agent, ...(options.signal === undefined ? {} : { signal: options.signal }) });
      upstream.once('error', reject);
      upstream.once('response', (incomingResponse) => {
        const responseHeaders: string[] = [];
        const raw = incomingResponse.rawHeaders;
        for (let i = 0; i < raw.length; i += 2) {
          const name = (raw[i] as string).toLowerCase();
          if (hopByHop.has(name) || name === 'content-length') continue;
          responseHeaders.push(name, raw[i + 1] as string);
        }
        const status = incomingResponse.statusCode ?? 502;
        const noBody = request.method === 'HEAD' || status === 204 || status === 304;
        if (noBody) incomingResponse.resume();
        resolve({ statusCode: status, headers: responseHeaders, body: noBody ? null : incomingResponse });
      });
      if (request.body === null) upstream.end();
      else Readable.from(request.body, { objectMode: false }).once('error', (error) => upstream.destroy(error)).pipe(upstream);
    });
  }

  /** True when the upstream answers an HTTP request at `path` with any status. */
  async ping(path: string, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const request = http.get(upstreamUrlFor(this.#base, path), { agent: this.#agent, timeout: timeoutMs }, (response) => {
        response.resume();
        resolve(true);
      });
      request.once('timeout', () => request.destroy());
      request.once('error', () => resolve(false));
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}

function parsedUpstream(upstream: string): URL {
  try {
    return new URL(upstream);
  } catch {
    throw new QfaasConfigError('upstream', 'must be an absolute http:// URL');
  }
}
