import { randomUUID } from 'node:crypto';
import type { InvokerClient, InvokerResponse, InvokerTarget } from '../invoker-client/invoker-client.js';
import { earlyNonceHeader, earlyTimestampHeader } from '../replay-guard/early-data-headers.js';
import { guardForTicketKey } from '../replay-guard/guard-for-ticket-key.js';
import type { ReplayGuard, ReplayGuardOptions } from '../replay-guard/server-guard.js';
import type { CertificateAndKey, QuicTransportSettings } from '../transport/quic/config.js';
import type { HostPort } from '../transport/quic/connection-driver.js';
import type { Http3IncomingRequest, Http3RequestInfo, OutgoingResponse } from '../transport/h3/server-request.js';
import { admitEarlyRequest } from '../handler-server/request-pipeline.js';
import { createChainGatewayQuicConfig } from '../zero-rtt/worker-config.js';
import { deriveStatelessResetKey } from '../transport/quic/stateless-reset.js';
import { admissionOptions, type QuicAdmissionOptions } from '../transport/quic/endpoint.js';
import { createHttp3Server } from '../transport/h3/server.js';
import { checkRequestTarget } from '../handler-server/request-target.js';
import { BoundedQueue } from './async-queue.js';
import { chainGatewayDefaults } from './defaults.js';
import { chainHeaders } from './headers.js';
import { nonNegativeInteger, port as checkPort, positiveInteger } from '../option-checks.js';
import { defaultDrainTimeoutMs } from '../transport/h3/connection.js';

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
  /** Async invocations waiting at most; more get 429. 0 refuses every async call. @default 1000 */
  asyncQueueSize?: number;
  /** Async invocations running at once (at least 1). @default 16 */
  asyncConcurrency?: number;
  /** Anti-replay for early data, as on workers. @default new ReplayGuard() */
  replayGuard?: ReplayGuard | ReplayGuardOptions | false;
  /** @default `defaultTransportSettings` */
  transport?: QuicTransportSettings;
  /** Told about failed callbacks and platform errors. @default none */
  onError?: (error: unknown) => void;
}

/** Counters of the chain gateway: calls, refusals, platform errors, callbacks. */
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

/** A running chain gateway: address, metrics, async queue and graceful `close()`. */
export interface ChainGateway {
  readonly address: HostPort;
  metrics(): ChainGatewayMetrics;
  /** Resolves once every async call accepted so far has run (and its callback was attempted). */
  whenAsyncIdle(): Promise<void>;
  /** Drains like `createHttp3Server`'s close: up to `timeoutMs` (default 10_000) for calls in flight. */
  close(options?: { timeoutMs?: number }): Promise<void>;
}

/**
 * Headers that stay at the gateway. The replay-guard mark belongs to the caller's hop: forwarded,
 * it would sit beside the mark of the gateway's own 0-RTT hop and the worker could read neither.
 */
const forwardable = (name: string) =>
  ![
    'host',
    'connection',
    'keep-alive',
    'transfer-encoding',
    'upgrade',
    'te',
    chainHeaders.caller,
    chainHeaders.error,
    chainHeaders.callbackUrl,
    earlyNonceHeader,
    earlyTimestampHeader,
  ].includes(name);

/**
 * The gateway side of function chaining (QFaaS paper section 3.4): a QUIC/HTTP-3 server on the
 * gateway that authenticates the calling worker by its certificate, checks the allow-list, and
 * routes `/function/<name>` through the invoker to the worker `resolve` picks, or
 * `/async-function/<name>` to a bounded queue with optional callbacks.
 */
