import { X509Certificate } from 'node:crypto';
import { QfaasConfigError, QfaasError } from '../errors.js';
import type { QuicTransportSettings } from '../transport/quic/config.js';
import type { QuicConnection } from '../transport/quic/connection.js';
import type { HostPort } from '../transport/quic/connection-driver.js';
import { admissionOptions, type QuicAdmissionOptions, type QuicEndpointStats } from '../transport/quic/endpoint.js';
import { createQuicheConfig } from '../transport/quic/config.js';
import { deriveStatelessResetKey } from '../transport/quic/stateless-reset.js';
import { createHttp3Server, type Http3Server } from '../transport/h3/server.js';
import type { Http3RequestInfo } from '../transport/h3/connection.js';
import type { WorkerCredentials } from '../zero-rtt/credentials.js';
import { guardForTicketKey } from '../replay-guard/guard-for-ticket-key.js';
import type { ReplayGuard, ReplayGuardMetrics, ReplayGuardOptions } from '../replay-guard/server-guard.js';
import { RequestTargetError } from './request-target.js';
import { UpstreamProxy } from './upstream-proxy.js';
import { parseDuration } from './watchdog-config.js';

/** What a handler learns about a request besides the web `Request`. */
export interface RequestInfo {
  /** The request arrived in 0-RTT early data, before the handshake completed (RFC 8470). */
  earlyData: boolean;
  /** The connection resumed a TLS session (always true for early data). */
  resumed: boolean;
  /** Common name of the client certificate that authenticated the caller (mutual TLS). */
  invoker?: string;
  /** The certificate's role (its OU), e.g. 'invoker' or 'chain'. */
  invokerRole?: string;
  /** Aborted when the exec timeout fires or the caller cancels. */
  signal: AbortSignal;
  streamId: number;
}

export type RequestHandler = (request: Request, info: RequestInfo) => Response | Promise<Response>;

export interface HandlerServerLimits {
  /** Requests executing at once; one more gets 429 without running. 0 means no limit. @default 0 */
  maxInflight?: number;
  /** A request running longer gets 504 and its handler's signal (or upstream call) is aborted. 0 disables it. @default 0 */
  execTimeoutMs?: number;
  /** Largest request header section, as RFC 9114 section 4.2.2 counts it; larger gets 431. @default 65536 */
  maxFieldSectionSize?: number;
  /**
   * A request's header section must be complete this long after its stream's first byte, or the
   * stream is reset with H3_REQUEST_INCOMPLETE (Node's `headersTimeout`). 0 disables it.
   * @default 10_000
   */
  headersTimeoutMs?: number;
  /**
   * Bytes that unfinished request header sections may hold together on one connection; more
   * closes that connection with H3_EXCESSIVE_LOAD. 0 means no cap. At least one largest HEADERS
   * frame (2 × maxFieldSectionSize + 1024).
   * @default 1_048_576
   */
  maxUnfinishedHeaderBytes?: number;
  /** How long close() waits for requests in flight after sending GOAWAY. @default 10_000 */
  drainTimeoutMs?: number;
  /**
   * A request header (e.g. 'x-timeout', as of-watchdog reads it) that shortens the exec timeout
   * for one request; a Go duration or seconds. It can only lower `execTimeoutMs`. @default undefined
   */
  timeoutHeader?: string;
}

/**
 * `retry`, `maxConnections`, `maxHalfOpenConnections` and `handshakeTimeoutMs` (see
 * docs/security.md, "Floods and amplification") are the QUIC endpoint's, with its defaults.
 */
