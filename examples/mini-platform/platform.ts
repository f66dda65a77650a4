/**
 * A small local FaaS platform built only from qfaas's public API:
 *   - an HTTP gateway for end users (node:http) and the chain gateway for function-to-function calls;
 *   - the invoker, with its ticket store;
 *   - workers as child processes started on demand (a cold start): before a worker starts, the
 *     0-RTT generator provisions its credentials (passed in its environment) and the invoker's
 *     session, so the first request to it is 0-RTT; idle workers scale to zero.
 * Three parts can be replaced (a benchmark harness does, bench/platform/): where workers run
 * (`workers`), what the internal hops are made of (`hops`), and what happens just before each call
 * to a worker (`beforeWorkerCall`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { ChainCaller } from 'qfaas/chain';
import { checkRequestTarget } from 'qfaas/handler-server';
import { getResponseInfo, type InvokerTarget } from 'qfaas/invoker-client';
import { createPlatformCA, credentialsEnvValue, MemoryTicketStore, ZeroRttGenerator } from 'qfaas/zero-rtt';
import type { GatewayHops, GatewayHopsFactory } from './hops.js';
import { startQuicHops, type QuicHops } from './quic-hops.js';
import { localWorkers, type WorkerPlacement } from './worker-placement.js';

export interface MiniPlatformOptions<H extends GatewayHops = QuicHops> {
  /** Stop a worker after this long without requests (scale to zero). @default 10_000 */
  idleMs?: number;
  /** Port of the end users' HTTP gateway. @default 0 */
  port?: number;
  /** Which function may call which. @default everyone may call everything */
  allow?: (caller: ChainCaller, target: string) => boolean;
  /** Where workers run and the addresses of both sides. @default localWorkers: child processes, all on 127.0.0.1 */
  workers?: WorkerPlacement;
  /** Starts the internal hops (the gateway's client and the chain gateway). @default startQuicHops: QUIC with 0-RTT */
  hops?: GatewayHopsFactory<H>;
  /**
   * Called just before every call to a worker (an end user's or a chained one), once the worker is
   * running, e.g. to drop idle connections so that every call opens a new one. @default nothing
   */
  beforeWorkerCall?: (hops: GatewayHops) => void;
}

interface Instance {
  child: ChildProcess;
  target: InvokerTarget;
  idleTimer: NodeJS.Timeout | undefined;
  active: number;
}

const projectRoot = fileURLToPath(new URL('../../', import.meta.url));

export class MiniPlatform<H extends GatewayHops = QuicHops> {
  /** The internal hops: the gateway's client towards workers and the chain gateway. */
  readonly hops: H;
  readonly #server: http.Server;
  readonly #generator: ZeroRttGenerator;
  readonly #store: MemoryTicketStore;
  readonly #idleMs: number;
  readonly #workers: WorkerPlacement;
  readonly #beforeWorkerCall: ((hops: GatewayHops) => void) | undefined;
  readonly #instances = new Map<string, Instance>();
  readonly #starting = new Map<string, Promise<Instance>>();
  #nextInstance = 1;
  /** Cold starts so far, by function. */
  readonly coldStarts = new Map<string, number>();

  private constructor(parts: {
    hops: H;
    server: http.Server;
    generator: ZeroRttGenerator;
    store: MemoryTicketStore;
    idleMs: number;
    workers: WorkerPlacement;
    beforeWorkerCall: ((hops: GatewayHops) => void) | undefined;
  }) {
    this.hops = parts.hops;
    this.#server = parts.server;
    this.#generator = parts.generator;
    this.#store = parts.store;
    this.#idleMs = parts.idleMs;
    this.#workers = parts.workers;
    this.#beforeWorkerCall = parts.beforeWorkerCall;
  }

  static start(options?: MiniPlatformOptions): Promise<MiniPlatform>;
  static start<H extends GatewayHops>(options: MiniPlatformOptions<H> & { hops: GatewayHopsFactory<H> }): Promise<MiniPlatform<H>>;
  // Without `hops`, the first signature makes the hops QuicHops; with them, the second types the platform by them.
  static async start(options: MiniPlatformOptions<GatewayHops> = {}): Promise<MiniPlatform<GatewayHops>> {
    const startHops = options.hops ?? startQuicHops;
    const workers = options.workers ?? localWorkers;
    const gatewayHost = workers.gatewayHost;
    const ca = await createPlatformCA();
    const gatewayName = 'gateway.qfaas.internal';
    const gatewayCertificate = await ca.issue({ role: 'gateway', name: gatewayName, hosts: [gatewayHost] });
    const gatewayTicketKey = randomBytes(48);
    const bootstrap = new ZeroRttGenerator({ ca });
    const invokerCertificate = await bootstrap.invokerCertificate();
    const store = new MemoryTicketStore();
    let platform: MiniPlatform<GatewayHops> | undefined;
    const hops = await startHops({
      ca,
      invokerCertificate,
      gateway: { host: gatewayHost, certificate: gatewayCertificate, ticketKey: gatewayTicketKey },
      ticketStore: store,
      resolve: (name) => (platform as MiniPlatform<GatewayHops>).instanceFor(name),
      ...(options.allow === undefined ? {} : { allow: options.allow }),
    });
    const generator = new ZeroRttGenerator({
      ca,
      invokerCertificate,
      chainGateway: { serverName: gatewayName, host: gatewayHost, port: hops.chainPort, certificate: gatewayCertificate, ticketKey: gatewayTicketKey },
    });
    const server = http.createServer((request, response) => void (platform as MiniPlatform<GatewayHops>).#serveEndUser(request, response));
    await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', () => resolve()));
    platform = new MiniPlatform({
      hops,
      server,
      generator,
      store,
      idleMs: options.idleMs ?? 10_000,
      workers,
      beforeWorkerCall: options.beforeWorkerCall,
    });
    return platform;
  }

  /** The gateway's client towards workers. */
  get invoker(): H['client'] {
    return this.hops.client;
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

  /** The running instance of a function, started (cold) if there is none. */
  async instanceFor(name: string): Promise<InvokerTarget> {
    const instance = this.#instances.get(name) ?? (await this.#coldStart(name));
    this.#touch(name, instance);
    // Every gateway→worker call (end user's or chained) asks for its target here, just before it.
    this.#beforeWorkerCall?.(this.hops);
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
    await this.hops.close();
    // A worker exits on stdin EOF, or is killed 2 s later (stopInstance).
    await Promise.all(children.map((child) => (child.exitCode !== null || child.signalCode !== null ? undefined : new Promise((resolve) => child.once('exit', resolve)))));
  }

  #coldStart(name: string): Promise<Instance> {
    const pending = this.#starting.get(name);
    if (pending !== undefined) return pending;
    const starting = (async () => {
      const { workerHost, command } = this.#workers;
      const provisioned = await this.#generator.provision({ functionName: name, instanceId: `i-${this.#nextInstance++}`, hosts: [workerHost] });
      // The invoker's session exists before the worker does: its first request will be 0-RTT.
      await this.#store.set(provisioned.serverName, provisioned.session);
      const env = credentialsEnvValue(provisioned.worker);
      const [executable, ...args] = command;
      const child = spawn(executable, args, {
        cwd: projectRoot,
        env: { ...process.env, QFAAS_CREDENTIALS: env, QFAAS_WORKER_HOST: workerHost },
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
