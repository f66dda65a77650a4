import { execFile } from 'node:child_process';
import { access, copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));

/** Where `npm run build` (build:native) leaves the prebuilt addon, and so where the package has it. */
const prebuild = `prebuilds/linux-${process.arch}/node.napi.glibc.node`;

/**
 * A script in the app: two endpoints, the first with the default I/O and the second asking for
 * batched, one datagram to the first (not QUIC, so the endpoint counts and drops it), then which
 * I/O each got and what the first counted.
 */
const probe = `import dgram from 'node:dgram';
import { QuicEndpoint } from 'qfaas/transport';
const first = await QuicEndpoint.bind();
const second = await QuicEndpoint.bind({ io: 'batched' });
const sender = dgram.createSocket('udp4');
await new Promise((resolve, reject) => sender.send(Buffer.alloc(64, 1), first.address.port, '127.0.0.1', (error) => (error ? reject(error) : resolve())));
for (let waited = 0; first.stats().datagramsReceived === 0 && waited < 5000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
const stats = first.stats();
console.log(JSON.stringify({ io: [stats.io, second.stats().io], received: stats.datagramsReceived, nativeReceived: stats.batchedIo?.datagramsReceived ?? null }));
sender.close();
await first.close();
await second.close();
`;

/** The environment of the app's processes: none of the variables that steer the addon's loading. */
function appEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of ['QFAAS_UDP', 'PREBUILDS_ONLY', 'QFAAS_PREBUILD']) delete env[name];
  return env;
}

/** The fallback notice lines in a process's stderr. */
function fallbackNotices(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.includes('QFAAS_UDP_FALLBACK') || line.includes('batched UDP I/O unavailable'));
}

/**
 * The package as a user gets it: `npm pack` (its prepack builds dist/ and the prebuilt addon),
 * installed into a fresh app with a strict tsconfig and `skipLibCheck: false`. Needs the npm
 * registry or npm's cache for the package's dependencies and TypeScript, and Linux with a C
 * compiler for `npm run build` (the app itself compiles nothing).
 */
