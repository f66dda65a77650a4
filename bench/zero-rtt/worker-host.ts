/**
 * Benchmark helper process: starts HTTP/3 workers from credentials sent over IPC (each a new
 * instance with its own ticket key, as a cold start would), answers with the port, and stops them
 * on request. Keeps the workers on their own core, away from the measuring client.
 */
import { createHttp3Server, type Http3Server } from '../../src/transport/index.js';
import { createWorkerQuicConfig, loadCredentials } from '../../src/zero-rtt/index.js';

const workers = new Map<number, Http3Server>();
const body = Buffer.alloc(100, 0x61);

process.on('message', (message: { start?: string; stop?: number }) => {
  void (async () => {
    if (message.start !== undefined) {
      const credentials = loadCredentials({ text: message.start });
      const server = await createHttp3Server({
        host: '127.0.0.1',
        config: createWorkerQuicConfig(credentials),
        handler: (_request, info) => new Response(body, { headers: { 'x-early-data': String(info.earlyData) } }),
      });
      workers.set(server.address.port, server);
      process.send?.({ port: server.address.port });
    } else if (message.stop !== undefined) {
      await workers.get(message.stop)?.close({ timeoutMs: 50 });
      workers.delete(message.stop);
      process.send?.({ stopped: message.stop });
    }
  })();
});
process.once('disconnect', () => {
  void Promise.all([...workers.values()].map((worker) => worker.close({ timeoutMs: 50 }))).then(() => process.exit(0));
});
