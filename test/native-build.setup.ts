/**
 * Vitest global setup: builds the batched UDP addon (the endpoints' default datagram I/O) when it
 * is missing or older than its source, so that `npm test` on a fresh clone tests the default path.
 * Where it cannot be built (no gcc, make or python3; not Linux) it says so once and the endpoints
 * fall back to node:dgram; test/transport/batched-udp.test.ts then fails naming the missing build.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const sources = ['native/udp_batch.c', 'binding.gyp'];
const binary = 'build/Release/udp_batch.node';

function stale(): boolean {
  if (!existsSync(root + binary)) return true;
  const built = statSync(root + binary).mtimeMs;
  return sources.some((source) => statSync(root + source).mtimeMs > built);
}

export default function setup(): void {
  if (process.platform !== 'linux' || !stale()) return;
  const result = spawnSync(process.execPath, ['scripts/build-native.mjs'], { cwd: root, encoding: 'utf8' });
  if (result.status !== 0) {
    console.warn(`test setup: the batched UDP addon could not be built, endpoints fall back to node:dgram (${(result.stderr || result.stdout).trim().split('\n').pop() ?? ''})`);
  }
}
