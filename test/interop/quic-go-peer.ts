/**
 * Interop peer on quic-go (interop/peers/qgpeer, shared with the interop matrix): builds it with
 * Debian's Go toolchain and quic-go 0.29 sources (GOPATH mode, no module downloads), runs it as an
 * HTTP/3 server or client.
 *
 * Needs: apt-get install -y golang-go golang-github-lucas-clemente-quic-go-dev
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { buildQgpeer } from '../../interop/peers/quic-go.js';

const LISTEN_TIMEOUT_MS = 15_000;
const CLIENT_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;
/** Keep at most this much of a child's stderr for error messages. */
const STDERR_LIMIT = 64 * 1024;

/** What `qgpeer client -test get` and `-test headers` print. */
export interface QuicGoGetResult {
  status: number;
  headers: Record<string, string>;
  body: string;
  body_length: number;
  body_sha256: string;
}

/** What `qgpeer client -test post-sha` prints. */
export interface QuicGoPostShaResult {
  status: number;
  sent_sha256: string;
  sent_length: number;
  body: string;
  headers: Record<string, string>;
}

/** What `qgpeer client -test concurrent` prints. */
export interface QuicGoConcurrentResult {
  ok: number;
  statuses: number[];
  bodies: string[];
}

export interface QuicGoServer {
  port: number;
  stop(): Promise<void>;
}

export interface QuicGoServerOptions {
  binary: string;
  certFile: string;
  keyFile: string;
  caFile: string;
  clientAuth?: boolean;
}

export interface QuicGoClientOptions {
  binary: string;
  url: string;
  caFile: string;
  serverName: string;
  certFile?: string;
  keyFile?: string;
  test: string;
  args?: string[];
}

/** Bounded collector for a child's stderr. */
function collectStderr(child: ChildProcess): () => string {
  let text = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    text += chunk;
    if (text.length > STDERR_LIMIT) text = text.slice(text.length - STDERR_LIMIT);
  });
  return () => text.trim();
}

/**
 * Builds interop/peers/qgpeer into node_modules/.cache/qfaas-interop/qgpeer-<hash of the sources>
 * (skipped when that binary exists) and returns its path. Throws, with the compiler's output, when Go
 * or the quic-go package is missing or the build fails.
 */
export async function buildQuicGoPeer(): Promise<string> {
  return buildQgpeer();
}

function hasExited(child: ChildProcess): boolean {
  // pid is undefined when spawning failed (then 'error' fires and 'exit' may not).
  return child.pid === undefined || child.exitCode !== null || child.signalCode !== null;
}

/** Resolves once the child has exited and its stdio has closed (or it failed to spawn). */
function waitForClose(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('close', () => resolve());
    child.once('error', () => resolve());
  });
}

/**
 * Starts `qgpeer server` on 127.0.0.1 with an ephemeral UDP port and resolves once it prints
 * `LISTENING <port>`. The server also exits when its stdin closes, so it does not outlive this process.
 */
export async function startQuicGoServer(opts: QuicGoServerOptions): Promise<QuicGoServer> {
  const args = ['server', '-listen', '127.0.0.1:0', '-cert', opts.certFile, '-key', opts.keyFile, '-ca', opts.caFile];
  if (opts.clientAuth === true) args.push('-client-auth');
  const child = spawn(opts.binary, args, {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, QUIC_GO_DISABLE_RECEIVE_BUFFER_WARNING: 'true' },
  });
  const stderr = collectStderr(child);
  const closed = waitForClose(child);

  const stop = async (): Promise<void> => {
    if (!hasExited(child)) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await closed;
      clearTimeout(timer);
    }
    child.stdin?.destroy();
    child.stdout?.destroy();
    child.stderr?.destroy();
  };

  try {
    const port = await new Promise<number>((resolve, reject) => {
      let buffered = '';
      const fail = (why: string): void => {
        cleanup();
        const err = stderr();
        reject(new Error(`quic-go server ${why}${err !== '' ? `; stderr:\n${err}` : ' (no stderr)'}`));
      };
      const onData = (chunk: string): void => {
        buffered += chunk;
        const match = /^LISTENING (\d+)\s*$/m.exec(buffered);
        if (match?.[1] !== undefined) {
          cleanup();
          resolve(Number(match[1]));
        }
      };
      const onError = (err: Error): void => fail(`could not be started (${opts.binary}): ${err.message}`);
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
        fail(`exited before listening (${signal !== null ? `signal ${signal}` : `code ${String(code)}`})`);
      const timer = setTimeout(
        () => fail(`did not print "LISTENING <port>" within ${LISTEN_TIMEOUT_MS / 1000} s`),
        LISTEN_TIMEOUT_MS,
      );
      const cleanup = (): void => {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.off('error', onError);
        child.off('close', onExit);
      };
      child.stdout?.setEncoding('utf8');
      child.stdout?.on('data', onData);
      child.once('error', onError);
      child.once('close', onExit);
    });
    // Keep draining stdout so the child never blocks on a full pipe.
    child.stdout?.resume();
    return { port, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Runs one `qgpeer client` scenario (`test`: get, post-sha, concurrent, headers; extra flags in
 * `args`, e.g. ['-path', '/status/418']) and returns the JSON object it printed. Rejects with the
 * client's stderr when it exits non-zero (a transport-level failure) or takes longer than 30 s.
 */
export async function runQuicGoClient(opts: QuicGoClientOptions): Promise<unknown> {
  const args = ['client', '-url', opts.url, '-ca', opts.caFile, '-server-name', opts.serverName];
  if (opts.certFile !== undefined) args.push('-cert', opts.certFile);
  if (opts.keyFile !== undefined) args.push('-key', opts.keyFile);
  args.push('-test', opts.test, ...(opts.args ?? []));

  const child = spawn(opts.binary, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, QUIC_GO_DISABLE_RECEIVE_BUFFER_WARNING: 'true' },
  });
  const stderr = collectStderr(child);
  let stdout = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    stdout += chunk;
  });

  const describe = `quic-go client -test ${opts.test} (${opts.url})`;
  const withStderr = (msg: string): string => {
    const err = stderr();
    return `${msg}${err !== '' ? `; stderr:\n${err}` : ' (no stderr)'}`;
  };

  await new Promise<void>((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, CLIENT_TIMEOUT_MS);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${describe} could not be started (${opts.binary}): ${err.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        reject(new Error(withStderr(`${describe} timed out after ${CLIENT_TIMEOUT_MS / 1000} s`)));
      } else if (code !== 0) {
        const how = signal !== null ? `was killed by ${signal}` : `exited with code ${String(code)}`;
        reject(new Error(withStderr(`${describe} ${how}`)));
      } else {
        resolve();
      }
    });
  });

  const line = stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .pop();
  if (line === undefined) throw new Error(withStderr(`${describe} printed nothing`));
  try {
    return JSON.parse(line) as unknown;
  } catch (err) {
    throw new Error(withStderr(`${describe} printed no JSON (${String(err)}): ${line.slice(0, 200)}`));
  }
}
