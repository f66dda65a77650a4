import { describe, expect, it } from 'vitest';
import { createHandlerServer } from '../../src/handler-server/index.js';
import { InvokerClient } from '../../src/invoker-client/index.js';
import { createPlatformCA, MemoryTicketStore, ZeroRttGenerator } from '../../src/zero-rtt/index.js';
import { fetchTarget } from '../helpers/fetch-target.js';

describe('soak', () => {
  it('100,000 requests: resident memory grows by less than 30 MB after warm-up', async () => {
    const ca = await createPlatformCA();
    const generator = new ZeroRttGenerator({ ca });
    const provisioned = await generator.provision({ functionName: 'soak', instanceId: 'i-1', hosts: ['127.0.0.1'] });
    // Invoker and worker share this process, so its RSS covers both ends of the hop.
    const server = await createHandlerServer({
      credentials: provisioned.worker,
      host: '127.0.0.1',
      handler: async (request) => new Response(`ok ${request.headers.get('x-n')}`),
    });
    const ticketStore = new MemoryTicketStore();
    ticketStore.set(provisioned.serverName, provisioned.session);
    const client = new InvokerClient({ ca, certificate: await generator.invokerCertificate(), ticketStore });
    const target = { serverName: provisioned.serverName, host: '127.0.0.1', port: server.address.port };
    let sent = 0;
    let wrong = 0;
    const run = async (total: number) => {
      const goal = sent + total;
      await Promise.all(
        Array.from({ length: 50 }, async () => {
          while (sent < goal) {
            const n = String(sent++);
            const text = await (await fetchTarget(client, target, { headers: { 'x-n': n } })).text();
            if (text !== `ok ${n}`) wrong++;
          }
        }),
      );
    };
    // Collect garbage first, so that where the collector happens to be is not counted as growth.
    const settledRss = () => {
      const collect = (globalThis as { gc?: () => void }).gc;
      if (collect === undefined) throw new Error('the soak test needs --expose-gc (set in vitest.config.ts)');
      collect();
      collect();
      return process.memoryUsage().rss;
    };
    try {
      await run(10_000);
      const before = settledRss();
      await run(90_000);
      const growth = settledRss() - before;
      expect(wrong).toBe(0);
      expect(client.metrics().responses).toBe(100_000);
      expect(growth).toBeLessThan(30 * 1024 * 1024);
    } finally {
      await client.close();
      await server.close({ timeoutMs: 100 });
    }
  }, 240_000);
});
