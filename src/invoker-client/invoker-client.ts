import { QfaasConfigError } from '../errors.js';
import { earlyNonceHeader, earlyTimestampHeader, newEarlyDataMark } from '../replay-guard/early-data-headers.js';
import { isEarlyDataEligible, zeroRttPolicies, type ZeroRttPolicy } from '../replay-guard/policy.js';
import { DeadlineQueue, type Deadline } from '../timing/deadline-queue.js';
import { configMaxUdpPayloadSize, createQuicConfig, type CertificateAndKey, type QuicTransportSettings, type QuicConfig } from '../transport/quic/config.js';
import type { QuicConnection } from '../transport/quic/connection.js';
import { QuicEndpoint } from '../transport/quic/endpoint.js';
import type { ClientExchange, Http3ResponseData } from '../transport/h3/client-request.js';
import type { Http3Connection } from '../transport/h3/connection.js';
import { h3ErrorCodes } from '../transport/h3/error-codes.js';
import { flatHeaderList, type OutgoingHeaders } from '../transport/h3/header-fields.js';
import type { BodyInput } from '../transport/h3/message-writer.js';
import type { Field } from '../transport/h3/qpack/field-section.js';
import { connectHttp3 } from '../transport/h3/client.js';
import type { Http3PeerSettings } from '../transport/h3/settings.js';
import type { TransportInfo } from '../transport/h3/response-info.js';
import { webResponse } from '../transport/h3/web-adapters.js';
import { leanOptionsFromFetch, type InvokerFetchInit } from './fetch-arguments.js';
import { MemoryTicketStore } from '../zero-rtt/memory-ticket-store.js';
import { Secret } from '../zero-rtt/secret.js';
import { FailSafeTicketStore, type StoredSession, type TicketStore } from '../zero-rtt/ticket-store.js';
import { InvokerError } from '../errors.js';
import { describeFailure, describeTarget, refusal } from './failure.js';
import { PeerWatch } from './peer-watch.js';
import { InvokerMetrics, prometheusText, type InvokerMetricsSnapshot } from './metrics.js';
import { nonNegative, port as checkPort, positiveInteger } from '../option-checks.js';
import { zeroRttDefaults } from '../zero-rtt/defaults.js';
import { invokerDefaults } from './defaults.js';

/** Where a function instance listens. */
export interface InvokerTarget {
  /** The name the worker's certificate carries (and the ticket store key). */
  serverName: string;
  host: string;
  port: number;
  /** Path and query of the request. @default '/' */
  path?: string;
}

/**
 * A request for {@link InvokerClient.request}, in the style of undici's `Dispatcher.request()`:
 * the worker, then method, path, headers and body. No web object is built.
 */
export interface InvokerRequestOptions extends InvokerTarget {
  /** @default 'GET' */
  method?: string;
  /** A plain object (values may be lists) or a flat list `[name, value, …]`. @default none */
  headers?: OutgoingHeaders;
  /**
   * Bytes, text, or an async iterable of chunks (streamed; such a request is never retried).
   * Bytes and text are sent again on the one retry after 425 Too Early.
   * @default none: no body
   */
  body?: BodyInput;
  /** Aborts the request, body included; it rejects with the signal's reason. @default none */
  signal?: AbortSignal;
}

/** A response from {@link InvokerClient.request} (undici's `ResponseData`, plus transport facts). */
export interface InvokerResponse extends Http3ResponseData {
  transport: TransportInfo;
}

