/**
 * Go programs built against Debian's quic-go 0.29 sources (golang-go and
 * golang-github-lucas-clemente-quic-go-dev) in GOPATH mode, without module downloads: the
 * benchmarks' qgbench and the interop tests' and the interop matrix's qgpeer (interop/peers/qgpeer).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export const quicGoInstallHint = 'install the Debian packages: apt-get install -y golang-go golang-github-lucas-clemente-quic-go-dev';
const debianGopath = '/usr/share/gocode';
const quicGoSource = join(debianGopath, 'src', 'github.com', 'lucas-clemente', 'quic-go');
const buildTimeoutMs = 300_000;

/** Undefined when Go programs against quic-go can be built here, else why not. */
export function quicGoAvailable(): string | undefined {
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
  } catch {
    return `no Go toolchain ("go" is not on PATH); ${quicGoInstallHint}`;
  }
  if (!existsSync(join(quicGoSource, 'http3', 'server.go'))) return `quic-go sources not found in ${quicGoSource}; ${quicGoInstallHint}`;
  return undefined;
}

function mtimeMs(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

/**
 * Builds the Go program in `sourceDir` into `binaryPath` unless the binary is newer than every .go
 * file there; returns `binaryPath`. Throws with the reason (and the compiler's output) when Go or
 * quic-go is missing or the build fails.
 */
export function buildDebianGoProgram(sourceDir: string, binaryPath: string): string {
  const built = mtimeMs(binaryPath);
  const sources = readdirSync(sourceDir).filter((name) => name.endsWith('.go'));
  if (built !== undefined && sources.every((name) => (mtimeMs(join(sourceDir, name)) ?? Number.POSITIVE_INFINITY) < built)) return binaryPath;
  const name = basename(binaryPath);
  const missing = quicGoAvailable();
  if (missing !== undefined) throw new Error(`cannot build ${name}: ${missing}`);
  const cacheDir = dirname(binaryPath);
  mkdirSync(cacheDir, { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env };
  // GOPATH mode against Debian's packaged sources; no module flags may leak in.
  delete env.GOFLAGS;
  delete env.GOROOT;
  // Another process may build at the same time: build to a private name, then rename.
  const tmp = `${binaryPath}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    execFileSync('go', ['build', '-o', tmp, '.'], {
      cwd: sourceDir,
      // Pure Go: no C compiler needed (gcc is only a Recommends of golang-go).
      env: { ...env, GO111MODULE: 'off', GOPATH: debianGopath, GOCACHE: join(cacheDir, 'gocache'), GOPROXY: 'off', CGO_ENABLED: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: buildTimeoutMs,
    });
    renameSync(tmp, binaryPath);
  } catch (error) {
    const output = ['stdout', 'stderr']
      .map((stream) => (error as Record<string, Buffer | undefined>)[stream]?.toString().trim() ?? '')
      .filter((text) => text !== '')
      .join('\n');
    throw new Error(`go build of ${name} in ${sourceDir} failed (${quicGoInstallHint} if Go or quic-go is missing)${output === '' ? `: ${String(error)}` : `:\n${output}`}`);
  } finally {
    rmSync(tmp, { force: true });
  }
  return binaryPath;
}
