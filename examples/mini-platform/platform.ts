/**
 * A small local FaaS platform built only from qfaas's public API:
 *   - an HTTP gateway for end users (node:http) and the chain gateway for function-to-function calls;
 *   - the invoker, with its ticket store;
 *   - workers as child processes started on demand (a cold start): before a worker starts, the
 *     0-RTT generator provisions its credentials (passed in its environment) and the invoker's
 *     session, so the first request to it is 0-RTT; idle workers scale to zero.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createChainGateway, type ChainCaller, type ChainGateway } from 'qfaas/chain';
import { checkRequestTarget } from 'qfaas/handler-server';
import { getResponseInfo, InvokerClient, type InvokerTarget } from 'qfaas/invoker-client';
import { createPlatformCA, encodeCredentials, MemoryTicketStore, ZeroRttGenerator } from 'qfaas/zero-rtt';
import { createHttpServer, HttpHopClient, type HttpHops } from './http-hops.js';

/** The gateway's client towards workers: the qfaas InvokerClient, or the HTTP(S) comparison. */
export interface HopClient {
  fetch(input: string, init: RequestInit & { connectTo: { host: string; port: number } }): Promise<Response>;
  closeIdleConnections(): void;
  close(): Promise<void>;
}

export interface MiniPlatformOptions {
  /** Stop a worker after this long without requests (scale to zero). @default 10_000 */
  idleMs?: number;
  /** Port of the end users' HTTP gateway. @default 0 */
  port?: number;
  /** Which function may call which. @default everyone may call everything */
  allow?: (caller: ChainCaller, target: string) => boolean;
  /**
   * The internal hops: QUIC with 0-RTT (qfaas), or for comparison HTTP/1.1 over TCP or HTTPS over
   * TCP+TLS 1.3 (node:http/https, keep-alive and TLS session resumption). @default 'quic'
   */
  hops?: 'quic' | HttpHops;
  /**
   * Where the gateway and the workers sit on the network. @default both on 127.0.0.1, workers in
   * this network namespace
   */
  network?: MiniPlatformNetwork;
  /**
   * Whether internal hops keep connections between calls ('kept': pooled, keep-alive) or open a
   * new one for every call ('new': the gateway and the functions drop idle connections before
   * each call, so each hop resumes its session: 0-RTT over QUIC, TLS resumption over HTTPS).
   * @default 'kept'
   */
  connections?: 'kept' | 'new';
}

/**
 * The platform's network: the gateway side (chain gateway, HTTP comparison gateway, gateway
 * certificate) and the worker side (workers are provisioned for, and listen on, `workerHost`).
 * Each host must be reachable from the other side: the end users' gateway stays on 127.0.0.1.
 */
export interface MiniPlatformNetwork {
  /** Address the chain gateway listens on and workers call. @default '127.0.0.1' */
  gatewayHost: string;
  /** Address workers listen on and the gateway calls. @default '127.0.0.1' */
  workerHost: string;
  /**
   * A network namespace (e.g. a delay link's, bench/link/delay-link.ts) to start the workers in,
   * with `ip netns exec` (needs root). @default none: workers run in this namespace
   */
  workerNamespace?: string;
}

interface Instance {
  child: ChildProcess;
  target: InvokerTarget;
  idleTimer: NodeJS.Timeout | undefined;
  active: number;
}

const workerScript = fileURLToPath(new URL('./worker.ts', import.meta.url));
const projectRoot = fileURLToPath(new URL('../../', import.meta.url));

export class MiniPlatform {
  readonly invoker: HopClient;
  readonly hops: 'quic' | HttpHops;
  /** The QUIC chain gateway (undefined in the HTTP comparison runs). */
  readonly chainGateway: ChainGateway | undefined;
  readonly #chainGatewayPort: number;
  readonly #closeChainGateway: () => Promise<void>;
  readonly #server: http.Server;
  readonly #generator: ZeroRttGenerator;
  readonly #store: MemoryTicketStore;
  readonly #idleMs: number;
  readonly #network: MiniPlatformNetwork;
  readonly connections: 'kept' | 'new';
  readonly #instances = new Map<string, Instance>();
  readonly #starting = new Map<string, Promise<Instance>>();
  #nextInstance = 1;
  /** Cold starts so far, by function. */
  readonly coldStarts = new Map<string, number>();

