import { streamError } from './protocol-errors.js';
import { appendWebHeaders, webHeaders, type IncomingHeaders } from './header-fields.js';
import type { Http3RequestOptions, Http3ResponseData } from './client-request.js';
import type { Field } from './qpack/field-section.js';
import type { Http3IncomingRequest, Http3RequestHandler, Http3RequestInfo, OutgoingResponse } from './server-request.js';
import type { HandshakeInfo } from '../quic/connection.js';
import type { PeerIdentity } from './connection-facts.js';
import { setResponseInfo, type TransportInfo } from './response-info.js';

/** What a web-form handler learns besides the web `Request`. */
export interface Http3WebRequestInfo extends Http3RequestInfo {
  /**
   * The `:path` exactly as received. `request.url` is what a URL parser made of it (backslashes
   * turned into '/', dot segments resolved): a proxy must check this text, not that.
   */
  readonly path: string;
  /** Trailers, once the body has been read to its end (undefined when there were none). */
  readonly trailers: Promise<Headers | undefined>;
}

/** The web form of a server handler: a `Request` in, a `Response` out (built only for this form). */
export type Http3Handler = (request: Request, info: Http3WebRequestInfo) => Response | Promise<Response>;

/** The lean request options for a web `Request` (body streamed as it is). */
export function requestOptionsFromWeb(request: Request, signal: AbortSignal | undefined): Http3RequestOptions {
  const url = new URL(request.url);
  const headers: Field[] = [];
  appendWebHeaders(headers, request.headers);
  return {
    method: request.method,
    scheme: url.protocol.slice(0, -1),
    authority: url.host,
    path: `${url.pathname}${url.search}`,
    headers: headers.flat(),
    body: request.body,
    ...(signal === undefined ? {} : { signal }),
  };
}

/**
 * A web `Response` over a lean response; its body streams from the lean one. Its facts (and the
 * invoker's `transport`, when given) go to `getResponseInfo`.
 */
export function webResponse(data: Http3ResponseData, method: string, transport?: TransportInfo): Response {
  const noBody = method === 'HEAD' || data.statusCode === 204 || data.statusCode === 205 || data.statusCode === 304;
  let response: Response;
  try {
    response = new Response(noBody ? null : data.body.toWebStream(), { status: data.statusCode, headers: webHeaders(data.headerList) });
  } catch {
    data.body.cancel();
    throw streamError('H3_MESSAGE_ERROR', `status ${data.statusCode} cannot be represented`);
  }
  let trailers: Promise<Headers | undefined> | undefined;
  setResponseInfo(response, {
    streamId: data.streamId,
    earlyData: data.earlyData,
    // Made when asked: most callers never read trailers.
    get trailers() {
      trailers ??= bodyEnd(data.body, data.trailers);
      return trailers;
    },
    ...(transport === undefined ? {} : { transport }),
  });
  return response;
}

/** Resolves with the trailers once the body ended (undefined without any, or when it failed). */
async function bodyEnd(body: Http3ResponseData['body'], trailers: IncomingHeaders): Promise<Headers | undefined> {
  await body.ended;
  const fields = body.trailerFields;
  if (fields === undefined) return Object.keys(trailers).length === 0 ? undefined : new Headers(trailers);
  return webHeaders(fields);
}

/** A web `Request` over a received lean request; its body streams from the lean one. */
export function webRequestFrom(request: Http3IncomingRequest): Request {
  const url = `${request.scheme}://${request.authority}${request.path === '*' ? '/' : request.path}`;
  const bodyless = request.method === 'GET' || request.method === 'HEAD';
  try {
    return new Request(url, {
      method: request.method,
      headers: request.headerList as Array<[string, string]>,
      ...(bodyless ? {} : { body: request.body.toWebStream(), duplex: 'half' }),
    } as RequestInit);
  } catch {
    throw streamError('H3_MESSAGE_ERROR', 'the request cannot be represented as a web Request');
  }
}

/** The lean answer for a web `Response` (its body streams as it is). */
export function webResponseToOutgoing(response: Response): OutgoingResponse {
  return { statusCode: response.status, headers: response.headers, body: response.body };
}

/** Serves a web-form handler: builds its `Request`, turns its `Response` into a lean answer. */
export function webRequestHandler(handler: Http3Handler): Http3RequestHandler {
  return async (request: Http3IncomingRequest, info: Http3RequestInfo): Promise<OutgoingResponse> => {
    const response = await handler(webRequestFrom(request), new WebRequestInfo(info, request));
    if (!(response instanceof Response)) throw new TypeError('the handler did not return a Response');
    return webResponseToOutgoing(response);
  };
}

/** The lean request's info, plus what only the web form has. */
class WebRequestInfo implements Http3WebRequestInfo {
  readonly #info: Http3RequestInfo;
  readonly #request: Http3IncomingRequest;
  #trailers: Promise<Headers | undefined> | undefined;

  constructor(info: Http3RequestInfo, request: Http3IncomingRequest) {
    this.#info = info;
    this.#request = request;
  }

  get streamId(): number {
    return this.#info.streamId;
  }

  get earlyData(): boolean {
    return this.#info.earlyData;
  }

  get handshake(): Promise<HandshakeInfo> {
    return this.#info.handshake;
  }

  get handshakeInfo(): HandshakeInfo | undefined {
    return this.#info.handshakeInfo;
  }

  peerCertificateChain(): Uint8Array[] | undefined {
    return this.#info.peerCertificateChain();
  }

  peerIdentity(): PeerIdentity {
    return this.#info.peerIdentity();
  }

  get signal(): AbortSignal {
    return this.#info.signal;
  }

  get aborted(): boolean {
    return this.#info.aborted;
  }

  get path(): string {
    return this.#request.path;
  }

  get trailers(): Promise<Headers | undefined> {
    this.#trailers ??= bodyEnd(this.#request.body, this.#request.trailers);
    return this.#trailers;
  }
}

/** Sends a web `Request` as a lean exchange and adapts its response. */
export async function fetchWeb(
  send: (options: Http3RequestOptions) => Promise<Http3ResponseData>,
  request: Request,
  signal: AbortSignal | undefined,
): Promise<Response> {
  return webResponse(await send(requestOptionsFromWeb(request, signal)), request.method);
}
