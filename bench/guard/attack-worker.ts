/**
 * The worker attacked by `npm run bench:attack`, in its own process so that its memory is its own.
 * Started with --expose-gc; answers { rss, heapUsed, quic } to every 'stats' message ('gc' first
 * collects garbage), and closes on 'close'.
 */
import { createHandlerServer, type HandlerServer, type HandlerServerOptions } from '../../src/handler-server/index.js';
import { loadCredentials } from '../../src/zero-rtt/index.js';

type Setup = { credentials: string; admission: Pick<HandlerServerOptions, 'retry' | 'maxConnections' | 'maxHalfOpenConnections' | 'handshakeTimeoutMs'> };
type Command = { type: 'stats' | 'gc' | 'close' };

let server: HandlerServer | undefined;
const collect = (globalThis as { gc?: () => void }).gc;

process.on('message', async (message: Setup | Command) => {
  if ('credentials' in message) {
    server = await createHandlerServer({
      credentials: loadCredentials({ text: message.credentials }),
      host: '127.0.0.1',
      handler: () => new Response('still here'),
      ...message.admission,
    });
    process.send?.({ port: server.address.port });
    return;
  }
  if (message.type === 'close') {
    await server?.close({ timeoutMs: 100 });
    process.exit(0);
  }
  if (message.type === 'gc') {
    for (let i = 0; i < 3; i++) {
      collect?.();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  const memory = process.memoryUsage();
  const metrics = server?.metrics();
  process.send?.({ rss: memory.rss, heapUsed: memory.heapUsed, quic: metrics?.quic, inflight: metrics?.inflight, requests: metrics?.requests, headerSections: metrics?.headerSections });
});
process.once('disconnect', () => process.exit(0));
