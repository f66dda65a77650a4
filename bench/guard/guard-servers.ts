/**
 * Servers for `npm run bench:guard`, in their own process: the same worker three times, without a
 * replay guard, with the in-memory strike register, and with the Redis one.
 */
import { createHandlerServer } from '../../src/handler-server/index.js';
import { RedisStrikeRegister } from '../../src/replay-guard/index.js';
import { loadCredentials } from '../../src/zero-rtt/index.js';

process.once('message', async (setup: { credentials: string; redisUrl: string }) => {
  const credentials = loadCredentials({ text: setup.credentials });
  const body = Buffer.alloc(100, 0x61);
  const handler = () => new Response(body);
  const start = (replayGuard: Parameters<typeof createHandlerServer>[0]['replayGuard']) =>
    createHandlerServer({ credentials, host: '127.0.0.1', handler, replayGuard });
  const none = await start(false);
  const memory = await start({});
  const redis = await start({ strikeRegister: new RedisStrikeRegister({ redis: setup.redisUrl }) });
  process.send?.({ none: none.address.port, memory: memory.address.port, redis: redis.address.port });
  process.once('disconnect', () => process.exit(0));
});