export interface HandlerServerOptions extends QuicAdmissionOptions {
  /** The worker's credentials from the 0-RTT generator (`loadCredentials()`). */
  credentials: WorkerCredentials;
  /** In-process mode: answers each request. */
  handler?: RequestHandler;
  /** Upstream mode (of-watchdog `mode=http`): the function's own HTTP server, e.g. http://127.0.0.1:3000. */
  upstream?: string;
  /** @default '0.0.0.0' */
  host?: string;
  /** UDP port. @default 0 (a free one) */
  port?: number;
  /**
   * `'required'`: only clients with a certificate from the platform CA may invoke (mutual TLS).
   * `'none'`: an explicit opt-out for networks that authenticate otherwise.
   * @default credentials.clientAuth, which the generator sets to 'required'
   */
  clientAuth?: 'required' | 'none';
  limits?: HandlerServerLimits;
  /** Must match the generator's settings, or provisioned sessions will not resume in 0-RTT. */
  transport?: QuicTransportSettings;
  /** Told about handler and upstream failures (the response is 500/502 either way). */
  onError?: (error: unknown) => void;
  /**
   * Anti-replay for 0-RTT (see docs/security.md): early requests run at once only when the policy
   * allows them and their nonce is fresh; others wait for the handshake or get 425. `false` turns
   * it off (every early request runs at once: only behind another replay defence).
   * @default new ReplayGuard() (policy 'idempotent', defer, in-memory strike register, 10 s window)
   */
  replayGuard?: ReplayGuard | ReplayGuardOptions | false;
}

export interface HandlerServerMetrics {
  requests: number;
  earlyDataRequests: number;
  inflight: number;
  rejectedInflight: number;
  execTimeouts: number;
  /** Requests whose invoker cancelled (or whose connection ended) while the function ran. */
  cancelled: number;
  handlerErrors: number;
  upstreamErrors: number;
  /** Every response the server sent, including 421/431/501 from the HTTP/3 layer. */
  responsesByStatusClass: Record<'1xx' | '2xx' | '3xx' | '4xx' | '5xx', number>;
  /**
   * Request header sections begun and not complete (counted from the stream's first byte), the
   * bytes they hold now, and how many were cut: reset at `headersTimeoutMs`, or their connection
   * closed for exceeding `maxUnfinishedHeaderBytes`.
   */
  headerSections: { unfinished: number; bufferedBytes: number; timedOut: number; connectionsOverCap: number };
  replayGuard: ReplayGuardMetrics | undefined;
  /** The QUIC endpoint's counters: connections, half-open ones, Retries sent, datagrams held back by the 3x limit. */
  quic: QuicEndpointStats;
}

export interface HandlerServer {
  readonly address: HostPort;
  /** True once close() began: health checks report 503. */
  readonly draining: boolean;
  metrics(): HandlerServerMetrics;
  /** Graceful shutdown: GOAWAY, finish requests in flight (up to drainTimeoutMs), then close. */
  close(options?: { timeoutMs?: number }): Promise<void>;
}

/** The reason `info.signal` aborts when a request outlives the exec timeout. */
export class ExecTimeoutError extends QfaasError {
  override readonly name = 'ExecTimeoutError';
  readonly code = 'QFAAS_EXEC_TIMEOUT';
}

/**
 * The worker side of the hop: HTTP/3 over QUIC with the generator's credentials (so provisioned
 * sessions resume in 0-RTT), in-process handler or of-watchdog-style upstream proxy, limits, and
 * graceful shutdown.
 */
