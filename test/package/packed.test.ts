import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The package as a user gets it: `npm pack` (its prepack builds dist/), installed into a fresh
 * app with a strict tsconfig and `skipLibCheck: false`. Needs the npm registry or npm's cache for
 * the package's dependencies and TypeScript.
 */
describe('the packed package in a fresh app', () => {
  let dir: string;
  let tarball: string;
  let files: string[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qfaas-packed-'));
    // What prepack does, run first so that `npm pack`'s stdout is its JSON alone.
    await run('npm', ['run', 'build'], { cwd: root, maxBuffer: 16 * 1024 * 1024 });
    const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: root, maxBuffer: 16 * 1024 * 1024 });
    const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    if (packed === undefined) throw new Error('npm pack printed nothing');
    tarball = join(dir, packed.filename);
    files = packed.files.map((file) => file.path);
  }, 180_000);

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
    const app = join(dir, 'app');
    await run('mkdir', ['-p', app]);
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'fresh-app', private: true, type: 'module' }));
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball, 'typescript@5', '@types/node@20'], { cwd: app, maxBuffer: 16 * 1024 * 1024 });
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
});
