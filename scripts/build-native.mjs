/**
 * npm run build:native — compiles the batched UDP addon (native/udp_batch.c, issue 17) with
 * node-gyp into build/Release/udp_batch.node, where node-gyp-build finds it. Linux only: elsewhere
 * it says so and exits 0 (the endpoint then uses node:dgram). Uses the Node.js headers installed
 * beside the running node when they are there (official tarballs and Docker images have them), so
 * nothing is downloaded; otherwise node-gyp fetches them. Needs a C compiler, make and python3.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
if (process.platform !== 'linux') {
  console.log(`build:native: the batched UDP addon is Linux-only; skipped on ${process.platform}`);
  process.exit(0);
}
const nodeGyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
const prefix = dirname(dirname(process.execPath));
const localHeaders = existsSync(join(prefix, 'include', 'node', 'node_api.h')) && existsSync(join(prefix, 'include', 'node', 'uv.h'));
const args = [nodeGyp, 'rebuild', '--loglevel=warn', ...(localHeaders ? [`--nodedir=${prefix}`] : [])];
const result = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
if (result.status !== 0) {
  console.error(`build:native: node-gyp failed (exit ${result.status ?? result.signal}); it needs gcc, make and python3`);
  process.exit(result.status ?? 1);
}
console.log('build:native: build/Release/udp_batch.node');
