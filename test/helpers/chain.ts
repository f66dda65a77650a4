import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { createChainClient, createChainGateway, type ChainClient, type ChainClientOptions, type ChainGateway, type ChainGatewayOptions } from '../../src/chain/index.js';
import { createHandlerServer, type HandlerServer, type LeanRequestHandler } from '../../src/handler-server/index.js';
import { InvokerClient } from '../../src/invoker-client/index.js';
import { createPlatformCA, MemoryTicketStore, ZeroRttGenerator, type PlatformCA, type Provisioned, type WorkerCredentials } from '../../src/zero-rtt/index.js';

export interface ChainWorker {
  server: HandlerServer;
  serverName: string;
  credentials: WorkerCredentials;
  /** The function's chain client (to the gateway of the testbed). */
  client: ChainClient;
}

export interface ChainTestbed {
  readonly ca: PlatformCA;
  readonly gateway: ChainGateway;
  /** The invoker the gateway forwards with. */
  readonly invoker: InvokerClient;
  /** Provisions and starts a lean worker for `name`, its handler given its own chain client. */
  deploy(name: string, handler: (client: ChainClient) => LeanRequestHandler): Promise<ChainWorker>;
  worker(name: string): ChainWorker;
  /** Another chain client for a deployed function (e.g. towards a relay), closed after the block. */
  client(name: string, options?: Partial<ChainClientOptions>): ChainClient;
  /** Another gateway with the same credentials and resolver, closed after the block. */
  extraGateway(options?: Partial<ChainGatewayOptions>): Promise<ChainGateway>;
  /** Provisions `name` for a worker started elsewhere (a child process); its session goes to the gateway's store. */
  provision(name: string): Promise<Provisioned>;
  /** Routes `name` to a worker started elsewhere. */
  route(name: string, target: { serverName: string; port: number }): void;
}

/**
 * For one describe block: a platform CA, a chain gateway on loopback (options as given), the
 * invoker it forwards with, and a generator whose workers hold sessions for that gateway; every
 * worker, client and gateway made through it is closed after the block.
 */
export function useChainTestbed(gatewayOptions: Partial<ChainGatewayOptions> = {}): ChainTestbed {
  let made: { ca: PlatformCA; gateway: ChainGateway; invoker: InvokerClient; generator: ZeroRttGenerator; ticketStore: MemoryTicketStore; credentials: ChainGatewayOptions['credentials'] } | undefined;
  const workers = new Map<string, ChainWorker>();
  const routes = new Map<string, { serverName: string; port: number }>();
  const clients: ChainClient[] = [];
  const gateways: ChainGateway[] = [];
  const resolve = (name: string) => {
    const route = routes.get(name);
    if (route !== undefined) return { ...route, host: '127.0.0.1' };
    const worker = workers.get(name);
    if (worker === undefined) throw new Error(`no function ${name}`);
    return { serverName: worker.serverName, host: '127.0.0.1', port: worker.server.address.port };
  };

  beforeAll(async () => {
    const ca = await createPlatformCA();
    const gatewayName = 'chain.gateway.qfaas.internal';
    const certificate = await ca.issue({ role: 'gateway', name: gatewayName, hosts: ['127.0.0.1'] });
    const ticketKey = randomBytes(48);
    const ticketStore = new MemoryTicketStore();
    const bootstrap = new ZeroRttGenerator({ ca });
    const invokerCertificate = await bootstrap.invokerCertificate();
    const invoker = new InvokerClient({ ca, certificate: invokerCertificate, ticketStore });
    const credentials = { caPem: ca.certPem, certificate, ticketKey };
    const gateway = await createChainGateway({ credentials, invoker, host: '127.0.0.1', resolve, ...gatewayOptions });
    gateways.push(gateway);
    const generator = new ZeroRttGenerator({
      ca,
      invokerCertificate,
      chainGateway: { serverName: gatewayName, host: '127.0.0.1', port: gateway.address.port, certificate, ticketKey },
    });
    made = { ca, gateway, invoker, generator, ticketStore, credentials };
  }, 30_000);

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await Promise.all([...workers.values()].map((worker) => worker.server.close({ timeoutMs: 100 })));
    await Promise.all(gateways.map((gateway) => gateway.close({ timeoutMs: 100 })));
    await made?.invoker.close();
  });

  const workerNamed = (name: string): ChainWorker => {
    const worker = workers.get(name);
    if (worker === undefined) throw new Error(`no function ${name}`);
    return worker;
  };
  const get = () => {
    if (made === undefined) throw new Error('the chain testbed is made in beforeAll: use it inside a test');
    return made;
  };

  return {
    get ca() {
      return get().ca;
    },
    get gateway() {
      return get().gateway;
    },
    get invoker() {
      return get().invoker;
    },
    async deploy(name, handler) {
      const { generator, ticketStore } = get();
      const provisioned = await generator.provision({ functionName: name, instanceId: 'i-1', hosts: ['127.0.0.1'] });
      await ticketStore.set(provisioned.serverName, provisioned.session);
      const client = createChainClient({ credentials: provisioned.worker });
      clients.push(client);
      const server = await createHandlerServer({ credentials: provisioned.worker, host: '127.0.0.1', onRequest: handler(client) });
      const worker = { server, serverName: provisioned.serverName, credentials: provisioned.worker, client };
      workers.set(name, worker);
      return worker;
    },
    worker: workerNamed,
    client(name, options = {}) {
      const client = createChainClient({ credentials: workerNamed(name).credentials, ...options });
      clients.push(client);
      return client;
    },
    async provision(name) {
      const { generator, ticketStore } = get();
      const provisioned = await generator.provision({ functionName: name, instanceId: 'i-1', hosts: ['127.0.0.1'] });
      await ticketStore.set(provisioned.serverName, provisioned.session);
      return provisioned;
    },
    route(name, target) {
      routes.set(name, target);
    },
    async extraGateway(options = {}) {
      const { credentials, invoker } = get();
      const gateway = await createChainGateway({ credentials, invoker, host: '127.0.0.1', resolve, ...gatewayOptions, ...options });
      gateways.push(gateway);
      return gateway;
    },
  };
}
