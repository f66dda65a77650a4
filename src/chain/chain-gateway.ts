import { randomUUID, X509Certificate } from 'node:crypto';
import { QfaasConfigError } from '../errors.js';
import type { InvokerClient, InvokerTarget } from '../invoker-client/invoker-client.js';
import { guardForTicketKey } from '../replay-guard/guard-for-ticket-key.js';
import type { ReplayGuard, ReplayGuardOptions } from '../replay-guard/server-guard.js';
import { createQuicheConfig, type CertificateAndKey, type QuicTransportSettings } from '../transport/quic/config.js';
import type { QuicConnection } from '../transport/quic/connection.js';
import type { HostPort } from '../transport/quic/connection-driver.js';
import { deriveStatelessResetKey } from '../transport/quic/stateless-reset.js';
import { admissionOptions, type QuicAdmissionOptions } from '../transport/quic/endpoint.js';
import { createHttp3Server } from '../transport/h3/server.js';
import { checkRequestTarget } from '../handler-server/request-target.js';
import { BoundedQueue } from './async-queue.js';
import { chainHeaders, defaultHopLimit } from './headers.js';

/** What the chain gateway serves with: its certificate, the CA of its callers, its ticket key. */
export interface ChainGatewayCredentials {
  caPem: string;
  certificate: CertificateAndKey;
  /** 48 bytes; the 0-RTT generator mints the workers' gateway sessions with the same key. */
  ticketKey: Uint8Array;
}

/** The function that called, from its client certificate (`<instance>.<function>`, role chain). */
export interface ChainCaller {
  functionName: string;
  instanceId: string;
}

/** `retry`, `maxConnections`, `maxHalfOpenConnections`, `handshakeTimeoutMs`: the QUIC endpoint's, with its defaults. */
export interface ChainGatewayOptions extends QuicAdmissionOptions {
  credentials: ChainGatewayCredentials;
  /** Invokes the workers. */
  invoker: InvokerClient;
  /** Where a function runs now (the platform may start an instance here: a cold start). */
  resolve: (functionName: string) => InvokerTarget | Promise<InvokerTarget>;
  /** Which function may call which. @default everyone may call everything */
  allow?: (caller: ChainCaller, target: string) => boolean;
  /** @default '0.0.0.0' */
  host?: string;
  /** UDP port. @default 0 */
  port?: number;
  /** Chains deeper than this are refused (508). @default 16 */
  hopLimit?: number;
  /** Async invocations waiting at most; more get 429. @default 1000 */
  asyncQueueSize?: number;
  /** Async invocations running at once. @default 16 */
  asyncConcurrency?: number;
  /** Anti-replay for early data, as on workers. @default new ReplayGuard() */
  replayGuard?: ReplayGuard | ReplayGuardOptions | false;
  transport?: QuicTransportSettings;
  /** Told about failed callbacks and platform errors. */
  onError?: (error: unknown) => void;
}

export interface ChainGatewayMetrics {
  calls: number;
  asyncCalls: number;
  earlyDataCalls: number;
  refused: number;
  hopLimitExceeded: number;
  platformErrors: number;
  callbacksDelivered: number;
  callbacksFailed: number;
  asyncQueued: number;
}

export interface ChainGateway {
  readonly address: HostPort;
  metrics(): ChainGatewayMetrics;
  /** Resolves once every async call accepted so far has run (and its callback was attempted). */
  whenAsyncIdle(): Promise<void>;
  close(options?: { timeoutMs?: number }): Promise<void>;
}

