import { ExecTimeoutError, QfaasConfigError, RequestTargetError } from '../errors.js';
import type { QuicTransportSettings } from '../transport/quic/config.js';
import type { HostPort } from '../transport/quic/connection-driver.js';
import type { HandshakeInfo } from '../transport/quic/connection.js';
import type { PeerIdentity } from '../transport/h3/connection-facts.js';
import { admissionOptions, type QuicAdmissionOptions, type QuicEndpointStats } from '../transport/quic/endpoint.js';
import { deriveStatelessResetKey } from '../transport/quic/stateless-reset.js';
import { createHttp3Server, type Http3Server } from '../transport/h3/server.js';
import type { Http3IncomingRequest, Http3RequestInfo, OutgoingResponse } from '../transport/h3/server-request.js';
import { webRequestFrom, webResponseToOutgoing } from '../transport/h3/web-adapters.js';
import { DeadlineQueue, type Deadline } from '../timing/deadline-queue.js';
import type { WorkerCredentials } from '../zero-rtt/credentials.js';
import { createWorkerQuicConfig } from '../zero-rtt/worker-config.js';
import { guardForTicketKey } from '../replay-guard/guard-for-ticket-key.js';
import type { ReplayGuard, ReplayGuardMetrics, ReplayGuardOptions } from '../replay-guard/server-guard.js';
import { admitEarlyRequest } from './request-pipeline.js';
import { UpstreamProxy } from './upstream-proxy.js';
import { parseDuration } from './watchdog-config.js';
import { defaultDrainTimeoutMs } from '../transport/h3/connection.js';
import { handlerServerDefaults } from './defaults.js';
import { nonNegative, port as checkPort } from '../option-checks.js';

/**
 * What a handler learns about a request besides the request itself: the HTTP/3 layer's facts
 * (`Http3RequestInfo`: stream, early data, handshake, peer certificate), and the caller's identity.
 */
export interface RequestInfo extends Http3RequestInfo {
  /** The request runs in 0-RTT early data, before the handshake completed (RFC 8470). */
  readonly earlyData: boolean;
  /** The connection resumed a TLS session (always true for early data). */
  readonly resumed: boolean;
  /** Common name of the client certificate that authenticated the caller (mutual TLS). */
  readonly invoker?: string;
  /** The certificate's role (its OU), e.g. 'invoker' or 'chain'. */
  readonly invokerRole?: string;
  /**
   * Aborted when the exec timeout fires or the caller cancels. Made on first read: a handler
   * that never asks costs no AbortController.
   */
  readonly signal: AbortSignal;
}

/** The lean request a handler receives: method, the `:path` as received, headers, body. */
export type IncomingRequest = Http3IncomingRequest;

/** The lean form: plain request in, `{ statusCode, headers, body }` out (no web objects). */
export type LeanRequestHandler = (request: IncomingRequest, info: RequestInfo) => OutgoingResponse | Promise<OutgoingResponse>;

/** The web form: a `Request` in, a `Response` out (built only for this form). */
export type RequestHandler = (request: Request, info: RequestInfo) => Response | Promise<Response>;

/** Limits of a handler server: requests in flight, exec timeout, header limits, drain time. */
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
  /** In-process mode, lean form: answers each request without web objects (the fastest path). @default none */
  onRequest?: LeanRequestHandler;
  /** In-process mode, web form: answers each web `Request` with a `Response`. @default none */
  handler?: RequestHandler;
  /** Upstream mode (of-watchdog `mode=http`): the function's own HTTP server, e.g. http://127.0.0.1:3000. @default none */
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
  /** @default `handlerServerDefaults` */
  limits?: HandlerServerLimits;
  /** Must match the generator's settings, or provisioned sessions will not resume in 0-RTT. @default `defaultTransportSettings` */
  transport?: QuicTransportSettings;
  /** Told about handler and upstream failures (the response is 500/502 either way). @default none */
  onError?: (error: unknown) => void;
  /**
   * Anti-replay for 0-RTT (see docs/security.md): early requests run at once only when the policy
   * allows them and their nonce is fresh; others wait for the handshake or get 425. `false` turns
   * it off (every early request runs at once: only behind another replay defence).
   * @default new ReplayGuard() (policy 'idempotent', defer, in-memory strike register, 10 s window)
   */
  replayGuard?: ReplayGuard | ReplayGuardOptions | false;
}

/** Counters of a handler server, its QUIC endpoint and its replay guard. */
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

