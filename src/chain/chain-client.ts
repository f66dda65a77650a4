import { functionTarget } from './function-target.js';
import { QfaasConfigError } from '../errors.js';
import { InvokerClient, type InvokerResponse } from '../invoker-client/invoker-client.js';
import { headerValue, type HeadersLike, type ZeroRttPolicy } from '../replay-guard/policy.js';
import type { QuicTransportSettings } from '../transport/quic/config.js';
import { flatHeaderList, type OutgoingHeaders } from '../transport/h3/header-fields.js';
import type { BodyInput } from '../transport/h3/message-writer.js';
import { chainCredentialsEnvVar, loadChainCredentials, loadCredentials, type FunctionChainCredentials, type WorkerCredentials } from '../zero-rtt/credentials.js';
import { MemoryTicketStore } from '../zero-rtt/memory-ticket-store.js';
import { port as checkPort } from '../option-checks.js';
import { chainHeaders } from './headers.js';

/** Options of a chain client: the function's credentials and where the chain gateway is. */
export interface ChainClientOptions {
  /**
   * The worker's credentials, or only their chain part (`loadChainCredentials()`); `chain` holds
   * the gateway name, certificate and session.
   */
  credentials: WorkerCredentials | FunctionChainCredentials;
  /** Where the chain gateway listens. @default credentials.chain.gatewayHost / gatewayPort */
  gateway?: { host: string; port: number };
  /** Which calls may go in 0-RTT. @default 'idempotent' */
  zeroRtt?: ZeroRttPolicy;
  /** @default `defaultTransportSettings` */
  transport?: QuicTransportSettings;
  /** Per-call timeout for the response header section. @default 30_000 */
  requestTimeoutMs?: number;
}

/** A chained call: fetch's options and the request that caused it (`parent`), for the call id. */
export interface InvokeInit extends RequestInit {
  /** The request this function is serving: its call id and hop count carry over to the callee. */
  parent?: Request | Headers;
}

/** The lean form's options (undici's `request()` style): no web objects are built. */
export interface ChainRequestOptions {
  /** @default 'GET' */
  method?: string;
  /** @default none */
  headers?: OutgoingHeaders;
  /** @default none: no body */
  body?: BodyInput;
  /** @default none */
  signal?: AbortSignal;
  /** The request this function is serving (lean or web): its call id and hop count carry over. @default none: a new call id */
  parent?: { headers: HeadersLike } | Headers;
}

/** A chained call that runs later: `invoke`'s options and where to POST the result. */
export interface InvokeAsyncInit extends InvokeInit {
  /** Where the gateway POSTs the result (OpenFaaS X-Callback-Url). */
  callbackUrl?: string;
}

/** True when the platform failed the call (no instance, worker crashed, hop limit, queue full). */
export function isPlatformError(response: Response): boolean {
  return response.headers.get(chainHeaders.error) === 'platform';
}

/** True when the called function itself answered with an error status (Lambda's FunctionError). */
export function isFunctionError(response: Response): boolean {
  return response.headers.get(chainHeaders.error) === 'function';
}

/** The call id of a chain response (also of a 202 from invokeAsync). */
export function callIdOf(response: Response): string | undefined {
  return response.headers.get(chainHeaders.callId) ?? undefined;
}

/**
 * Function code's way to call other functions through the gateway (QFaaS paper section 3.4), over
 * QUIC with the session the 0-RTT generator provisioned: a cold worker's first call is 0-RTT, and
 * the connection is reused across calls.
 */
export class ChainClient {
  readonly #invoker: InvokerClient;
  readonly #gatewayServerName: string;
  readonly #gateway: { host: string; port: number };