const forwardable = (name: string) =>
  !['host', 'connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'te', chainHeaders.caller, chainHeaders.error, chainHeaders.callbackUrl].includes(name);

/**
 * The gateway side of function chaining (QFaaS paper section 3.4): a QUIC/HTTP-3 server on the
 * gateway that authenticates the calling worker by its certificate, checks the allow-list, and
 * routes `/function/<name>` through the invoker to the worker `resolve` picks, or
 * `/async-function/<name>` to a bounded queue with optional callbacks.
 */
export async function createChainGateway(options: ChainGatewayOptions): Promise<ChainGateway> {
  const hopLimit = options.hopLimit ?? defaultHopLimit;
  if (!Number.isInteger(hopLimit) || hopLimit < 1) throw new QfaasConfigError('hopLimit', 'must be a positive integer');
  const queue = new BoundedQueue(options.asyncQueueSize ?? 1000, options.asyncConcurrency ?? 16);
  const { guard, release: releaseGuard } = guardForTicketKey(options.replayGuard, options.credentials.ticketKey);
  const metrics = { calls: 0, asyncCalls: 0, earlyDataCalls: 0, refused: 0, hopLimitExceeded: 0, platformErrors: 0, callbacksDelivered: 0, callbacksFailed: 0 };
  const callers = new WeakMap<QuicConnection, ChainCaller | undefined>();

  const callerOf = (quic: QuicConnection): ChainCaller | undefined => {
    if (callers.has(quic)) return callers.get(quic);
    const der = quic.peerCertificateChain()?.[0];
    let caller: ChainCaller | undefined;
    if (der !== undefined) {
      const subject = new X509Certificate(der).subject;
      const cn = /^CN=(.*)$/m.exec(subject)?.[1];
      const role = /^OU=(.*)$/m.exec(subject)?.[1];
      const dot = cn?.indexOf('.') ?? -1;
      if (cn !== undefined && role === 'chain' && dot > 0) caller = { instanceId: cn.slice(0, dot), functionName: cn.slice(dot + 1) };
    }
    callers.set(quic, caller);
    return caller;
  };

  const platformError = (status: number, message: string) => {
    metrics.platformErrors++;
    return new Response(`${message}\n`, { status, headers: { [chainHeaders.error]: 'platform' } });
  };

  /** Calls the target function on behalf of the caller; the response carries the chain headers. */
  const invoke = async (target: string, request: Request, caller: ChainCaller, callId: string, hops: number, rest: string): Promise<Response> => {
    let where: InvokerTarget;
    try {
      where = await options.resolve(target);
    } catch (error) {
      options.onError?.(error);
      return platformError(503, `function "${target}" is not available`);
    }
    const headers = new Headers();
    for (const [name, value] of request.headers) if (forwardable(name)) headers.set(name, value);
    headers.set(chainHeaders.callId, callId);
    headers.set(chainHeaders.hops, String(hops));
    headers.set(chainHeaders.caller, `${caller.instanceId}.${caller.functionName}`);
    let response: Response;
    try {
      response = await options.invoker.fetch(
        { ...where, path: rest },
        { method: request.method, headers, ...(request.body === null ? {} : { body: request.body, duplex: 'half' }) } as RequestInit,
      );
    } catch (error) {
      options.onError?.(error);
      return platformError(502, `function "${target}" failed before answering`);
    }
    const out = new Headers(response.headers);
    out.set(chainHeaders.callId, callId);
    // A 5xx from the function itself is the function's error, not the platform's (Lambda's
    // FunctionError); a platform error from deeper in the chain keeps its label.
    if (response.status >= 500 && !out.has(chainHeaders.error)) out.set(chainHeaders.error, 'function');
    return new Response(response.body, { status: response.status, headers: out });
  };

  const deliverCallback = async (url: string, callId: string, response: Response) => {
    try {
      const result = await fetch(url, {
        method: 'POST',
        headers: { [chainHeaders.callId]: callId, [chainHeaders.functionStatus]: String(response.status), 'content-type': response.headers.get('content-type') ?? 'application/octet-stream' },
        body: await response.arrayBuffer(),
        signal: AbortSignal.timeout(10_000),
      });
      await result.arrayBuffer();
      metrics.callbacksDelivered++;
    } catch (error) {
      metrics.callbacksFailed++;
      options.onError?.(error);
    }
  };

  const serve = async (request: Request, rawPath: string, earlyData: boolean, quic: QuicConnection): Promise<Response> => {
    // The rest of the path goes on to a worker, possibly a proxy: it must stay a plain path there,
    // so it is checked as received (`:path`), not as a URL parser rewrote it.
    try {
      checkRequestTarget(rawPath);
    } catch {
      return new Response('invalid request target\n', { status: 400 });
    }
    const queryAt = rawPath.indexOf('?');
    const url = { pathname: queryAt === -1 ? rawPath : rawPath.slice(0, queryAt), search: queryAt === -1 ? '' : rawPath.slice(queryAt) };
    const match = /^\/(function|async-function)\/([a-z0-9]([a-z0-9-]*[a-z0-9])?)(\/.*)?$/.exec(url.pathname);
    if (match === null) return new Response('not found: use /function/<name> or /async-function/<name>\n', { status: 404 });
    const [, kind, target, , restPath] = match as unknown as [string, string, string, string | undefined, string | undefined];
    const caller = callerOf(quic);
    if (caller === undefined) {
      metrics.refused++;
      return new Response('only function instances (chain certificates) may call here\n', { status: 403 });
    }
    if (options.allow !== undefined && !options.allow(caller, target)) {
      metrics.refused++;
      return new Response(`"${caller.functionName}" may not call "${target}"\n`, { status: 403 });
    }
    const hops = Number(request.headers.get(chainHeaders.hops) ?? '0') + 1;
    if (!Number.isInteger(hops) || hops > hopLimit) {
      metrics.hopLimitExceeded++;
      return new Response(`chain exceeded the hop limit of ${hopLimit} (a recursive loop?)\n`, {
        status: 508,
        headers: { [chainHeaders.error]: 'platform' },
      });
    }
    const callId = request.headers.get(chainHeaders.callId) ?? randomUUID();
    const rest = `${restPath ?? '/'}${url.search}`;
    if (kind === 'function') {
      metrics.calls++;
      if (earlyData) metrics.earlyDataCalls++;
      const response = await invoke(target, request, caller, callId, hops, rest);
      if (earlyData) response.headers.set(chainHeaders.earlyData, '1');
      return response;
    }
    metrics.asyncCalls++;
    const body = request.body === null ? null : await request.arrayBuffer();
    const callbackUrl = request.headers.get(chainHeaders.callbackUrl);
    if (callbackUrl !== null && !/^https?:\/\//.test(callbackUrl)) return new Response('x-callback-url must be an http(s) URL\n', { status: 400 });
    const queued = new Request(request.url, { method: request.method, headers: request.headers, ...(body === null ? {} : { body }) });
    const accepted = queue.offer(async () => {
      const response = await invoke(target, queued, caller, callId, hops, rest);
      if (callbackUrl !== null) await deliverCallback(callbackUrl, callId, response);
      else await response.body?.cancel();
    });
    if (!accepted) return new Response('async queue is full\n', { status: 429, headers: { 'retry-after': '1', [chainHeaders.error]: 'platform' } });
    return new Response(null, { status: 202, headers: { [chainHeaders.callId]: callId } });
  };

  const server = await createHttp3Server({
    host: options.host ?? '0.0.0.0',
    port: options.port ?? 0,
    // A chain gateway restarted from the same credentials resets its predecessor's connections at once.
    statelessResetKey: deriveStatelessResetKey(options.credentials.ticketKey),
    config: createQuicheConfig({
      role: 'server',
      caPem: options.credentials.caPem,
      certificate: options.credentials.certificate,
      ticketKey: options.credentials.ticketKey,
      clientAuth: 'required',
      ...(options.transport === undefined ? {} : { transport: options.transport }),
    }),
    handlerFor: (quic) => async (request, info) => {
      let earlyData = info.earlyData;
      if (guard !== undefined && earlyData) {
        const verdict = await guard.check(request, true);
        if (verdict.action === 'respond') return verdict.response;
        if (verdict.action === 'defer') {
          await quic.handshake;
          earlyData = false;
        }
      }
      return serve(request, info.path, earlyData, quic);
    },
    ...admissionOptions(options),
  }).catch((error: unknown) => {
    releaseGuard();
    throw error;
  });

  return {
    address: server.address,
    metrics: () => ({ ...metrics, asyncQueued: queue.queued + queue.running }),
    whenAsyncIdle: () => queue.whenIdle(),
    async close({ timeoutMs = 5000 } = {}) {
      await server.close({ timeoutMs });
      releaseGuard();
    },
  };
}
