import { QfaasConfigError } from '../errors.js';
import { port as checkPort } from '../option-checks.js';
import { appendWebHeaders } from '../transport/h3/header-fields.js';
import type { BodyInput } from '../transport/h3/message-writer.js';
import type { Field } from '../transport/h3/qpack/field-section.js';
import type { InvokerRequestOptions } from './invoker-client.js';

/** `fetch()`'s `init`, and where the worker is when its name is not its address. */
export interface InvokerFetchInit extends RequestInit {
  /**
   * The worker's address, when the URL's host is the name its certificate carries rather than a
   * name that resolves to it (the usual case inside a platform: certificates name functions,
   * workers have addresses).
   * @default the URL's host and port (443 without one)
   */
  connectTo?: { host: string; port: number };
}

/**
 * `fetch()`'s arguments as lean options. The URL gives the server name (its host) and the path;
 * a `Request` gives its method, headers, body and signal unless `init` overrides them. Headers
 * and bodies the lean form takes as they are go straight through; other body types (Blob,
 * FormData, URLSearchParams) are read once through a web `Request`, which also supplies their
 * content-type, so a retry can send them again.
 */
export async function leanOptionsFromFetch(input: string | URL | Request, init: InvokerFetchInit): Promise<InvokerRequestOptions> {
  const source = input instanceof Request ? input : undefined;
  const url = parseUrl(source === undefined ? (input as string | URL) : source.url);
  if (url.protocol !== 'https:') throw new QfaasConfigError('input', `the URL must be https: (every hop is TLS 1.3), not ${url.protocol}`);
  if (init.connectTo !== undefined) checkPort(init.connectTo.port, 'connectTo.port', 'connect');
  // An IPv6 literal comes bracketed in a URL; the certificate and the socket want it bare.
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const method = normalizeMethod(init.method ?? source?.method ?? 'GET');
  const signal = init.signal ?? source?.signal ?? undefined;
  const headersInit = init.headers ?? source?.headers;
  const body = init.body !== undefined ? init.body : (source?.body ?? undefined);
  const headers: Field[] = [];
  let leanBody: BodyInput;
  if (body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array || body instanceof ArrayBuffer || body instanceof ReadableStream) {
    if (headersInit !== undefined || typeof body === 'string') {
      const webHeaders = new Headers(headersInit);
      if (typeof body === 'string' && !webHeaders.has('content-type')) webHeaders.set('content-type', 'text/plain;charset=UTF-8');
      appendWebHeaders(headers, webHeaders);
    }
    leanBody = body instanceof ArrayBuffer ? new Uint8Array(body) : (body as BodyInput);
  } else {
    const request = new Request(url, { method, headers: headersInit, body } as RequestInit);
    appendWebHeaders(headers, request.headers);
    leanBody = new Uint8Array(await request.arrayBuffer());
  }
  return {
    serverName: hostname,
    host: init.connectTo?.host ?? hostname,
    port: init.connectTo?.port ?? (url.port === '' ? 443 : Number(url.port)),
    path: `${url.pathname}${url.search}`,
    method,
    ...(headers.length === 0 ? {} : { headers: headers.flat() }),
    ...(leanBody === undefined || leanBody === null ? {} : { body: leanBody }),
    ...(signal === undefined ? {} : { signal }),
  };
}

/** WHATWG URL parsing, refused as a QfaasConfigError (an out-of-range port, for one). */
function parseUrl(input: string | URL): URL {
  try {
    return new URL(input);
  } catch {
    // Never quote the URL: its query or userinfo may carry a credential.
    throw new QfaasConfigError('input', 'is not a valid URL; check its host and its port (1 to 65535)');
  }
}

/** fetch() upper-cases the standard methods only (Fetch standard, "normalize a method"). */
function normalizeMethod(method: string): string {
  const upper = method.toUpperCase();
  return ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT'].includes(upper) ? upper : method;
}
