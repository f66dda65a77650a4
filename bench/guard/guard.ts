/**
 * npm run bench:guard — what the replay guard costs:
 *   - a fresh-connection 0-RTT GET (session cached) to a worker without the guard, with the
 *     in-memory strike register, and with the Redis one, interleaved, as ratios to no guard;
 *   - heap used by 1,000,000 live nonces in the in-memory register.
 * Workers run in a child process; Redis is a real redis-server on loopback.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { getResponseInfo, InvokerClient } from '../../src/invoker-client/index.js';
import { MemoryStrikeRegister } from '../../src/replay-guard/index.js';
import { createPlatformCA, encodeCredentials, MemoryTicketStore, ZeroRttGenerator } from '../../src/zero-rtt/index.js';
import { fillWithNonces } from '../../test/helpers/nonces.js';
import { startRedis } from '../../test/helpers/redis.js';
import { reportResults, type ResultRow } from '../lib/report.js';
import { formatSummary, summarize, type Summary } from '../lib/stats.js';

const quick = process.argv.includes('--quick');
const samples = quick ? 60 : 300;

function memoryOfMillionNonces(): number {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) throw new Error('run with node --expose-gc (npm run bench:guard does)');
  collect();
  const before = process.memoryUsage().heapUsed;
  const register = new MemoryStrikeRegister();
  fillWithNonces(register, 1_000_000, 60_000);
  collect();
  const used = process.memoryUsage().heapUsed - before;
  if (register.size !== 1_000_000) throw new Error('register lost entries');
  return used;
}
const millionBytes = memoryOfMillionNonces();

const redis = await startRedis();
const ca = await createPlatformCA();
const generator = new ZeroRttGenerator({ ca });
const provisioned = await generator.provision({ functionName: 'guard', instanceId: 'i-1', hosts: ['127.0.0.1'] });
const child = fork(fileURLToPath(new URL('./guard-servers.ts', import.meta.url)), { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const ports = await new Promise<{ none: number; memory: number; redis: number }>((resolve) => {
  child.once('message', (message: { none: number; memory: number; redis: number }) => resolve(message));
  child.send({ credentials: encodeCredentials(provisioned.worker, 'json'), redisUrl: redis.url });
});

const store = new MemoryTicketStore();
store.set(provisioned.serverName, provisioned.session);
const invoker = new InvokerClient({ ca, certificate: await generator.invokerCertificate(), ticketStore: store, idleTimeoutMs: 0 });
const kinds = [
  ['no guard', ports.none],
  ['guard, in-memory strike register', ports.memory],
  ['guard, Redis strike register', ports.redis],
] as const;
async function freshGet(port: number): Promise<number> {
  invoker.closeIdleConnections();
  const started = performance.now();
  const response = await invoker.fetch(`https://${provisioned.serverName}/`, { connectTo: { host: '127.0.0.1', port } });
  await response.arrayBuffer();
  const ms = performance.now() - started;
  if (getResponseInfo(response)?.earlyData !== true) throw new Error('the GET was not accepted in 0-RTT');
  return ms;
}
const times = new Map<string, number[]>(kinds.map(([name]) => [name, []]));
for (let i = 0; i < 20; i++) for (const [, port] of kinds) await freshGet(port);
for (let i = 0; i < samples; i++) {
  for (let k = 0; k < kinds.length; k++) {
    const [name, port] = kinds[(i + k) % kinds.length] as (typeof kinds)[number];
    times.get(name)?.push(await freshGet(port));
  }
}
await invoker.close();
child.disconnect();
await redis.stop();

const summaries = new Map<string, Summary>([...times].map(([name, values]) => [name, summarize(values)]));
const base = (summaries.get('no guard') as Summary).median;
const rows: ResultRow[] = kinds.map(([name]) => [`fresh connection, 0-RTT GET, ${name}`, formatSummary(summaries.get(name) as Summary), '']);
rows.push(
  ['in-memory register / no guard (median)', ((summaries.get(kinds[1][0]) as Summary).median / base).toFixed(2), ''],
  ['Redis register / no guard (median)', ((summaries.get(kinds[2][0]) as Summary).median / base).toFixed(2), ''],
  ['heap used by 1,000,000 live nonces (MemoryStrikeRegister)', `${(millionBytes / 2 ** 20).toFixed(1)} MiB`, '≤ 100 MB'],
);
reportResults({
  section: 'bench:guard',
  title: 'Replay guard (`npm run bench:guard`)',
  description: `Workers in a child process, a real redis-server on loopback; ${samples} samples per row, rotated; each GET on a new connection resuming a cached session, sent in 0-RTT and checked by the worker's guard.`,
  rows,
  quick,
});
