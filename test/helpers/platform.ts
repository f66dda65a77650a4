import { afterAll, beforeAll } from 'vitest';
import {
  createHandlerServer,
  type HandlerServer,
  type HandlerServerOptions,
  type LeanRequestHandler,
  type RequestHandler,
} from '../../src/handler-server/index.js';
import { InvokerClient, type InvokerClientOptions } from '../../src/invoker-client/index.js';
import { createPlatformCA, MemoryTicketStore, ZeroRttGenerator, type IssuedCertificate, type PlatformCA, type Provisioned } from '../../src/zero-rtt/index.js';

export interface PlatformTestbed {
  readonly ca: PlatformCA;
  readonly generator: ZeroRttGenerator;
  readonly invokerCertificate: IssuedCertificate;
  /** A freshly provisioned (or the given) worker on loopback, closed after the block. */
  worker(
    handler: RequestHandler,
    extra?: Partial<HandlerServerOptions>,
    provisioned?: Provisioned,
  ): Promise<{ provisioned: Provisioned; server: HandlerServer; target: { serverName: string; host: string; port: number } }>;
  /** The same with a lean `onRequest` handler. */
  leanWorker(
    onRequest: LeanRequestHandler,
    extra?: Partial<HandlerServerOptions>,
    provisioned?: Provisioned,
  ): Promise<{ provisioned: Provisioned; server: HandlerServer; target: { serverName: string; host: string; port: number } }>;
  /** An invoker holding `provisioned`'s session (none when undefined), closed after the block. */
  invoker(provisioned: Provisioned | undefined, options?: Partial<InvokerClientOptions>): InvokerClient;
  /** A server or invoker made elsewhere, closed after the block. */
  track<T extends HandlerServer | InvokerClient>(item: T): T;
}

/**
 * For one describe block: a platform CA and a 0-RTT generator made once before its tests, and
 * every worker and invoker made through the testbed closed after them.
 */
export function usePlatformTestbed(): PlatformTestbed {
  let made: { ca: PlatformCA; generator: ZeroRttGenerator; invokerCertificate: IssuedCertificate } | undefined;
  const servers: HandlerServer[] = [];
  const invokers: InvokerClient[] = [];
  beforeAll(async () => {
    const ca = await createPlatformCA();
    const generator = new ZeroRttGenerator({ ca });
    made = { ca, generator, invokerCertificate: await generator.invokerCertificate() };
  });
  afterAll(async () => {
    await Promise.all(invokers.map((invoker) => invoker.close()));
    await Promise.all(servers.map((server) => server.close({ timeoutMs: 100 })));
  });
  const get = () => {
    if (made === undefined) throw new Error('the testbed is made in beforeAll: use it inside a test');
    return made;
  };
  const start = async (mode: Pick<HandlerServerOptions, 'handler' | 'onRequest'>, extra: Partial<HandlerServerOptions>, provisioned: Provisioned | undefined) => {
    const p = provisioned ?? (await get().generator.provision({ functionName: 'fn', instanceId: `i-${servers.length}`, hosts: ['127.0.0.1'] }));
    const server = await createHandlerServer({ credentials: p.worker, host: '127.0.0.1', ...mode, ...extra });
    servers.push(server);
    return { provisioned: p, server, target: { serverName: p.serverName, host: '127.0.0.1', port: server.address.port } };
  };
  return {
    get ca() {
      return get().ca;
    },
    get generator() {
      return get().generator;
    },
    get invokerCertificate() {
      return get().invokerCertificate;
    },
    worker: (handler, extra = {}, provisioned) => start({ handler }, extra, provisioned),
    leanWorker: (onRequest, extra = {}, provisioned) => start({ onRequest }, extra, provisioned),
    track(item) {
      if (item instanceof InvokerClient) invokers.push(item);
      else servers.push(item as HandlerServer);
      return item;
    },
    invoker(provisioned, options = {}) {
      const ticketStore = new MemoryTicketStore();
      if (provisioned !== undefined) ticketStore.set(provisioned.serverName, provisioned.session);
      const client = new InvokerClient({ ca: get().ca, certificate: get().invokerCertificate, ticketStore, ...options });
      invokers.push(client);
      return client;
    },
  };
}
