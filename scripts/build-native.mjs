/**
 * npm run build:native — compiles the batched UDP addon (native/udp_batch.c, issue 17) with
 * node-gyp into build/Release/udp_batch.node, then copies it to
 * prebuilds/linux-<arch>/node.napi.<libc>.node: the prebuilt binary the published package ships
 * (package.json "files"), which node-gyp-build finds in an installed package that has no build/.
 * The addon uses Node-API only (NAPI_VERSION 8), so the `napi` tag lets one binary serve every
 * Node.js ABI; the libc tag keeps a glibc build from being picked on musl. Linux only: elsewhere
 * it says so and exits 0 (the endpoint then uses node:dgram). Uses the Node.js headers installed
 * beside the running node when they are there (official tarballs and Docker images have them), so
 * nothing is downloaded; otherwise node-gyp fetches them. Needs a C compiler, make and python3.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
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
// The same libc test node-gyp-build makes when it picks a prebuild.
const libc = existsSync('/etc/alpine-release') ? 'musl' : 'glibc';
const prebuildDir = join(root, 'prebuilds', `linux-${process.arch}`);
const prebuild = join(prebuildDir, `node.napi.${libc}.node`);
mkdirSync(prebuildDir, { recursive: true });
// Copied beside it, then renamed over it: a test loading the prebuild meanwhile sees the old or the new file.
copyFileSync(join(root, 'build', 'Release', 'udp_batch.node'), `${prebuild}.tmp`);
renameSync(`${prebuild}.tmp`, prebuild);
// Nothing else there, so that node-gyp-build cannot pick a stale binary of another name.
for (const name of readdirSync(prebuildDir)) if (join(prebuildDir, name) !== prebuild) rmSync(join(prebuildDir, name), { recursive: true, force: true });
console.log(`build:native: build/Release/udp_batch.node, prebuilds/linux-${process.arch}/node.napi.${libc}.node`);