  private constructor(parts: {
    invoker: HopClient;
    hops: 'quic' | HttpHops;
    chainGateway: ChainGateway | undefined;
    chainGatewayPort: number;
    closeChainGateway: () => Promise<void>;
    server: http.Server;
    generator: ZeroRttGenerator;
    store: MemoryTicketStore;
    idleMs: number;
    network: MiniPlatformNetwork;
    connections: 'kept' | 'new';
  }) {
    this.invoker = parts.invoker;
    this.hops = parts.hops;
    this.chainGateway = parts.chainGateway;
    this.#chainGatewayPort = parts.chainGatewayPort;
    this.#closeChainGateway = parts.closeChainGateway;
    this.#server = parts.server;
    this.#generator = parts.generator;
    this.#store = parts.store;
    this.#idleMs = parts.idleMs;
    this.#network = parts.network;
    this.connections = parts.connections;
  }

  static async start(options: MiniPlatformOptions = {}): Promise<MiniPlatform> {
    const network: MiniPlatformNetwork = { gatewayHost: '127.0.0.1', workerHost: '127.0.0.1', ...options.network };
    const gatewayHost = network.gatewayHost;
    const ca = await createPlatformCA();
    const gatewayName = 'gateway.qfaas.internal';
    const gatewayCertificate = await ca.issue({ role: 'gateway', name: gatewayName, hosts: [gatewayHost] });
    const gatewayTicketKey = randomBytes(48);
    const bootstrap = new ZeroRttGenerator({ ca });
    const invokerCertificate = await bootstrap.invokerCertificate();
    const store = new MemoryTicketStore();
    const hops = options.hops ?? 'quic';
    let platform: MiniPlatform | undefined;
    let invoker: HopClient;
    let chainGateway: ChainGateway | undefined;
    let chainGatewayPort: number;
    let closeChainGateway: () => Promise<void>;
    if (hops === 'quic') {
      const quicInvoker = new InvokerClient({ ca, certificate: invokerCertificate, ticketStore: store });
      invoker = quicInvoker;
      chainGateway = await createChainGateway({
        credentials: { caPem: ca.certPem, certificate: gatewayCertificate, ticketKey: gatewayTicketKey },
        invoker: quicInvoker,
        host: gatewayHost,
        resolve: (name) => (platform as MiniPlatform).instanceFor(name),
        ...(options.allow === undefined ? {} : { allow: options.allow }),
      });
      chainGatewayPort = chainGateway.address.port;
      closeChainGateway = () => (chainGateway as ChainGateway).close({ timeoutMs: 500 });
    } else {
      const httpInvoker = new HttpHopClient(hops, { caPem: ca.certPem, certPem: invokerCertificate.certPem, keyPem: invokerCertificate.keyPem });
      invoker = httpInvoker;
      // The comparison's chain gateway only forwards: same routing, no QUIC.
      const gatewayServer = createHttpServer(hops, { caPem: ca.certPem, certPem: gatewayCertificate.certPem, keyPem: gatewayCertificate.keyPem }, async (request) => {
        const url = new URL(request.url);
        const name = /^\/function\/([a-z0-9-]+)$/.exec(url.pathname)?.[1];
        if (name === undefined) return new Response('use /function/<name>\n', { status: 404 });
        const target = await (platform as MiniPlatform).instanceFor(name);
        return httpInvoker.fetch(`https://${target.serverName}/${url.search}`, { method: request.method, headers: request.headers, ...(request.body === null ? {} : { body: request.body }), connectTo: target });
      });
      await new Promise<void>((resolve) => gatewayServer.listen(0, gatewayHost, () => resolve()));
      chainGatewayPort = (gatewayServer.address() as { port: number }).port;
      closeChainGateway = async () => {
        gatewayServer.closeAllConnections();
        await new Promise<void>((resolve) => gatewayServer.close(() => resolve()));
      };
    }
    const generator = new ZeroRttGenerator({
      ca,
      invokerCertificate,
      chainGateway: { serverName: gatewayName, host: gatewayHost, port: chainGatewayPort, certificate: gatewayCertificate, ticketKey: gatewayTicketKey },
    });
    const server = http.createServer((request, response) => void (platform as MiniPlatform).#serveEndUser(request, response));
    await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', () => resolve()));
    platform = new MiniPlatform({
      invoker,
      hops,
      chainGateway,
      chainGatewayPort,
      closeChainGateway,
      server,
      generator,
      store,
      idleMs: options.idleMs ?? 10_000,
      network,
      connections: options.connections ?? 'kept',
    });
    return platform;
  }

  /** The end users' gateway, e.g. http://127.0.0.1:8080/function/echo. */
  get url(): string {
    const address = this.#server.address() as { port: number };
    return `http://127.0.0.1:${address.port}`;
  }

  /** Running instances. */
  get running(): string[] {
    return [...this.#instances.keys()];
  }

  /**
   * The running instance of a function, started (cold) if there is none. With connections 'new',
   * the gateway's idle connections are dropped first, so the call that follows opens a new one.
   */
  async instanceFor(name: string): Promise<InvokerTarget> {
    const instance = this.#instances.get(name) ?? (await this.#coldStart(name));
    this.#touch(name, instance);
    // Every gateway→worker call (end user's or chained) asks for its target here, just before it.
    if (this.connections === 'new') this.invoker.closeIdleConnections();
    return instance.target;
  }

  /** Stops a function's instance now (what scale-to-zero does after idleMs). */
  stopInstance(name: string): void {
    const instance = this.#instances.get(name);
    if (instance === undefined) return;
    this.#instances.delete(name);
    clearTimeout(instance.idleTimer);
    instance.child.stdin?.end();
    setTimeout(() => instance.child.kill('SIGKILL'), 2000).unref();
  }

  /** Calls a function as the gateway does for an end user; the transport facts come along. */
  async invoke(name: string, init: RequestInit & { path?: string } = {}): Promise<Response> {
    const target = await this.instanceFor(name);
    const instance = this.#instances.get(name);
    if (instance !== undefined) instance.active++;
    try {
      return await this.invoker.fetch(`https://${target.serverName}${init.path ?? '/'}`, { ...init, connectTo: target });
    } finally {
      if (instance !== undefined) {
        instance.active--;
        this.#touch(name, instance);
      }
    }
  }

  /** Stops the gateways and every worker; resolves once the worker processes have exited. */
  async stop(): Promise<void> {
    const children = [...this.#instances.values()].map((instance) => instance.child);
    for (const name of [...this.#instances.keys()]) this.stopInstance(name);
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await this.#closeChainGateway();
    await this.invoker.close();
    // A worker exits on stdin EOF, or is killed 2 s later (stopInstance).
    await Promise.all(children.map((child) => (child.exitCode !== null || child.signalCode !== null ? undefined : new Promise((resolve) => child.once('exit', resolve)))));
  }

  #coldStart(name: string): Promise<Instance> {
    const pending = this.#starting.get(name);
    if (pending !== undefined) return pending;
    const starting = (async () => {
      const { gatewayHost, workerHost, workerNamespace } = this.#network;
      const provisioned = await this.#generator.provision({ functionName: name, instanceId: `i-${this.#nextInstance++}`, hosts: [workerHost] });
      // The invoker's session exists before the worker does: its first request will be 0-RTT.
      await this.#store.set(provisioned.serverName, provisioned.session);
      const env = encodeCredentials(provisioned.worker, 'env').trim();
      const node = [process.execPath, '--import', 'tsx', workerScript];
      // `ip netns exec` runs node itself in the namespace (same pid): stdin EOF and kill reach the worker.
      const [command, ...args] = (workerNamespace === undefined ? node : ['ip', 'netns', 'exec', workerNamespace, ...node]) as [string, ...string[]];
      const child = spawn(command, args, {
        cwd: projectRoot,
        env: {
          ...process.env,
          QFAAS_CREDENTIALS: env.slice(env.indexOf('=') + 1),
          QFAAS_HOPS: this.hops,
          QFAAS_WORKER_HOST: workerHost,
          QFAAS_CONNECTIONS: this.connections,
          QFAAS_CHAIN_GATEWAY: `${gatewayHost.includes(':') ? `[${gatewayHost}]` : gatewayHost}:${this.#chainGatewayPort}`,
        },
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      const port = await new Promise<number>((resolve, reject) => {
        let out = '';
        child.stdout?.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const match = /LISTENING (\d+)/.exec(out);
          if (match !== null) resolve(Number(match[1]));
        });
        child.once('exit', (code) => reject(new Error(`worker for ${name} exited with ${code} while starting`)));
      });
      const instance: Instance = { child, target: { serverName: provisioned.serverName, host: workerHost, port }, idleTimer: undefined, active: 0 };
      // A crashed or stopped worker is forgotten: the next request starts a new instance.
      child.once('exit', () => {
        if (this.#instances.get(name) === instance) this.#instances.delete(name);
        clearTimeout(instance.idleTimer);
      });
      this.#instances.set(name, instance);
      this.coldStarts.set(name, (this.coldStarts.get(name) ?? 0) + 1);
      return instance;
    })();
    this.#starting.set(name, starting);
    void starting.finally(() => this.#starting.delete(name)).catch(() => undefined);
    return starting;
  }

  #touch(name: string, instance: Instance): void {
    clearTimeout(instance.idleTimer);
    if (instance.active > 0) return;
    instance.idleTimer = setTimeout(() => this.stopInstance(name), this.#idleMs);
    instance.idleTimer.unref();
  }

  async #serveEndUser(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    // The rest of the path is forwarded to the worker: only a plain path (no "//host", "\\", "..",
    // absolute-form) may go on, or a proxy-mode worker could be steered to another host.
    let target: string;
    try {
      target = checkRequestTarget(request.url ?? '/');
    } catch {
      response.writeHead(400).end('invalid request target\n');
      return;
    }
    const url = new URL(target, 'http://gateway');
    const match = /^\/function\/([a-z0-9-]+)(\/.*)?$/.exec(url.pathname);
    if (match === null) {
      response.writeHead(404).end('use /function/<name>\n');
      return;
    }
    const [, name, rest] = match as unknown as [string, string, string | undefined];
    try {
      const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
      const headers = new Headers();
      for (const [key, value] of Object.entries(request.headers)) if (typeof value === 'string' && !['host', 'connection', 'transfer-encoding'].includes(key)) headers.set(key, value);
      const result = await this.invoke(name, {
        method: request.method ?? 'GET',
        headers,
        path: `${rest ?? '/'}${url.search}`,
        ...(hasBody ? { body: Readable.toWeb(request) as unknown as ReadableStream<Uint8Array>, duplex: 'half' } : {}),
      } as RequestInit & { path: string });
      const out: Record<string, string> = { 'x-qfaas-early-data': String(getResponseInfo(result)?.earlyData ?? false) };
      result.headers.forEach((value, key) => (out[key] = value));
      response.writeHead(result.status, out);
      if (result.body === null) response.end();
      else Readable.fromWeb(result.body as unknown as import('node:stream/web').ReadableStream<Uint8Array>).pipe(response);
    } catch (error) {
      if (!response.headersSent) response.writeHead(502, { 'x-qfaas-error': 'platform' });
      response.end(`function ${name} failed: ${(error as Error).message}\n`);
    }
  }
}