  constructor(options: ChainClientOptions) {
    const chain = options.credentials.chain;
    if (chain === undefined) throw new QfaasConfigError('credentials.chain', 'the worker was provisioned without chain credentials');
    const host = options.gateway?.host ?? chain.gatewayHost;
    const port = options.gateway?.port ?? chain.gatewayPort;
    if (host === undefined || port === undefined) throw new QfaasConfigError('gateway', 'the chain gateway address is unknown (credentials.chain has none)');
    checkPort(port, options.gateway?.port === undefined ? 'credentials.chain.gatewayPort' : 'gateway.port', 'connect');
    this.#gateway = { host, port };
    this.#gatewayServerName = chain.gatewayServerName;
    const ticketStore = new MemoryTicketStore();
    if (chain.session !== undefined) {
      ticketStore.set(chain.gatewayServerName, {
        session: chain.session,
        expiresAt: chain.sessionExpiresAt ?? Date.now() + 3600_000,
        ...(chain.settings === undefined ? {} : { settings: chain.settings }),
      });
    }
    this.#invoker = new InvokerClient({
      ca: options.credentials.caPem,
      certificate: { certPem: chain.certificate.certPem, keyPem: chain.certificate.keyPem.reveal() },
      ticketStore,
      zeroRtt: options.zeroRtt ?? 'idempotent',
      ...(options.transport === undefined ? {} : { transport: options.transport }),
      ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
    });
  }

  /**
   * Calls `functionName` synchronously (like Lambda's RequestResponse) and returns its response.
   * A path and query may follow the name (`'pricing/quote?currency=eur'`): the function sees them.
   */
  invoke(functionName: string, init: InvokeInit = {}): Promise<Response> {
    return this.#call('function', functionName, init);
  }

  /**
   * The lean form of {@link invoke}: method, headers and body as plain values, the response as
   * `{ statusCode, headers, body }` (read or `dump()` its body). What platform code on a hot path uses.
   */
  request(functionName: string, options: ChainRequestOptions = {}): Promise<InvokerResponse> {
    let path: string;
    try {
      path = functionTarget('function', functionName);
    } catch (error) {
      return Promise.reject(error);
    }
    const headers = flatHeaderList(options.headers);
    const parent = options.parent === undefined ? undefined : options.parent instanceof Headers ? options.parent : options.parent.headers;
    if (parent !== undefined) {
      for (const name of [chainHeaders.callId, chainHeaders.hops]) {
        const value = headerValue(parent, name);
        if (value !== undefined && headerValue(headers, name) === undefined) headers.push(name, value);
      }
    }
    return this.#invoker.request({
      serverName: this.#gatewayServerName,
      ...this.#gateway,
      path,
      ...(options.method === undefined ? {} : { method: options.method }),
      ...(headers.length === 0 ? {} : { headers }),
      ...(options.body === undefined ? {} : { body: options.body }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  }

  /**
   * Queues a call (like OpenFaaS /async-function/): resolves with 202 and the call id
   * (`callIdOf(response)`); the result goes to `callbackUrl` if given.
   */
  invokeAsync(functionName: string, init: InvokeAsyncInit = {}): Promise<Response> {
    const { callbackUrl, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (callbackUrl !== undefined) headers.set(chainHeaders.callbackUrl, callbackUrl);
    return this.#call('async-function', functionName, { ...rest, headers });
  }

  /** The pooled connection's metrics (0-RTT, reuse, latency). */
  metrics(): ReturnType<InvokerClient['metrics']> {
    return this.#invoker.metrics();
  }

  /**
   * Drops the connection to the gateway if no call is using it; the next call opens a new one,
   * resuming the last session (0-RTT under the zeroRtt policy). For platforms that do not keep
   * connections between invocations.
   */
  closeIdleConnections(): void {
    this.#invoker.closeIdleConnections();
  }

  close(): Promise<void> {
    return this.#invoker.close();
  }

  #call(kind: 'function' | 'async-function', functionName: string, init: InvokeInit): Promise<Response> {
    let path: string;
    try {
      path = functionTarget(kind, functionName);
    } catch (error) {
      return Promise.reject(error);
    }
    const { parent, ...requestInit } = init;
    const headers = new Headers(requestInit.headers);
    const parentHeaders = parent instanceof Request ? parent.headers : parent;
    for (const name of [chainHeaders.callId, chainHeaders.hops]) {
      const value = parentHeaders?.get(name);
      if (value !== null && value !== undefined && !headers.has(name)) headers.set(name, value);
    }
    return this.#invoker.fetch(`https://${this.#gatewayServerName}${path}`, { ...requestInit, headers, connectTo: this.#gateway });
  }
}

/** A chain client from explicit options. */
export function createChainClient(options: ChainClientOptions): ChainClient {
  return new ChainClient(options);
}

let fromEnvironment: ChainClient | undefined;

/**
 * The chain client configured from the worker's environment: `QFAAS_CHAIN_CREDENTIALS` (what
 * qfaas-watchdog gives a function process) or else `QFAAS_CREDENTIALS` (an in-process handler),
 * with chain credentials from the generator; and, when the credentials do not carry the gateway's address,
 * `QFAAS_CHAIN_GATEWAY` (`host:port`). Created on first use.
 */
export const chain = {
  invoke(functionName: string, init?: InvokeInit): Promise<Response> {
    return environmentClient().invoke(functionName, init);
  },
  invokeAsync(functionName: string, init?: InvokeAsyncInit): Promise<Response> {
    return environmentClient().invokeAsync(functionName, init);
  },
  /** The lean form of `invoke` (see {@link ChainClient.request}). */
  request(functionName: string, options?: ChainRequestOptions): Promise<InvokerResponse> {
    return environmentClient().request(functionName, options);
  },
  async close(): Promise<void> {
    await fromEnvironment?.close();
    fromEnvironment = undefined;
  },
};

function environmentClient(): ChainClient {
  if (fromEnvironment !== undefined) return fromEnvironment;
  const credentials = process.env[chainCredentialsEnvVar] ? loadChainCredentials() : loadCredentials();
  const address = process.env.QFAAS_CHAIN_GATEWAY;
  let gateway: { host: string; port: number } | undefined;
  if (address !== undefined && address !== '') {
    const match = /^(.+):(\d+)$/.exec(address);
    if (match === null) throw new QfaasConfigError('QFAAS_CHAIN_GATEWAY', 'must be host:port');
    gateway = { host: (match[1] as string).replace(/^\[|\]$/g, ''), port: checkPort(Number(match[2]), 'QFAAS_CHAIN_GATEWAY', 'connect') };
  }
  fromEnvironment = new ChainClient({ credentials, ...(gateway === undefined ? {} : { gateway }) });
  return fromEnvironment;
}
