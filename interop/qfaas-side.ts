/**
 * The qfaas side of the cases, built only from the library's public API: a file server (HTTP/3
 * server from `createHttp3Server`, or the worker's `createHandlerServer` where its replay guard or
 * mutual TLS is the point) that records what it saw, and a downloading client on
 * `createQuicClient` + `connectHttp3`.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  connectHttp3,
  createQuicClient,
  createQuicConfig,
  createQuicServer,
  serveHttp3,
  type CertificateAndKey,
  type HandshakeInfo,
  type Http3Connection,
  type Http3IncomingRequest,
  type Http3RequestInfo,
  type OutgoingResponse,
  type QuicConnection,
  type QuicConnectionError,
  type QuicEndpointStats,
  type QuicRetryOptions,
  type QuicTransportSettings,
} from '../src/transport/index.js';
import { createHandlerServer, type HandlerServerMetrics, type RequestInfo } from '../src/handler-server/index.js';
import type { WorkerCredentials } from '../src/zero-rtt/index.js';

export const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/** One request as the qfaas server's handler saw it. */
export interface SeenRequest {
  method: string;
  path: string;
  authority: string;
  scheme: string;
  headers: Record<string, string>;
  /** Index of its connection in `connections`. */
  connection: number;
  /** What the handler was told: the request runs in early data (after the replay guard, for a handler server). */
  earlyData: boolean;
  /** The client certificate's CN (handler server), if any. */
  invoker: string | undefined;
  /** The connection resumed a session (as far as known when the request arrived). */
  resumed: boolean | undefined;
}

/** One connection the qfaas server accepted. */
export interface SeenConnection {
  quic: QuicConnection;
  handshake: HandshakeInfo | undefined;
  closeError: QuicConnectionError | undefined;
}

export interface QfaasFileServer {
  port: number;
  serverName: string;
  requests: SeenRequest[];
  connections: SeenConnection[];
  /** Most requests the handler was running at once. */
  peakConcurrency: number;
  endpointStats(): QuicEndpointStats;
  /** Handler server only. */
  handlerMetrics(): HandlerServerMetrics | undefined;
  close(): Promise<void>;
}

export interface QfaasFileServerOptions {
  wwwDir: string;
  /** 'http3': createHttp3Server with `certificate`; 'handler': createHandlerServer with `credentials`. */
  kind: 'http3' | 'handler';
  caPem: string;
  serverName: string;
  certificate?: CertificateAndKey;
  credentials?: WorkerCredentials;
  clientAuth: 'required' | 'none';
  retry?: QuicRetryOptions | false;
  transport?: QuicTransportSettings;
  handshakeTimeoutMs?: number;
  /** @default 0 (a free port) */
  port?: number;
}

/** Serves GET /<name> from `wwwDir` (files read once, then from memory). */
export async function startQfaasFileServer(options: QfaasFileServerOptions): Promise<QfaasFileServer> {
  const cache = new Map<string, Promise<Uint8Array | undefined>>();
  const requests: SeenRequest[] = [];
  const connections: SeenConnection[] = [];
  const byQuic = new Map<QuicConnection, number>();
  let running = 0;
  let peakConcurrency = 0;
  const fileFor = (path: string) => {
    const name = path.slice(1);
    if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(name)) return Promise.resolve(undefined);
    let file = cache.get(name);
    if (file === undefined) {
      file = readFile(join(options.wwwDir, name)).then(
        (data) => new Uint8Array(data),
        () => undefined,
      );
      cache.set(name, file);
    }
    return file;
  };
  const track = (quic: QuicConnection) => {
    const seen: SeenConnection = { quic, handshake: undefined, closeError: undefined };
    byQuic.set(quic, connections.length);
    connections.push(seen);
    void quic.handshake.then(
      (info) => (seen.handshake = info),
      () => undefined,
    );
    void quic.closed.then((error) => (seen.closeError = error));
  };
  const serve = async (request: Http3IncomingRequest, info: Http3RequestInfo | RequestInfo, quic: QuicConnection | undefined): Promise<OutgoingResponse> => {
    running++;
    peakConcurrency = Math.max(peakConcurrency, running);
    try {
      requests.push({
        method: request.method,
        path: request.path,
        authority: request.authority,
        scheme: request.scheme,
        headers: { ...request.headers } as Record<string, string>,
        connection: quic === undefined ? -1 : (byQuic.get(quic) ?? -1),
        earlyData: info.earlyData,
        invoker: 'invoker' in info ? info.invoker : undefined,
        resumed: 'resumed' in info ? info.resumed : info.handshakeInfo?.resumed,
      });
      const body = request.method === 'GET' ? await fileFor(request.path) : undefined;
      if (body === undefined) return { statusCode: 404, headers: { 'content-type': 'text/plain' }, body: 'not found\n' };
      return { statusCode: 200, headers: { 'content-type': 'application/octet-stream', 'content-length': String(body.length), 'x-served-by': 'qfaas' }, body };
    } finally {
      running--;
    }
  };

  if (options.kind === 'http3') {
    if (options.certificate === undefined) throw new Error('an http3 file server needs a certificate');
    // createQuicServer + serveHttp3 rather than createHttp3Server: each connection gets its own
    // handler, so every request is tied to the connection it came on.
    const endpoint = await createQuicServer({
      host: '127.0.0.1',
      port: options.port ?? 0,
      config: createQuicConfig({
        role: 'server',
        caPem: options.caPem,
        certificate: options.certificate,
        clientAuth: options.clientAuth,
        ...(options.transport === undefined ? {} : { transport: options.transport }),
      }),
      ...(options.retry === undefined ? {} : { retry: options.retry }),
      ...(options.handshakeTimeoutMs === undefined ? {} : { handshakeTimeoutMs: options.handshakeTimeoutMs }),
      onConnection: (quic) => {
        track(quic);
        const h3 = serveHttp3(quic, { onRequest: (request, info) => serve(request, info, quic) });
        h3Connections.add(h3);
        void h3.closed.then(() => h3Connections.delete(h3));
      },
    });
    const h3Connections = new Set<Http3Connection>();
    return {
      port: endpoint.address.port,
      serverName: options.serverName,
      requests,
      connections,
      get peakConcurrency() {
        return peakConcurrency;
      },
      endpointStats: () => endpoint.stats(),
      handlerMetrics: () => undefined,
      async close() {
        for (const h3 of h3Connections) h3.close();
        await endpoint.close();
      },
    };
  }

  if (options.credentials === undefined) throw new Error('a handler file server needs worker credentials');
  const handler = await createHandlerServer({
    credentials: options.credentials,
    host: '127.0.0.1',
    port: options.port ?? 0,
    clientAuth: options.clientAuth,
    ...(options.retry === undefined ? {} : { retry: options.retry }),
    ...(options.handshakeTimeoutMs === undefined ? {} : { handshakeTimeoutMs: options.handshakeTimeoutMs }),
    ...(options.transport === undefined ? {} : { transport: options.transport }),
    onRequest: (request, info) => serve(request, info, undefined),
  });
  return {
    port: handler.address.port,
    serverName: options.credentials.serverName,
    requests,
    connections,
    get peakConcurrency() {
      return peakConcurrency;
    },
    endpointStats: () => handler.metrics().quic,
    handlerMetrics: () => handler.metrics(),
    close: () => handler.close({ timeoutMs: 500 }),
  };
}