/** Options of `InvokerClient` (defaults in `invokerDefaults`). */
export interface InvokerClientOptions {
  /** The platform CA (anything with `certPem`) or its PEM: worker certificates must chain to it. */
  ca: { certPem: string } | string;
  /** The invoker's client certificate, for workers that require mutual TLS (the default). @default none: no client certificate (workers that require one refuse the handshake) */
  certificate?: CertificateAndKey;
  /** Where sessions live. @default a MemoryTicketStore */
  ticketStore?: TicketStore;
  /** Which requests may go in 0-RTT. @default 'idempotent' */
  zeroRtt?: ZeroRttPolicy;
  /** QUIC transport settings; must match the workers' for 0-RTT. @default library defaults */
  transport?: QuicTransportSettings;
  /** Pooled connections at most; beyond it the least recently used idle one is closed. @default 1024 */
  maxConnections?: number;
  /** Close a pooled connection after this long without requests. 0 keeps it. @default 30_000 */
  idleTimeoutMs?: number;
  /** Longest wait for a handshake. @default 5_000 */
  connectTimeoutMs?: number;
  /** Longest wait for a response's header section, per attempt. 0 disables it. @default 30_000 */
  requestTimeoutMs?: number;
  /** Expiry given to session tickets the workers send. @default 24 hours */
  sessionLifetimeMs?: number;
  /** Longest wait for the ticket store before dialing without a session. @default 250 */
  ticketStoreTimeoutMs?: number;
  /** Local address of the client socket. @default '0.0.0.0' */
  localAddress?: string;
  /**
   * A connection with requests in flight whose worker sends nothing for this long, although PINGed,
   * is closed and its requests fail with QFAAS_PEER_UNREACHABLE (never below three probe timeouts).
   * 0 disables it: a dead worker is then noticed at QUIC's idle timeout. @default 1_000
   */
  deadPeerTimeoutMs?: number;
  /**
   * An idle pooled connection silent this long gets a PING; unanswered (see deadPeerTimeoutMs), it
   * is dropped from the pool before a request can use it. 0 sends no keep-alive. @default 5_000
   */
  keepAliveMs?: number;
  /**
   * How long a worker that sent GOAWAY or refused a connection is remembered as draining: requests
   * to the same server name and address fail at once with QFAAS_WORKER_DRAINING instead of being
   * sent. 0 remembers nothing (only the request that met the refusal fails). @default 10_000
   */
  rememberDrainingMs?: number;
}

interface PooledConnection {
  key: string;
  serverName: string;
  quic: QuicConnection;
  h3: Http3Connection;
  /** Opened with a session: the first requests may go in 0-RTT. */
  withSession: boolean;
  active: number;
  lastUsed: number;
  /** Pending idle check (one per idle connection, on the invoker's deadline queue). */
  idleCheck: Deadline | undefined;
  settings: Http3PeerSettings | undefined;
  /** Liveness probing, from the handshake on (undefined when deadPeerTimeoutMs is 0). */
  watch: PeerWatch | undefined;
  /** The watch declared the worker dead and closed the connection. */
  unreachable: boolean;
}

/** Bodies that can be sent again when a retry is allowed. */
function isReplayable(body: BodyInput): boolean {
  return body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array;
}

/**
 * The gateway's function invoker: HTTP/3 over QUIC to workers, one pooled connection per worker
 * multiplexing concurrent requests, concurrent first requests sharing one handshake, and 0-RTT
 * from the ticket store for the requests the policy allows. A request is retried (once, on the
 * same worker) only after 425 Too Early. A worker that is draining (GOAWAY, H3_REQUEST_REJECTED,
 * CONNECTION_REFUSED) is never sent the request again: it fails with QFAAS_WORKER_DRAINING so the
 * platform routes it elsewhere. Every failure says whether the request may have run (errors.ts).
 */
export class InvokerClient {
  readonly #config: QuicConfig;
  readonly #store: FailSafeTicketStore;
  readonly #policy: ZeroRttPolicy;
  readonly #maxConnections: number;
  readonly #idleTimeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #requestTimeoutMs: number;
  readonly #sessionLifetimeMs: number;
  readonly #localAddress: string;
  readonly #deadPeerTimeoutMs: number;
  readonly #keepAliveMs: number;
  readonly #rememberDrainingMs: number;
  /** Workers known to be draining (pool key → until when, performance.now clock). */
  readonly #draining = new Map<string, number>();
  readonly #pool = new Map<string, PooledConnection>();
  readonly #dialing = new Map<string, Promise<PooledConnection>>();
  readonly #metrics = new InvokerMetrics();
  /** Request, connect and idle timeouts of every request and connection share one timer. */
  readonly #deadlines = new DeadlineQueue();
  #endpoint: Promise<QuicEndpoint> | undefined;
  #boundEndpoint: QuicEndpoint | undefined;
  /** Requests and response bodies in progress: while there are none, the socket holds no process alive. */
  #inFlight = 0;
  #closed = false;