export async function createHandlerServer(options: HandlerServerOptions): Promise<HandlerServer> {
  if ((options.handler === undefined) === (options.upstream === undefined)) {
    throw new QfaasConfigError('handler', 'give exactly one of handler (in-process) and upstream (proxy mode)');
  }
  const limits = {
    maxInflight: options.limits?.maxInflight ?? 0,
    execTimeoutMs: options.limits?.execTimeoutMs ?? 0,
    drainTimeoutMs: options.limits?.drainTimeoutMs ?? 10_000,
  };
  for (const [field, value] of Object.entries(limits)) {
    if (!Number.isFinite(value) || value < 0) throw new QfaasConfigError(`limits.${field}`, 'must be zero or more');
  }
  const proxy = options.upstream === undefined ? undefined : new UpstreamProxy(options.upstream);
  const credentials = options.credentials;
  const config = createQuicheConfig({
    role: 'server',
    caPem: credentials.caPem,
    certificate: { certPem: credentials.certificate.certPem, keyPem: credentials.certificate.keyPem.reveal() },
    ticketKey: credentials.ticketKey.reveal(),
    clientAuth: options.clientAuth ?? credentials.clientAuth,
    ...(options.transport === undefined ? {} : { transport: options.transport }),
  });

  const { guard, release: releaseGuard } = guardForTicketKey(options.replayGuard, credentials.ticketKey.reveal());
  const metrics: Omit<HandlerServerMetrics, 'replayGuard' | 'headerSections' | 'quic'> = {
    requests: 0,
    earlyDataRequests: 0,
    inflight: 0,
    rejectedInflight: 0,
    execTimeouts: 0,
    cancelled: 0,
    handlerErrors: 0,
    upstreamErrors: 0,
    responsesByStatusClass: { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 },
  };
  const headerCuts = { timedOut: 0, connectionsOverCap: 0 };
  const identities = new WeakMap<object, { invoker?: string; invokerRole?: string }>();
  let draining = false;

  const identityOf = (quic: QuicConnection): { invoker?: string; invokerRole?: string } => {
    const cached = identities.get(quic);
    if (cached !== undefined) return cached;
    const der = quic.peerCertificateChain()?.[0];
    let identity: { invoker?: string; invokerRole?: string } = {};
    if (der !== undefined) {
      const subject = new X509Certificate(der).subject;
      const cn = /^CN=(.*)$/m.exec(subject)?.[1];
      const ou = /^OU=(.*)$/m.exec(subject)?.[1];
      identity = { ...(cn === undefined ? {} : { invoker: cn }), ...(ou === undefined ? {} : { invokerRole: ou }) };
    }
    identities.set(quic, identity);
    return identity;
  };

  // Responses are counted as the HTTP/3 layer sends them (events.response), so that answers it
  // makes itself (421, 431, 501) count too, and answers nobody is left to read do not.
  const countResponse = (status: number) => {
    const statusClass = `${Math.floor(status / 100)}xx` as keyof (typeof metrics)['responsesByStatusClass'];
    if (statusClass in metrics.responsesByStatusClass) metrics.responsesByStatusClass[statusClass]++;
  };

  const effectiveTimeout = (request: Request): number => {
    const header = options.limits?.timeoutHeader;
    const requested = header === undefined ? null : request.headers.get(header);
    if (requested === null) return limits.execTimeoutMs;
    let ms: number;
    try {
      ms = parseDuration(requested, header as string);
    } catch {
      return limits.execTimeoutMs;
    }
    if (!(ms > 0)) return limits.execTimeoutMs;
    return limits.execTimeoutMs === 0 ? ms : Math.min(ms, limits.execTimeoutMs);
  };

  const serve = async (request: Request, h3Info: Http3RequestInfo, quic: QuicConnection): Promise<Response> => {
    metrics.requests++;
    if (h3Info.earlyData) metrics.earlyDataRequests++;
    // Anti-replay decides first: a replayed request must not even count against the limits.
    let earlyData = h3Info.earlyData;
    if (guard !== undefined && earlyData) {
      const verdict = await guard.check(request, true);
      if (verdict.action === 'respond') {
        await request.body?.cancel().catch(() => undefined);
        return verdict.response;
      }
      if (verdict.action === 'defer') {
        try {
          // A replayed flight never completes a handshake: its request never runs.
          await quic.handshake;
        } catch {
          await request.body?.cancel().catch(() => undefined);
          return new Response(null, { status: 425 });
        }
        earlyData = false;
      }
    }
    if (limits.maxInflight > 0 && metrics.inflight >= limits.maxInflight) {
      metrics.rejectedInflight++;
      await request.body?.cancel().catch(() => undefined);
      return new Response('too many requests in flight\n', { status: 429, headers: { 'retry-after': '1' } });
    }
    metrics.inflight++;
    const controller = new AbortController();
    // The invoker cancelled or the connection ended: stop the function's work too.
    const onClientGone = () => controller.abort(h3Info.signal.reason);
    h3Info.signal.addEventListener('abort', onClientGone, { once: true });
    let timer: NodeJS.Timeout | undefined;
    const timeoutMs = effectiveTimeout(request);
    const timedOut = new Promise<Response>((resolve) => {
      if (timeoutMs === 0) return;
      timer = setTimeout(() => {
        metrics.execTimeouts++;
        controller.abort(new ExecTimeoutError(`exec timeout of ${timeoutMs} ms`));
        resolve(new Response('function timed out\n', { status: 504 }));
      }, timeoutMs);
    });
    try {
      const info = {
        earlyData,
        resumed: h3Info.earlyData || (quic.handshakeInfo?.resumed ?? false),
        signal: controller.signal,
        streamId: h3Info.streamId,
      } as RequestInfo;
      // Parsing the client certificate costs tens of microseconds: only when the handler asks.
      Object.defineProperties(info, {
        invoker: { enumerable: true, get: () => identityOf(quic).invoker },
        invokerRole: { enumerable: true, get: () => identityOf(quic).invokerRole },
      });
      const run = async (): Promise<Response> => {
        if (proxy !== undefined) {
          try {
            return await proxy.forward(request, { earlyData: info.earlyData, signal: controller.signal, target: h3Info.path });
          } catch (error) {
            if (controller.signal.aborted) throw error;
            // A path that could leave the upstream's origin: refused before any connection.
            if (error instanceof RequestTargetError) return new Response('invalid request target\n', { status: 400 });
            metrics.upstreamErrors++;
            options.onError?.(error);
            return new Response('upstream unavailable\n', { status: 502 });
          }
        }
        try {
          const response = await (options.handler as RequestHandler)(request, info);
          if (!(response instanceof Response)) throw new TypeError('the handler did not return a Response');
          return response;
        } catch (error) {
          if (controller.signal.aborted) throw error;
          metrics.handlerErrors++;
          options.onError?.(error);
          // Never the stack trace: it can describe internals to whoever called.
          return new Response('internal error\n', { status: 500 });
        }
      };
      const execute = guard === undefined ? run : () => guard.run(request, run);
      const response = await Promise.race([execute(), timedOut]);
      return response;
    } catch {
      if (controller.signal.aborted && !(controller.signal.reason instanceof ExecTimeoutError)) {
        // Nobody is left to read an answer: not counted as a response.
        metrics.cancelled++;
        return new Response(null, { status: 503 });
      }
      return new Response('function timed out\n', { status: 504 });
    } finally {
      clearTimeout(timer);
      h3Info.signal.removeEventListener('abort', onClientGone);
      metrics.inflight--;
    }
  };

  const server: Http3Server = await createHttp3Server({
    host: options.host ?? '0.0.0.0',
    port: options.port ?? 0,
    config,
    // A replacement started from these credentials resets its predecessor's connections at once.
    statelessResetKey: deriveStatelessResetKey(credentials.ticketKey.reveal()),
    ...(options.limits?.maxFieldSectionSize === undefined ? {} : { maxFieldSectionSize: options.limits.maxFieldSectionSize }),
    ...(options.limits?.headersTimeoutMs === undefined ? {} : { headersTimeoutMs: options.limits.headersTimeoutMs }),
    ...(options.limits?.maxUnfinishedHeaderBytes === undefined ? {} : { maxUnfinishedHeaderBytes: options.limits.maxUnfinishedHeaderBytes }),
    events: {
      response: countResponse,
      headersTimedOut: () => headerCuts.timedOut++,
      headerBytesExceeded: () => headerCuts.connectionsOverCap++,
    },
    handlerFor: (quic) => (request, info) => serve(request, info, quic),
    ...admissionOptions(options),
  }).catch((error: unknown) => {
    releaseGuard();
    throw error;
  });

  return {
    address: server.address,
    get draining() {
      return draining;
    },
    metrics: () => {
      let unfinished = 0;
      let bufferedBytes = 0;
      for (const connection of server.connections) {
        const sections = connection.unfinishedHeaderSections;
        unfinished += sections.count;
        bufferedBytes += sections.bytes;
      }
      return {
        ...metrics,
        responsesByStatusClass: { ...metrics.responsesByStatusClass },
        headerSections: { unfinished, bufferedBytes, ...headerCuts },
        replayGuard: guard?.metrics(),
        quic: server.endpoint.stats(),
      };
    },
    async close({ timeoutMs = limits.drainTimeoutMs } = {}) {
      if (draining) return;
      draining = true;
      await server.close({ timeoutMs });
      proxy?.close();
      releaseGuard();
    },
  };
}