export async function createChainGateway(options: ChainGatewayOptions): Promise<ChainGateway> {
  const hopLimit = positiveInteger(options.hopLimit ?? chainGatewayDefaults.hopLimit, 'hopLimit');
  checkPort(options.port ?? 0, 'port', 'listen');
  const queue = new BoundedQueue(
    nonNegativeInteger(options.asyncQueueSize ?? chainGatewayDefaults.asyncQueueSize, 'asyncQueueSize'),
    // 0 would accept async calls and never run them.
    positiveInteger(options.asyncConcurrency ?? chainGatewayDefaults.asyncConcurrency, 'asyncConcurrency'),
  );
  const { guard, release: releaseGuard } = guardForTicketKey(options.replayGuard, options.credentials.ticketKey);
  const metrics = { calls: 0, asyncCalls: 0, earlyDataCalls: 0, refused: 0, hopLimitExceeded: 0, platformErrors: 0, callbacksDelivered: 0, callbacksFailed: 0 };

  /** The function that called, from its certificate (parsed once per connection by HTTP/3). */
  const callerOf = (info: Http3RequestInfo): ChainCaller | undefined => {
    const { commonName, organizationalUnit } = info.peerIdentity();
    const dot = commonName?.indexOf('.') ?? -1;
    if (commonName === undefined || organizationalUnit !== 'chain' || dot <= 0) return undefined;
    return { instanceId: commonName.slice(0, dot), functionName: commonName.slice(dot + 1) };
  };

  const platformError = (status: number, message: string): OutgoingResponse => {
    metrics.platformErrors++;
    // A flat list, like a forwarded response's headers: a call that arrived in early data gets its mark appended.
    return { statusCode: status, headers: [chainHeaders.error, 'platform'], body: `${message}\n` };
  };

  /** What a call forwards: method, the checked path for the worker, headers as received, body. */
  interface ForwardedCall {
    method: string;
    headerList: readonly (readonly [string, string])[];
    body: Uint8Array | AsyncIterable<Uint8Array> | undefined;
  }

  /** Calls the target function on behalf of the caller; the response carries the chain headers. */
  const invoke = async (target: string, call: ForwardedCall, caller: ChainCaller, callId: string, hops: number, rest: string): Promise<OutgoingResponse & { response?: InvokerResponse }> => {
    let where: InvokerTarget;
    try {
      where = await options.resolve(target);
    } catch (error) {
      options.onError?.(error);
      return platformError(503, `function "${target}" is not available`);
    }
    const headers: string[] = [];
    for (const [name, value] of call.headerList) if (forwardable(name) && name !== chainHeaders.callId && name !== chainHeaders.hops) headers.push(name, value);
    headers.push(chainHeaders.callId, callId, chainHeaders.hops, String(hops), chainHeaders.caller, `${caller.instanceId}.${caller.functionName}`);
    let response: InvokerResponse;
    try {
      response = await options.invoker.request({
        ...where,
        path: rest,
        method: call.method,
        headers,
        ...(call.body === undefined ? {} : { body: call.body }),
      });
    } catch (error) {
      options.onError?.(error);
      return platformError(502, `function "${target}" failed before answering`);
    }
    const out: string[] = [];
    let labelled = false;
    for (const [name, value] of response.headerList) {
      if (name === chainHeaders.callId) continue;
      if (name === chainHeaders.error) labelled = true;
      out.push(name, value);
    }
    out.push(chainHeaders.callId, callId);
    // A 5xx from the function itself is the function's error, not the platform's (Lambda's
    // FunctionError); a platform error from deeper in the chain keeps its label.
    if (response.statusCode >= 500 && !labelled) out.push(chainHeaders.error, 'function');
    return { statusCode: response.statusCode, headers: out, body: response.body, response };
  };

  const deliverCallback = async (url: string, callId: string, result: OutgoingResponse & { response?: InvokerResponse }) => {
    try {
      const body = result.response === undefined ? (typeof result.body === 'string' ? result.body : '') : await result.response.body.bytes();
      const contentType = result.response?.headers['content-type'] ?? 'application/octet-stream';
      const delivered = await fetch(url, {
        method: 'POST',
        headers: { [chainHeaders.callId]: callId, [chainHeaders.functionStatus]: String(result.statusCode), 'content-type': contentType },
        body,
        signal: AbortSignal.timeout(chainGatewayDefaults.callbackTimeoutMs),
      });
      await delivered.arrayBuffer();
      metrics.callbacksDelivered++;
    } catch (error) {
      metrics.callbacksFailed++;
      options.onError?.(error);
    }
  };

  const serve = async (request: Http3IncomingRequest, info: Http3RequestInfo, earlyData: boolean): Promise<OutgoingResponse> => {
    // The rest of the path goes on to a worker, possibly a proxy: it must stay a plain path there,
    // so it is checked as received (`:path`), not as a URL parser rewrote it.
    const rawPath = request.path;
    try {
      checkRequestTarget(rawPath);
    } catch {
      return { statusCode: 400, body: 'invalid request target\n' };
    }
    const queryAt = rawPath.indexOf('?');
    const pathname = queryAt === -1 ? rawPath : rawPath.slice(0, queryAt);
    const search = queryAt === -1 ? '' : rawPath.slice(queryAt);
    const match = /^\/(function|async-function)\/([a-z0-9]([a-z0-9-]*[a-z0-9])?)(\/.*)?$/.exec(pathname);
    if (match === null) return { statusCode: 404, body: 'not found: use /function/<name> or /async-function/<name>\n' };
    const [, kind, target, , restPath] = match as unknown as [string, string, string, string | undefined, string | undefined];
    const caller = callerOf(info);
    if (caller === undefined) {
      metrics.refused++;
      return { statusCode: 403, body: 'only function instances (chain certificates) may call here\n' };
    }
    if (options.allow !== undefined && !options.allow(caller, target)) {
      metrics.refused++;
      return { statusCode: 403, body: `"${caller.functionName}" may not call "${target}"\n` };
    }
    const hops = Number(request.headers[chainHeaders.hops] ?? '0') + 1;
    if (!Number.isInteger(hops) || hops > hopLimit) {
      metrics.hopLimitExceeded++;
      return { statusCode: 508, headers: { [chainHeaders.error]: 'platform' }, body: `chain exceeded the hop limit of ${hopLimit} (a recursive loop?)\n` };
    }
    const callId = request.headers[chainHeaders.callId] ?? randomUUID();
    const rest = `${restPath ?? '/'}${search}`;
    const bodyless = request.method === 'GET' || request.method === 'HEAD';
    if (kind === 'function') {
      metrics.calls++;
      if (earlyData) metrics.earlyDataCalls++;
      const result = await invoke(target, { method: request.method, headerList: request.headerList, body: bodyless ? undefined : request.body }, caller, callId, hops, rest);
      if (earlyData) (result.headers as string[]).push(chainHeaders.earlyData, '1');
      return { statusCode: result.statusCode, ...(result.headers === undefined ? {} : { headers: result.headers }), ...(result.body === undefined ? {} : { body: result.body }) };
    }
    metrics.asyncCalls++;
    const callbackUrl = request.headers[chainHeaders.callbackUrl];
    if (callbackUrl !== undefined && !/^https?:\/\//.test(callbackUrl)) {
      request.body.cancel();
      return { statusCode: 400, body: 'x-callback-url must be an http(s) URL\n' };
    }
    const body = bodyless ? undefined : await request.body.bytes();
    const call: ForwardedCall = { method: request.method, headerList: request.headerList, body };
    const accepted = queue.offer(async () => {
      const result = await invoke(target, call, caller, callId, hops, rest);
      if (callbackUrl !== undefined) await deliverCallback(callbackUrl, callId, result);
      else await result.response?.body.dump().catch(() => undefined);
    });
    if (!accepted) return { statusCode: 429, headers: { 'retry-after': '1', [chainHeaders.error]: 'platform' }, body: 'async queue is full\n' };
    return { statusCode: 202, headers: { [chainHeaders.callId]: callId } };
  };

  const server = await createHttp3Server({
    host: options.host ?? '0.0.0.0',
    port: options.port ?? 0,
    // A chain gateway restarted from the same credentials resets its predecessor's connections at once.
    statelessResetKey: deriveStatelessResetKey(options.credentials.ticketKey),
    // The config the generator minted the workers' gateway sessions against.
    config: createChainGatewayQuicConfig(options.credentials, options.transport === undefined ? {} : { transport: options.transport }),
    onRequest: async (request, info) => {
      let earlyData = info.earlyData;
      if (guard !== undefined && earlyData) {
        const admission = await admitEarlyRequest(guard, request, info);
        if (typeof admission === 'object') return admission;
        earlyData = admission === 'in-early-data';
      }
      if (guard === undefined) return serve(request, info, earlyData);
      return guard.run(request, () => serve(request, info, earlyData));
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
    async close({ timeoutMs = defaultDrainTimeoutMs } = {}) {
      await server.close({ timeoutMs });
      releaseGuard();
    },
  };
}