  constructor(options: InvokerClientOptions) {
    const caPem = typeof options.ca === 'string' ? options.ca : options.ca.certPem;
    this.#config = createQuicConfig({
      role: 'client',
      caPem,
      ...(options.certificate === undefined ? {} : { certificate: options.certificate }),
      ...(options.transport === undefined ? {} : { transport: options.transport }),
    });
    this.#policy = options.zeroRtt ?? invokerDefaults.zeroRtt;
    if (!zeroRttPolicies.includes(this.#policy)) throw new QfaasConfigError('zeroRtt', `must be one of ${zeroRttPolicies.join(', ')}`);
    this.#maxConnections = positiveInteger(options.maxConnections ?? invokerDefaults.maxConnections, 'maxConnections');
    this.#idleTimeoutMs = nonNegative(options.idleTimeoutMs ?? invokerDefaults.idleTimeoutMs, 'idleTimeoutMs');
    this.#connectTimeoutMs = positiveInteger(options.connectTimeoutMs ?? invokerDefaults.connectTimeoutMs, 'connectTimeoutMs');
    this.#requestTimeoutMs = nonNegative(options.requestTimeoutMs ?? invokerDefaults.requestTimeoutMs, 'requestTimeoutMs');
    this.#sessionLifetimeMs = positiveInteger(options.sessionLifetimeMs ?? zeroRttDefaults.sessionLifetimeMs, 'sessionLifetimeMs');
    this.#localAddress = options.localAddress ?? invokerDefaults.localAddress;
    this.#deadPeerTimeoutMs = nonNegative(options.deadPeerTimeoutMs ?? invokerDefaults.deadPeerTimeoutMs, 'deadPeerTimeoutMs');
    this.#keepAliveMs = nonNegative(options.keepAliveMs ?? invokerDefaults.keepAliveMs, 'keepAliveMs');
    this.#rememberDrainingMs = nonNegative(options.rememberDrainingMs ?? invokerDefaults.rememberDrainingMs, 'rememberDrainingMs');
    this.#store = new FailSafeTicketStore(options.ticketStore ?? new MemoryTicketStore(), {
      timeoutMs: options.ticketStoreTimeoutMs ?? zeroRttDefaults.ticketStoreTimeoutMs,
      onError: () => {
        this.#metrics.ticketStoreFailures++;
      },
    });
  }

  /**
   * Sends a request to a worker and resolves with its response once the header section arrived;
   * the body streams after that (read it, or `dump()` it). The lean form: no web `Request`,
   * `Response`, `Headers` or stream is built. Rejects with the signal's reason, an InvokerError
   * (timeouts, closed invoker, exhausted pool, draining or unreachable worker, request cut after it
   * left: see `retryable` and `mayHaveRun`), a TLS error, or an Http3Error about the request itself.
   */
  async request(options: InvokerRequestOptions): Promise<InvokerResponse> {
    if (this.#closed) throw new InvokerError('QFAAS_INVOKER_CLOSED', 'the invoker is closed');
    checkPort(options.port, 'port', 'connect');
    this.#metrics.requests++;
    const started = performance.now();
    const replayable = isReplayable(options.body);
    this.#hold();
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          const response = await this.#attempt(options, attempt);
          if (response.statusCode === 425 && attempt === 1 && replayable && response.transport.earlyDataAttempted) {
            // RFC 8470 section 5.2: the worker wants it after the handshake; it was not processed.
            response.body.cancel();
            this.#metrics.retries++;
            continue;
          }
          this.#metrics.responses++;
          this.#metrics.observeLatency((performance.now() - started) / 1000);
          return response;
        } catch (error) {
          this.#metrics.errors++;
          throw error;
        }
      }
    } finally {
      this.#release();
    }
  }

  /**
   * The web form of {@link request}, with `fetch()`'s arguments: the URL names the worker by the
   * name its certificate carries (`https://<serverName>/<path>`), and `init.connectTo` gives its
   * address when that name does not resolve to it. A web `Response` back; its facts, and how the
   * invoker got it, from `getResponseInfo(response)`. Same errors as `request`, and a
   * QfaasConfigError for a URL that is not https.
   */
  async fetch(input: string | URL | Request, init: InvokerFetchInit = {}): Promise<Response> {
    const options = await leanOptionsFromFetch(input, init);
    const response = await this.request(options);
    return webResponse(response, options.method ?? 'GET', response.transport);
  }

  async #attempt(options: InvokerRequestOptions, attempt: number): Promise<InvokerResponse> {
    const method = options.method ?? 'GET';
    const eligible = attempt === 1 && isEarlyDataEligible(method, options.headers ?? noHeaders, this.#policy);
    const key = poolKey(options);
    const drainingUntil = this.#draining.get(key);
    if (drainingUntil !== undefined) {
      if (drainingUntil > performance.now()) {
        throw new InvokerError('QFAAS_WORKER_DRAINING', `worker ${describeTarget(options)} is draining (it refused requests moments ago); the request was not sent`);
      }
      this.#draining.delete(key);
    }
    const signal = options.signal;
    if (signal?.aborted === true) throw signal.reason;
    // Our timeouts and the caller's signal abort the attempt through one object: no AbortController.
    const abort = new AttemptAbort();
    const onAbort = signal === undefined ? undefined : () => abort.abort(signal.reason);
    if (onAbort !== undefined) signal?.addEventListener('abort', onAbort, { once: true });
    let requestDeadline: Deadline | undefined;
    let connectDeadline: Deadline | undefined;
    if (this.#requestTimeoutMs > 0) {
      requestDeadline = this.#deadlines.add(this.#requestTimeoutMs, () =>
        abort.abort(new InvokerError('QFAAS_REQUEST_TIMEOUT', `no response from ${describeTarget(options)} within ${this.#requestTimeoutMs} ms`)),
      );
    }
    let pooled: PooledConnection | undefined;
    let sent = false;
    let earlyData = false;
    let listening = onAbort !== undefined;
    try {
      const existing = this.#pool.get(key);
      const reused = existing !== undefined && usable(existing);
      pooled = reused ? existing : await abort.wait(this.#dial(options, key));
      pooled.active++;
      pooled.lastUsed = performance.now();
      pooled.watch?.wake();
      const quic = pooled.quic;
      if (!quic.handshakeCompleted) {
        const h3 = pooled.h3;
        connectDeadline = this.#deadlines.add(this.#connectTimeoutMs, () => {
          if (quic.handshakeCompleted) return;
          // UDP has no "connection refused": silence is the only sign that nothing listens there.
          const silent = quic.stats().datagramsReceived === 0 ? ': nothing answered from that address (is the worker listening on that port?)' : '';
          abort.abort(new InvokerError('QFAAS_CONNECT_TIMEOUT', `no handshake with ${describeTarget(options)} within ${this.#connectTimeoutMs} ms${silent}`));
          h3.close(h3ErrorCodes.H3_NO_ERROR, 'connect timeout');
        });
        // A request that may not go in early data waits for the handshake: it is never in a 0-RTT packet.
        if (!(eligible && pooled.withSession)) await abort.wait(quic.handshake);
      }
      earlyData = !quic.handshakeCompleted;
      let headers = options.headers;
      if (earlyData) {
        // A nonce and our clock let the worker refuse a replay of this flight (docs/security.md).
        const mark = newEarlyDataMark();
        headers = [...flatHeaderList(headers), earlyNonceHeader, mark.nonce, earlyTimestampHeader, String(mark.timestamp)];
        this.#metrics.earlyDataRequests++;
      }
      if (reused) this.#metrics.reusedConnections++;
      sent = true;
      // The exchange holds the socket until its response body is read, failed or cancelled.
      this.#hold();
      const exchange: ClientExchange = pooled.h3.startRequest(
        {
          method,
          path: options.path ?? '/',
          authority: options.serverName,
          ...(headers === undefined ? {} : { headers }),
          ...(options.body === undefined ? {} : { body: options.body }),
        },
        // The caller's signal covers the body too: its listener goes once the exchange is over.
        onAbort === undefined ? this.#releaseOnSettled : () => {
          signal?.removeEventListener('abort', onAbort);
          this.#release();
        },
      );
      listening = false;
      abort.exchange = exchange;
      const data = await exchange.response;
      const handshake = quic.handshakeInfo ?? (await abort.wait(quic.handshake));
      const response = data as InvokerResponse;
      response.transport = {
        earlyDataAttempted: earlyData,
        resumed: handshake.resumed,
        reusedConnection: reused,
        handshakeMs: reused ? undefined : handshake.handshakeMs,
        attempts: attempt,
      };
      return response;
    } catch (error) {
      const cause: unknown = abort.reason ?? error;
      if (listening && onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
      // The caller's own abort is theirs to interpret.
      if (signal !== undefined && isAborted(signal) && cause === signal.reason) throw cause;
      if (refusal(cause)?.draining === true) this.#rememberDraining(key);
      throw describeFailure(cause, { ...options, sent, earlyData, peerUnreachable: pooled?.unreachable ?? false });
    } finally {
      requestDeadline?.cancel();
      connectDeadline?.cancel();
      if (pooled !== undefined) {
        pooled.active--;
        this.#touch(pooled);
        // The worker is going away: close once the bodies still streaming are done, so the worker
        // need not wait for its drain timeout.
        if (pooled.active === 0 && pooled.h3.goingAway) this.#retireGracefully(pooled);
      }
    }
  }

  /** Closes pooled connections that have no request in flight. */
  closeIdleConnections(): void {
    for (const pooled of [...this.#pool.values()]) if (pooled.active === 0) this.#retire(pooled);
  }

  /** Closes every connection and the socket; later calls to fetch reject. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const pooled of [...this.#pool.values()]) this.#retire(pooled);
    this.#deadlines.clear();
    if (this.#endpoint !== undefined) await (await this.#endpoint).close({ kind: 'application', code: h3ErrorCodes.H3_NO_ERROR });
  }

  metrics(): InvokerMetricsSnapshot {
    return this.#metrics.snapshot(this.#pool.size);
  }

  /** The metrics in Prometheus text format. */
  prometheusMetrics(): string {
    return prometheusText(this.metrics());
  }

  // ---- Pool -----------------------------------------------------------------------------------

  #rememberDraining(key: string): void {
    if (this.#rememberDrainingMs === 0) return;
    this.#draining.set(key, performance.now() + this.#rememberDrainingMs);
    // Bounded: expired marks go whenever a new one is set.
    if (this.#draining.size > this.#maxConnections) {
      const now = performance.now();
      for (const [k, until] of this.#draining) if (until <= now) this.#draining.delete(k);
    }
  }

  /** A new pooled connection, or the one another request is already dialing (one handshake for both). */
  async #dial(target: InvokerTarget, key: string): Promise<PooledConnection> {
    const existing = this.#pool.get(key);
    if (existing !== undefined && usable(existing)) return existing;
    if (existing !== undefined) this.#retire(existing);
    const pending = this.#dialing.get(key);
    if (pending !== undefined) {
      this.#metrics.coalescedDials++;
      return pending;
    }
    const dial = this.#open(key, target);
    this.#dialing.set(key, dial);
    try {
      return await dial;
    } finally {
      this.#dialing.delete(key);
    }
  }

  async #open(key: string, target: InvokerTarget): Promise<PooledConnection> {
    if (this.#pool.size >= this.#maxConnections) {
      const idle = [...this.#pool.values()].filter((p) => p.active === 0).sort((a, b) => a.lastUsed - b.lastUsed)[0];
      if (idle === undefined) throw new InvokerError('QFAAS_POOL_EXHAUSTED', `all ${this.#maxConnections} pooled connections are busy`);
      this.#retire(idle);
    }
    const [endpoint, stored] = await Promise.all([this.#socket(), this.#store.get(target.serverName)]);
    if (this.#closed) throw new InvokerError('QFAAS_INVOKER_CLOSED', 'the invoker is closed');
    const serverName = target.serverName;
    const settingsHolder: { settings: Http3PeerSettings | undefined } = { settings: stored?.settings };
    const quic = endpoint.connect({
      host: target.host,
      port: target.port,
      serverName,
      config: this.#config,
      ...(stored === undefined ? {} : { session: stored.session.reveal() }),
      onSessionTicket: (ticket) => {
        // A newer ticket replaces the stored one, with the SETTINGS known so far.
        void this.#store.set(serverName, this.#storedSession(ticket, settingsHolder.settings));
      },
    });
    const h3 = connectHttp3(quic, stored?.settings === undefined ? {} : { rememberedPeerSettings: stored.settings });
    const pooled: PooledConnection = {
      key,
      serverName,
      quic,
      h3,
      withSession: stored !== undefined,
      active: 0,
      lastUsed: performance.now(),
      idleCheck: undefined,
      settings: stored?.settings,
      watch: undefined,
      unreachable: false,
    };
    this.#pool.set(key, pooled);
    if (stored !== undefined) this.#metrics.zeroRttAttempted++;
    void quic.handshake.then(
      (info) => {
        this.#metrics.handshakes++;
        this.#watch(pooled);
        if (stored === undefined) return;
        if (info.earlyDataAccepted) this.#metrics.zeroRttAccepted++;
        else {
          this.#metrics.zeroRttRejected++;
          // The stale session goes; the worker's fresh ticket (onSessionTicket) takes its place.
          void this.#store.delete(serverName);
        }
      },
      () => undefined,
    );
    void h3.peerSettings.then((settings) => {
      settingsHolder.settings = settings;
      pooled.settings = settingsHolder.settings;
    });
    void h3.whenGoaway().then(() => {
      if (h3.goingAway && h3.closeError === undefined) this.#rememberDraining(key);
    });
    void h3.closed.then(() => {
      this.#unpool(pooled);
      pooled.watch?.stop();
    });
    return pooled;
  }

  /** Starts liveness probing of a connection whose handshake completed. */
  #watch(pooled: PooledConnection): void {
    if (this.#deadPeerTimeoutMs === 0 || pooled.h3.closeError !== undefined) return;
    const quic = pooled.quic;
    pooled.watch = new PeerWatch(
      {
        sample: () => {
          const stats = quic.stats();
          return { packetsReceived: stats.packetsReceived, rttMs: stats.rttMs };
        },
        ping: () => quic.ping(),
      },
      {
        deadPeerTimeoutMs: this.#deadPeerTimeoutMs,
        keepAliveMs: this.#keepAliveMs,
        // Also while a response body streams (the request itself already resolved).
        busy: () => pooled.active > 0 || pooled.h3.activeRequests > 0,
        onDead: (silentForMs) => {
          pooled.unreachable = true;
          this.#metrics.deadPeers++;
          this.#unpool(pooled);
          pooled.h3.close(h3ErrorCodes.H3_NO_ERROR, `peer unreachable: nothing heard for ${Math.round(silentForMs)} ms`);
        },
      },
    );
  }

  #storedSession(ticket: Uint8Array, settings: Http3PeerSettings | undefined): StoredSession {
    return {
      session: new Secret(ticket, 'session ticket'),
      expiresAt: Date.now() + this.#sessionLifetimeMs,
      ...(settings === undefined ? {} : { settings }),
    };
  }

  #socket(): Promise<QuicEndpoint> {
    // Send buffers as large as the datagrams its config sends (transport.maxUdpPayloadSize).
    const maxDatagramSize = Math.max(1500, configMaxUdpPayloadSize(this.#config));
    this.#endpoint ??= QuicEndpoint.bind({ host: this.#localAddress, port: 0, maxDatagramSize }).then((endpoint) => {
      this.#boundEndpoint = endpoint;
      if (this.#inFlight === 0) endpoint.unref();
      return endpoint;
    });
    return this.#endpoint;
  }

  /**
   * An idle invoker must not keep its process alive (a function's chain client, a CLI): the socket
   * is ref'd only while a request or a response body is in progress, as Node's agents do.
   */
  #hold(): void {
    if (this.#inFlight++ === 0) this.#boundEndpoint?.ref();
  }

  #release(): void {
    if (--this.#inFlight === 0) this.#boundEndpoint?.unref();
  }

  readonly #releaseOnSettled = (): void => this.#release();

  /**
   * Marks use; an idle connection gets one pending idle check, which closes it or, if it was used
   * since, checks again when the rest of the idle time has passed (no timer reset per request).
   */
  #touch(pooled: PooledConnection): void {
    pooled.lastUsed = performance.now();
    if (pooled.active === 0 && this.#idleTimeoutMs > 0 && pooled.idleCheck === undefined) this.#scheduleIdleCheck(pooled, this.#idleTimeoutMs);
  }

  #scheduleIdleCheck(pooled: PooledConnection, delayMs: number): void {
    pooled.idleCheck = this.#deadlines.add(delayMs, () => {
      pooled.idleCheck = undefined;
      if (pooled.active > 0) return;
      const idleFor = performance.now() - pooled.lastUsed;
      if (idleFor + 1 >= this.#idleTimeoutMs) this.#retire(pooled);
      else this.#scheduleIdleCheck(pooled, this.#idleTimeoutMs - idleFor);
    });
  }

  /** Takes a connection out of the pool, so no new request picks it. */
  #unpool(pooled: PooledConnection): void {
    if (this.#pool.get(pooled.key) === pooled) this.#pool.delete(pooled.key);
    pooled.idleCheck?.cancel();
    pooled.idleCheck = undefined;
  }

  #retireGracefully(pooled: PooledConnection): void {
    this.#unpool(pooled);
    void pooled.h3.shutdown({ timeoutMs: this.#requestTimeoutMs || 30_000 });
  }

  #retire(pooled: PooledConnection): void {
    this.#unpool(pooled);
    if (pooled.active === 0) pooled.h3.close();
    else void pooled.h3.shutdown({ timeoutMs: this.#requestTimeoutMs || 30_000 });
  }
}

function poolKey(target: InvokerTarget): string {
  return `${target.serverName}|${target.host}|${target.port}`;
}

function usable(pooled: PooledConnection): boolean {
  return pooled.h3.closeError === undefined && !pooled.h3.goingAway;
}

const noHeaders: Readonly<Record<string, string>> = Object.freeze({});

/** Read afresh (a signal checked earlier may have aborted since). */
const isAborted = (signal: AbortSignal): boolean => signal.aborted;

/**
 * One attempt's cancellation: the caller's signal and our timeouts end up here. Before the
 * request left it rejects what the attempt waits on; after, it cancels the HTTP/3 exchange.
 */
class AttemptAbort {
  reason: unknown;
  exchange: ClientExchange | undefined;
  #rejectWait: ((reason: unknown) => void) | undefined;

  abort(reason: unknown): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.exchange?.cancel(reason);
    this.#rejectWait?.(reason);
  }

  /** Waits for `promise` unless aborted first. */
  wait<T>(promise: Promise<T>): Promise<T> {
    if (this.reason !== undefined) return Promise.reject(this.reason);
    return new Promise<T>((resolve, reject) => {
      this.#rejectWait = reject;
      promise.then(
        (value) => {
          this.#rejectWait = undefined;
          resolve(value);
        },
        (error: unknown) => {
          this.#rejectWait = undefined;
          reject(error);
        },
      );
    });
  }
}