describe('the packed package in a fresh app', () => {
  let dir: string;
  let app: string;
  let tarball: string;
  let files: string[];
  /** What `npm install` of the tarball printed, with install scripts in the foreground. */
  let installOutput = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qfaas-packed-'));
    // What prepack does, run first so that `npm pack`'s stdout is its JSON alone.
    await run('npm', ['run', 'build'], { cwd: root, maxBuffer: 16 * 1024 * 1024 });
    const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: root, maxBuffer: 16 * 1024 * 1024 });
    const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    if (packed === undefined) throw new Error('npm pack printed nothing');
    tarball = join(dir, packed.filename);
    files = packed.files.map((file) => file.path);
    app = join(dir, 'app');
    await run('mkdir', ['-p', app]);
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'fresh-app', private: true, type: 'module' }));
    // --foreground-scripts: any install script would print here; the package has none ("gypfile": false).
    const install = await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts', tarball, 'typescript@5', '@types/node@20'], {
      cwd: app,
      maxBuffer: 16 * 1024 * 1024,
    });
    installOutput = install.stdout + install.stderr;
  }, 300_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('holds what its README and docs link to, and source maps carry their sources', async () => {
    const missing: string[] = [];
    for (const page of files.filter((file) => file === 'README.md' || (file.startsWith('docs/') && file.endsWith('.md')))) {
      const text = await readFile(join(root, page), 'utf8');
      for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (target === undefined || /^[a-z]+:/.test(target)) continue;
        const path = normalize(join(dirname(page), target));
        if (!files.includes(path) && !files.some((file) => file.startsWith(`${path}/`))) missing.push(`${page} → ${target}`);
      }
    }
    expect(missing).toEqual([]);
    // A stack trace through dist/ maps to source text inside the map, not to src/ files the package lacks.
    const maps = files.filter((file) => file.endsWith('.js.map'));
    expect(maps.length).toBeGreaterThan(0);
    for (const map of maps) {
      const { sources, sourcesContent } = JSON.parse(await readFile(join(root, map), 'utf8')) as { sources: string[]; sourcesContent?: Array<string | null> };
      expect(sourcesContent?.length, map).toBe(sources.length);
      expect(sourcesContent?.every((content) => typeof content === 'string' && content.length > 0), map).toBe(true);
    }
    expect(files.some((file) => file.startsWith('src/') || file.startsWith('test/') || file.startsWith('bench/'))).toBe(false);
  });

  it('type-checks the platform quickstart with skipLibCheck: false, then runs it with plain node', async () => {
    await copyFile(join(root, 'examples/platform-quickstart.ts'), join(app, 'quickstart.ts'));
    await writeFile(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          skipLibCheck: false,
          types: ['node'],
          outDir: 'out',
        },
        files: ['quickstart.ts'],
      }),
    );
    // tsc prints its errors on stdout; a failure rejects with them in the message.
    await run(join(app, 'node_modules/.bin/tsc'), ['-p', app], { cwd: app }).catch((error: { stdout?: string }) => {
      throw new Error(`tsc failed:\n${error.stdout ?? String(error)}`);
    });
    const { stdout } = await run(process.execPath, [join(app, 'out/quickstart.js')], { cwd: app, timeout: 30_000 });
    expect(stdout.trim().split('\n').at(-1)).toBe('hello, WORLD! (early data: true)');
  }, 240_000);

  it('ships the prebuilt linux binary of the batched UDP addon, and installing compiles nothing', async () => {
    expect(files).toContain(prebuild);
    expect(files.some((file) => file.startsWith('build/') || file.startsWith('native/') || file === 'binding.gyp')).toBe(false);
    await access(join(app, 'node_modules/qfaas', prebuild));
    await expect(access(join(app, 'node_modules/qfaas/build'))).rejects.toThrow();
    expect(installOutput).not.toMatch(/node-gyp|gyp info|\bcc\b|gcc/);
  });

  it('loads the prebuilt addon from the installed package: batched I/O by default with no notice, and the quickstart over it', async () => {
    await writeFile(join(app, 'probe.mjs'), probe);
    const env = appEnv();
    const { stdout, stderr } = await run(process.execPath, [join(app, 'probe.mjs')], { cwd: app, env, timeout: 30_000 });
    expect(JSON.parse(stdout.trim())).toEqual({ io: ['batched', 'batched'], received: 1, nativeReceived: 1 });
    expect(fallbackNotices(stderr)).toEqual([]);
    // A whole platform on it, by default: the gateway and both workers on batched I/O.
    const quickstart = await run(process.execPath, [join(app, 'out/quickstart.js')], { cwd: app, env, timeout: 30_000 });
    expect(quickstart.stdout.trim().split('\n').at(-1)).toBe('hello, WORLD! (early data: true)');
    expect(fallbackNotices(quickstart.stderr)).toEqual([]);
  }, 60_000);

  // Last: it removes the binary from the installed package.
  it('without the binary, the same script runs over node:dgram and says so in exactly one line', async () => {
    await rm(join(app, 'node_modules/qfaas/prebuilds'), { recursive: true });
    const env = appEnv();
    const { stdout, stderr } = await run(process.execPath, [join(app, 'probe.mjs')], { cwd: app, env, timeout: 30_000 });
    expect(JSON.parse(stdout.trim())).toEqual({ io: ['dgram', 'dgram'], received: 1, nativeReceived: null });
    const notices = fallbackNotices(stderr);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/batched UDP I\/O unavailable, using node:dgram \(No native build was found/);
    // Asking for node:dgram is not a fallback: no notice.
    const script = "import { QuicEndpoint } from 'qfaas/transport'; const e = await QuicEndpoint.bind(); console.log(e.stats().io); await e.close();";
    const chosen = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: app, env: { ...env, QFAAS_UDP: 'dgram' }, timeout: 30_000 });
    expect(chosen.stdout.trim()).toBe('dgram');
    expect(fallbackNotices(chosen.stderr)).toEqual([]);
  }, 60_000);
});
