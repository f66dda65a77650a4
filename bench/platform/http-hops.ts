/**
 * The comparison hops of the mini-platform: the same calls over plain HTTP/1.1 (TCP) or HTTPS
 * (TCP + TLS 1.3, mutual, with TLS session resumption), with node:http and node:https. Only the
 * transport differs from the QUIC platform; functions, gateway logic and workers are the same.
 * The server side serves a function or the forwarding gateway; the client side is what the
 * gateway and function code call with.
 */
import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';

/** HTTP/1.1 over TCP, or over TCP + TLS 1.3. */
export type HttpScheme = 'http' | 'https';

export interface TlsMaterial {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** A web Request from a node:http request. */
export function requestFromNode(request: http.IncomingMessage, scheme: string): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (typeof value === 'string' && !['connection', 'transfer-encoding', 'keep-alive'].includes(name)) headers.set(name, value);
  }
  const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
  return new Request(`${scheme}://${request.headers.host ?? 'worker'}${request.url ?? '/'}`, {
    method: request.method ?? 'GET',
    headers,
    ...(hasBody ? { body: Readable.toWeb(request) as unknown as ReadableStream<Uint8Array>, duplex: 'half' } : {}),
  } as RequestInit);
}

/** Writes a web Response to a node:http response. */
export async function writeToNode(response: Response, out: http.ServerResponse): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (name !== 'content-length') headers[name] = value;
  });
  out.writeHead(response.status, headers);
  if (response.body === null) {
    out.end();
    return;
  }
  await new Promise<void>((resolve, reject) => {
    Readable.fromWeb(response.body as unknown as NodeReadableStream<Uint8Array>)
      .once('error', reject)
      .pipe(out)
      .once('finish', resolve);
  });
}

/** Serves `handler` over HTTP/1.1, or HTTPS that requires a client certificate from the CA. */
export function createHttpServer(scheme: HttpScheme, tls: TlsMaterial, handler: (request: Request) => Promise<Response>): http.Server {
  const listener = (request: http.IncomingMessage, response: http.ServerResponse) => {
    void handler(requestFromNode(request, scheme))
      .then((result) => writeToNode(result, response))
      .catch(() => {
        if (!response.headersSent) response.writeHead(502, { 'x-qfaas-error': 'platform' });
        response.end();
      });
  };
  const server =
    scheme === 'http'
      ? http.createServer({ keepAliveTimeout: 60_000 }, listener)
      : https.createServer({ ca: tls.caPem, cert: tls.certPem, key: tls.keyPem, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3', keepAliveTimeout: 60_000 }, listener);
  return server;
}

/**
 * Calls servers over HTTP/1.1 or HTTPS: keep-alive connections normally; after
 * `closeIdleConnections()` the next call opens a new connection (HTTPS resumes the last TLS
 * session of that server, as a TLS client with a session cache does).
 */
export class HttpHopClient {
  readonly #scheme: HttpScheme;
  readonly #tls: TlsMaterial;
  readonly #sessions = new Map<string, Buffer>();
  readonly #watched = new WeakSet<object>();
  readonly #agent: http.Agent;

  constructor(scheme: HttpScheme, tls: TlsMaterial) {
    this.#scheme = scheme;
    this.#tls = tls;
    this.#agent = this.#newAgent();
  }

  /** `InvokerClient.fetch`'s arguments: the URL names the server, `connectTo` says where it listens. */
  fetch(input: string, init: RequestInit & { connectTo: { host: string; port: number } }): Promise<Response> {
    const url = new URL(input);
    const target = { serverName: url.hostname, host: init.connectTo.host, port: init.connectTo.port, path: `${url.pathname}${url.search}` };
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, name) => (headers[name] = value));
    const module = this.#scheme === 'http' ? http : https;
    const session = this.#sessions.get(target.serverName);
    return new Promise<Response>((resolve, reject) => {
      const request = module.request(
        {
          host: target.host,
          port: target.port,
          path: target.path,
          method: init.method ?? 'GET',
          headers,
          agent: this.#agent,
          ...(this.#scheme === 'https'
            ? { servername: target.serverName, ca: this.#tls.caPem, cert: this.#tls.certPem, key: this.#tls.keyPem, ...(session === undefined ? {} : { session }) }
            : {}),
        },
        (incoming) => {
          const out = new Headers();
          for (const [name, value] of Object.entries(incoming.headers)) if (typeof value === 'string' && name !== 'content-length' && name !== 'transfer-encoding' && name !== 'connection' && name !== 'keep-alive') out.set(name, value);
          const status = incoming.statusCode ?? 502;
          const noBody = status === 204 || status === 304 || init.method === 'HEAD';
          if (noBody) incoming.resume();
          resolve(new Response(noBody ? null : (Readable.toWeb(incoming) as unknown as ReadableStream<Uint8Array>), { status, headers: out }));
        },
      );
      request.once('socket', (socket) => {
        // One listener per socket: keep-alive sockets serve many requests.
        if (this.#scheme !== 'https' || this.#watched.has(socket)) return;
        this.#watched.add(socket);
        (socket as TLSSocket).on('session', (ticket: Buffer) => this.#sessions.set(target.serverName, ticket));
      });
      request.once('error', reject);
      const body = init.body;
      if (body === undefined || body === null) request.end();
      else if (body instanceof ReadableStream) Readable.fromWeb(body as unknown as NodeReadableStream<Uint8Array>).pipe(request);
      else if (typeof body === 'string' || body instanceof Uint8Array) request.end(body);
      else void new Response(body).arrayBuffer().then((bytes) => request.end(Buffer.from(bytes)), reject);
    });
  }

  /** Drops pooled connections no request is using: the next call opens a new one. */
  closeIdleConnections(): void {
    for (const sockets of Object.values(this.#agent.freeSockets)) for (const socket of sockets ?? []) socket.destroy();
  }

  async close(): Promise<void> {
    this.#agent.destroy();
  }

  #newAgent(): http.Agent {
    return this.#scheme === 'http' ? new http.Agent({ keepAlive: true }) : new https.Agent({ keepAlive: true, maxCachedSessions: 0 });
  }
}