/** A running handler server: address, metrics, draining state and graceful `close()`. */
export interface HandlerServer {
  readonly address: HostPort;
  /** True once close() began: health checks report 503. */
  readonly draining: boolean;
  metrics(): HandlerServerMetrics;
  /** Graceful shutdown: GOAWAY, finish requests in flight (up to drainTimeoutMs), then close. */
  close(options?: { timeoutMs?: number }): Promise<void>;
}

/**
 * The worker side of the hop: HTTP/3 over QUIC with the generator's credentials (so provisioned
 * sessions resume in 0-RTT), in-process handler or of-watchdog-style upstream proxy, limits, and
 * graceful shutdown.
 */
export async function createHandlerServer(options: HandlerServerOptions): Promise<HandlerServer> {
  const modes = [options.onRequest, options.handler, options.upstream].filter((mode) => mode !== undefined).length;
  if (modes !== 1) {
    throw new QfaasConfigError('handler', 'give exactly one of onRequest (lean, in-process), handler (web Request/Response, in-process) and upstream (proxy mode)');
  }
  const limits = {
    maxInflight: options.limits?.maxInflight ?? handlerServerDefaults.maxInflight,
    execTimeoutMs: options.limits?.execTimeoutMs ?? handlerServerDefaults.execTimeoutMs,
    drainTimeoutMs: options.limits?.drainTimeoutMs ?? defaultDrainTimeoutMs,
  };
  for (const [field, value] of Object.entries(limits)) nonNegative(value, `limits.${field}`);
  checkPort(options.port ?? 0, 'port', 'listen');
  const proxy = options.upstream === undefined ? undefined : new UpstreamProxy(options.upstream);
  const credentials = options.credentials;
  // The config the generator minted the worker's sessions against, or they would not resume.
  const config = createWorkerQuicConfig(credentials, {
    ...(options.clientAuth === undefined ? {} : { clientAuth: options.clientAuth }),
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
  // Exec timeouts of every request share one timer.
  const deadlines = new DeadlineQueue();
  let draining = false;

  // Responses are counted as the HTTP/3 layer sends them (events.response), so that answers it
  // makes itself (421, 431, 501) count too, and answers nobody is left to read do not.
  const countResponse = (status: number) => {
    const statusClass = `${Math.floor(status / 100)}xx` as keyof (typeof metrics)['responsesByStatusClass'];
    if (statusClass in metrics.responsesByStatusClass) metrics.responsesByStatusClass[statusClass]++;
  };

  const timeoutHeader = options.limits?.timeoutHeader?.toLowerCase();
  const effectiveTimeout = (request: IncomingRequest): number => {
    const requested = timeoutHeader === undefined ? undefined : request.headers[timeoutHeader];
    if (requested === undefined) return limits.execTimeoutMs;
    let ms: number;
    try {
      ms = parseDuration(requested, timeoutHeader as string);
    } catch {
      return limits.execTimeoutMs;
    }
    if (!(ms > 0)) return limits.execTimeoutMs;
    return limits.execTimeoutMs === 0 ? ms : Math.min(ms, limits.execTimeoutMs);
  };

  const execute = async (request: IncomingRequest, info: HandlerRequestInfo): Promise<OutgoingResponse> => {
    if (proxy !== undefined) {
      try {
        return await proxy.forward(
          { method: request.method, path: request.path, headers: request.headers, body: request.method === 'GET' || request.method === 'HEAD' ? null : request.body },
          { earlyData: info.earlyData, signal: info.signal },
        );
      } catch (error) {
        if (info.aborted) throw error;
        // A path that could leave the upstream's origin: refused before any connection.
        if (error instanceof RequestTargetError) return { statusCode: 400, body: 'invalid request target\n' };
        metrics.upstreamErrors++;
        options.onError?.(error);
        return { statusCode: 502, body: 'upstream unavailable\n' };
      }
    }
    try {
      if (options.onRequest !== undefined) {
        const response = await options.onRequest(request, info);
        if (typeof response?.statusCode !== 'number') throw new TypeError('the handler did not return { statusCode, headers?, body? }');
        return response;
      }
      const response = await (options.handler as RequestHandler)(webRequestFrom(request), info);
      if (!(response instanceof Response)) throw new TypeError('the handler did not return a Response');
      return webResponseToOutgoing(response);
    } catch (error) {
      if (info.aborted) throw error;
      metrics.handlerErrors++;
      options.onError?.(error);
      return internalError();
    }
  };

  const serve = async (request: IncomingRequest, h3Info: Http3RequestInfo): Promise<OutgoingResponse> => {
    metrics.requests++;
    let earlyData = h3Info.earlyData;
    if (earlyData) {
      metrics.earlyDataRequests++;
      // Anti-replay decides first: a replayed request must not even count against the limits.
      if (guard !== undefined) {
        const admission = await admitEarlyRequest(guard, request, h3Info);
        if (typeof admission === 'object') return admission;
        earlyData = admission === 'in-early-data';
      }
    }
    if (limits.maxInflight > 0 && metrics.inflight >= limits.maxInflight) {
      metrics.rejectedInflight++;
      request.body.cancel();
      return { statusCode: 429, headers: { 'retry-after': '1' }, body: 'too many requests in flight\n' };
    }
    metrics.inflight++;
    const info = new HandlerRequestInfo(h3Info, earlyData);
    const timeoutMs = effectiveTimeout(request);
    let deadline: Deadline | undefined;
    try {
      const running = guard === undefined ? execute(request, info) : guard.run(request, () => execute(request, info));
      if (timeoutMs === 0) return await running;
      const timedOut = new Promise<OutgoingResponse>((resolve) => {
        deadline = deadlines.add(timeoutMs, () => {
          metrics.execTimeouts++;
          info.abort(new ExecTimeoutError(`exec timeout of ${timeoutMs} ms`));
          resolve(functionTimedOut());
        });
      });
      return await Promise.race([running, timedOut]);
    } catch (error) {
      if (info.timedOut) return functionTimedOut();
      if (info.aborted) {
        // Nobody is left to read an answer: not counted as a response.
        metrics.cancelled++;
        return { statusCode: 503 };
      }
      // A failure outside the handler itself (keeping its response for an Idempotency-Key).
      metrics.handlerErrors++;
      options.onError?.(error);
      return internalError();
    } finally {
      deadline?.cancel();
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
    onRequest: serve,
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
      deadlines.clear();
      proxy?.close();
      releaseGuard();
    },
  };
}

const functionTimedOut = (): OutgoingResponse => ({ statusCode: 504, body: 'function timed out\n' });
// Never the stack trace: it can describe internals to whoever called.
const internalError = (): OutgoingResponse => ({ statusCode: 500, body: 'internal error\n' });

/**
 * The handler's view of a request: facts from the HTTP/3 layer, the caller's identity parsed only
 * when read, and a signal made only when read (aborted by the exec timeout or the caller leaving).
 */
class HandlerRequestInfo implements RequestInfo {
  readonly earlyData: boolean;
  readonly #h3: Http3RequestInfo;
  #controller: AbortController | undefined;
  #timeoutReason: ExecTimeoutError | undefined;

  constructor(h3: Http3RequestInfo, earlyData: boolean) {
    this.#h3 = h3;
    this.earlyData = earlyData;
  }

  get streamId(): number {
    return this.#h3.streamId;
  }

  get handshake(): Promise<HandshakeInfo> {
    return this.#h3.handshake;
  }

  get handshakeInfo(): HandshakeInfo | undefined {
    return this.#h3.handshakeInfo;
  }

  peerCertificateChain(): Uint8Array[] | undefined {
    return this.#h3.peerCertificateChain();
  }

  peerIdentity(): PeerIdentity {
    return this.#h3.peerIdentity();
  }

  get resumed(): boolean {
    return this.#h3.earlyData || (this.#h3.handshakeInfo?.resumed ?? false);
  }

  get invoker(): string | undefined {
    return this.#h3.peerIdentity().commonName;
  }

  get invokerRole(): string | undefined {
    return this.#h3.peerIdentity().organizationalUnit;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      const controller = new AbortController();
      this.#controller = controller;
      if (this.#timeoutReason !== undefined) controller.abort(this.#timeoutReason);
      else if (this.#h3.aborted) controller.abort(this.#h3.signal.reason);
      // The invoker cancelled or the connection ended: stop the function's work too.
      else this.#h3.signal.addEventListener('abort', () => controller.abort(this.#h3.signal.reason), { once: true });
    }
    return this.#controller.signal;
  }

  /** The caller left, or the exec timeout fired. */
  get aborted(): boolean {
    return this.#timeoutReason !== undefined || this.#h3.aborted;
  }

  get timedOut(): boolean {
    return this.#timeoutReason !== undefined;
  }

  abort(reason: ExecTimeoutError): void {
    if (this.aborted) return;
    this.#timeoutReason = reason;
    this.#controller?.abort(reason);
  }
}