/** What a qfaas client download got. */
export interface QfaasDownload {
  /** SHA-256 of each path's body (undefined for a path that failed or was not 200). */
  hashes: Map<string, string>;
  statuses: Map<string, number>;
  headers: Map<string, Record<string, string>>;
  /** Per request: it went in 0-RTT and the server accepted it. */
  earlyData: Map<string, boolean>;
  handshake: HandshakeInfo;
  /** The latest session ticket the server sent (for resumption). */
  session: Uint8Array | undefined;
  /** Whether the first flight carried 0-RTT. */
  earlyDataAttempted: boolean;
}

export interface QfaasDownloadOptions {
  port: number;
  serverName: string;
  caPem: string;
  paths: readonly string[];
  certificate?: CertificateAndKey;
  session?: Uint8Array;
  /** Send the requests only after the handshake (a resumed connection without 0-RTT). @default false */
  afterHandshake?: boolean;
  /** Requests in flight at once. @default all */
  concurrency?: number;
  transport?: QuicTransportSettings;
  /** Wait this long for a session ticket after the last response. @default 0 */
  waitForTicketMs?: number;
  /** Called when the first response body chunk arrives (the blackhole case cuts the path then). */
  onBodyProgress?: (bytes: number) => void;
}

/** Downloads `paths` on one new qfaas connection; rejects with the first error. */
export async function qfaasDownload(options: QfaasDownloadOptions): Promise<QfaasDownload> {
  const endpoint = await createQuicClient();
  let session: Uint8Array | undefined;
  let ticketArrived: () => void = () => undefined;
  const ticket = new Promise<void>((resolve) => (ticketArrived = resolve));
  try {
    const quic = endpoint.connect({
      host: '127.0.0.1',
      port: options.port,
      serverName: options.serverName,
      config: createQuicConfig({
        role: 'client',
        caPem: options.caPem,
        ...(options.certificate === undefined ? {} : { certificate: options.certificate }),
        ...(options.transport === undefined ? {} : { transport: options.transport }),
      }),
      ...(options.session === undefined ? {} : { session: options.session }),
      onSessionTicket: (ticketBytes) => {
        session = ticketBytes;
        ticketArrived();
      },
    });
    const h3 = connectHttp3(quic);
    if (options.afterHandshake === true) await quic.handshake;
    const result: QfaasDownload = {
      hashes: new Map(),
      statuses: new Map(),
      headers: new Map(),
      earlyData: new Map(),
      handshake: undefined as unknown as HandshakeInfo,
      session: undefined,
      earlyDataAttempted: false,
    };
    let received = 0;
    const fetchOne = async (path: string) => {
      const response = await h3.request({ method: 'GET', path, authority: options.serverName, headers: { 'x-interop-case': 'qfaas-client' } });
      result.statuses.set(path, response.statusCode);
      result.headers.set(path, { ...response.headers } as Record<string, string>);
      result.earlyData.set(path, response.earlyData);
      const hash = createHash('sha256');
      for await (const chunk of response.body) {
        hash.update(chunk);
        received += chunk.length;
        options.onBodyProgress?.(received);
      }
      if (response.statusCode === 200) result.hashes.set(path, hash.digest('hex'));
    };
    const queue = [...options.paths];
    const workers = Array.from({ length: Math.min(options.concurrency ?? queue.length, queue.length) }, async () => {
      for (let path = queue.shift(); path !== undefined; path = queue.shift()) await fetchOne(path);
    });
    await Promise.all(workers);
    result.handshake = await quic.handshake;
    result.earlyDataAttempted = quic.earlyDataAttempted;
    if ((options.waitForTicketMs ?? 0) > 0 && session === undefined) {
      await Promise.race([ticket, new Promise((resolve) => setTimeout(resolve, options.waitForTicketMs))]);
    }
    result.session = session;
    h3.close();
    await quic.close();
    return result;
  } finally {
    await endpoint.close();
  }
}
