/**
 * quic-go HTTP/3 as a benchmark transport: the stack of the QFaaS paper, quic-go 0.29 from Debian,
 * through the Go program qgbench/main.go. Its server runs on loopback or inside a delay link's
 * namespace; one client process runs commands sent on its stdin and times each request itself, so
 * the times exclude the IPC around them.
 *
 * Needs: apt-get install -y golang-go golang-github-lucas-clemente-quic-go-dev
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { DelayLink } from '../link/delay-link.js';
import { buildDebianGoProgram } from './debian-go.js';

const here = dirname(fileURLToPath(import.meta.url));
const sourceDir = join(here, 'qgbench');
const binaryPath = join(here, '..', '..', 'node_modules', '.cache', 'qfaas-bench', 'qgbench');
const listenTimeoutMs = 15_000;
const stopGraceMs = 5_000;
const stderrLimit = 16 * 1024;
const childEnv = { ...process.env, QUIC_GO_DISABLE_RECEIVE_BUFFER_WARNING: 'true' };

/** A PEM string, or a `Secret` holding one (as in `ZeroRttGenerator` credentials). */
export type PemInput = string | { reveal(): string };

export interface QuicGoRigOptions {
  /** Run the server inside this link's namespace, on `link.insideAddress`. @default loopback */
  link?: DelayLink;
  caPem: string;
  /** The worker's certificate (role 'worker', valid for `serverName`). */
  server: { certPem: string; keyPem: PemInput };
  /** The client's certificate (role 'invoker'): the server requires one from the same CA. */
  client: { certPem: string; keyPem: PemInput };
  serverName: string;
  /**
   * Let the client keep the server's NEW_TOKEN tokens, so resumed connections skip the 3×
   * amplification limit (quic-go's http3 client does not by default). @default false
   */
  tokenStore?: boolean;
  /** A prebuilt qgbench. @default buildQgbench() */
  binary?: string;
}

/** One request; resolves to the time quic-go measured, dial to last body byte, in ms. */
export type QuicGoExchange = () => Promise<number>;

export interface QuicGoRig {
  readonly host: string;
  readonly port: number;
  readonly exchanges: {
    /** New connection, resumed session, GET / in 0-RTT. */
    zeroRttGet: QuicGoExchange;
    /** New connection, resumed session, POST / of 100 bytes after the handshake. */
    oneRttPost: QuicGoExchange;
    /** GET / on one long-lived connection. */
    warmGet: QuicGoExchange;
    /** New connection, resumed session, GET /1mib in 0-RTT. */
    largeZeroRttGet: QuicGoExchange;
    /** New connection without a session: a full handshake, then GET /. */
    coldGet: QuicGoExchange;
  };
  /** 0-RTT GETs since the last call whose connection did not use 0-RTT (TLS state, client side). */
  takeNotEarly(): number;
  /** 0-RTT GETs since the last call whose request the server did not receive in 0-RTT packets. */
  takeServerNotEarly(): number;
  /** The server's and the client's process ids (the server's is qgbench itself, also in a namespace). */
  readonly pids: { server: number; client: number };
  close(): Promise<void>;
}

export { quicGoAvailable } from './debian-go.js';

/** Builds qgbench when the binary is missing or older than its sources; returns its path. */
export function buildQgbench(): string {
  return buildDebianGoProgram(sourceDir, binaryPath);
}

function reveal(pem: PemInput): string {
  return typeof pem === 'string' ? pem : pem.reveal();
}

function collectStderr(child: ChildProcess): () => string {
  let text = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    text = (text + chunk).slice(-stderrLimit);
  });
  return () => text.trim();
}

function running(child: ChildProcess): boolean {
  return child.pid !== undefined && child.exitCode === null && child.signalCode === null;
}

/** Ends a child: closes its stdin, or signals it, then SIGKILL after a grace period. */
async function stop(child: ChildProcess, how: 'stdin' | 'SIGTERM'): Promise<void> {
  if (running(child)) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (how === 'stdin') child.stdin?.end();
    else child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), stopGraceMs);
    await exited;
    clearTimeout(timer);
  }
  child.stdin?.destroy();
  child.stdout?.destroy();
  child.stderr?.destroy();
}

function waitForListening(child: ChildProcess, stderr: () => string): Promise<number> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    const done = (error: Error | undefined, port?: number): void => {
      clearTimeout(timer);
      child.off('exit', onExit);
      child.off('error', onError);
      lines.close();
      if (error !== undefined) reject(error);
      else resolve(port as number);
    };
    const withStderr = (message: string): Error => {
      const text = stderr();
      return new Error(`qgbench server ${message}${text !== '' ? `; stderr:\n${text}` : ''}`);
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
      done(withStderr(`exited before listening (${signal ?? `code ${String(code)}`})`));
    const onError = (error: Error): void => done(withStderr(`could not start: ${error.message}`));
    const timer = setTimeout(() => done(withStderr(`printed no "LISTENING <port>" within ${listenTimeoutMs / 1000} s`)), listenTimeoutMs);
    lines.on('line', (line) => {
      const match = /^LISTENING (\d+)$/.exec(line.trim());
      if (match?.[1] !== undefined) done(undefined, Number(match[1]));
    });
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

interface Reply {
  ms: number;
  used0Rtt: boolean;
  /** Whether the server saw the request's first bytes in 0-RTT packets (undefined: not reported). */
  serverEarly: boolean | undefined;
}

/** Starts qgbench's server and one client process, with the PEMs in a private temporary directory. */
export async function startQuicGoRig(options: QuicGoRigOptions): Promise<QuicGoRig> {
  const binary = options.binary ?? buildQgbench();
  const dir = await mkdtemp(join(tmpdir(), 'qfaas-qgbench-'));
  const file = (name: string) => join(dir, name);
  const children: ChildProcess[] = [];
  const cleanup = async (): Promise<void> => {
    // The client first, so the server sees its connections close.
    await Promise.all(children.slice(1).map((child) => stop(child, 'stdin')));
    if (children[0] !== undefined) await stop(children[0], 'SIGTERM');
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await Promise.all([
      writeFile(file('ca.pem'), options.caPem, { mode: 0o600 }),
      writeFile(file('server.pem'), options.server.certPem, { mode: 0o600 }),
      writeFile(file('server.key'), reveal(options.server.keyPem), { mode: 0o600 }),
      writeFile(file('client.pem'), options.client.certPem, { mode: 0o600 }),
      writeFile(file('client.key'), reveal(options.client.keyPem), { mode: 0o600 }),
    ]);

    const host = options.link?.insideAddress ?? '127.0.0.1';
    const serverArgs = ['server', '-listen', `${host}:0`, '-cert', file('server.pem'), '-key', file('server.key'), '-ca', file('ca.pem')];
    // spawnInside gives the child /dev/null as stdin, so it cannot watch for EOF there; SIGTERM stops it.
    const server =
      options.link === undefined
        ? spawn(binary, serverArgs, { stdio: ['pipe', 'pipe', 'pipe'], env: childEnv })
        : options.link.spawnInside(binary, [...serverArgs, '-stdin-eof=false'], { env: childEnv });
    children.push(server);
    // A write to a child that just exited must not crash the benchmark; its exit is reported instead.
    server.stdin?.on('error', () => {});
    const serverStderr = collectStderr(server);
    const port = await waitForListening(server, serverStderr);
    server.stdout?.resume();

    const clientArgs = ['client', '-addr', `${host}:${port}`, '-server-name', options.serverName, '-ca', file('ca.pem')];
    clientArgs.push('-cert', file('client.pem'), '-key', file('client.key'));
    if (options.tokenStore === true) clientArgs.push('-token-store');
    const client = spawn(binary, clientArgs, { stdio: ['pipe', 'pipe', 'pipe'], env: childEnv });
    children.push(client);
    client.stdin?.on('error', () => {});
    const clientStderr = collectStderr(client);
    const spawned = await new Promise<Error | undefined>((resolve) => {
      client.once('spawn', () => resolve(undefined));
      client.once('error', resolve);
    });
    if (spawned !== undefined) throw new Error(`qgbench client could not start: ${spawned.message}`);

    // Commands are answered one line each, in order.
    const pending: Array<{ resolve: (reply: Reply) => void; reject: (error: Error) => void; command: string }> = [];
    createInterface({ input: client.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const waiter = pending.shift();
      if (waiter === undefined) return;
      const ok = /^(\d+) ([01])(?: ([01-]))?$/.exec(line.trim());
      if (ok !== null) {
        const early = ok[3];
        waiter.resolve({ ms: Number(ok[1]) / 1000, used0Rtt: ok[2] === '1', serverEarly: early === '1' ? true : early === '0' ? false : undefined });
      } else {
        waiter.reject(new Error(`qgbench ${waiter.command}: ${line.replace(/^error /, '')}`));
      }
    });
    client.once('exit', (code, signal) => {
      const text = clientStderr();
      const error = new Error(`qgbench client exited (${signal ?? `code ${String(code)}`})${text !== '' ? `; stderr:\n${text}` : ''}`);
      for (const waiter of pending.splice(0)) waiter.reject(error);
    });
    const send = (command: string): Promise<Reply> =>
      new Promise((resolve, reject) => {
        if (!running(client)) return reject(new Error(`qgbench client is not running (${command})`));
        pending.push({ resolve, reject, command });
        client.stdin?.write(`${command}\n`);
      });

    let notEarly = 0;
    let serverNotEarly = 0;
    const zeroRtt = async (command: string): Promise<number> => {
      const reply = await send(command);
      if (!reply.used0Rtt) notEarly++;
      if (reply.serverEarly !== true) serverNotEarly++;
      return reply.ms;
    };
    const notInEarlyData = async (command: string): Promise<number> => {
      const reply = await send(command);
      if (reply.used0Rtt || reply.serverEarly === true) throw new Error(`qgbench ${command} went in 0-RTT`);
      return reply.ms;
    };

    let closing: Promise<void> | undefined;
    return {
      host,
      port,
      pids: { server: server.pid as number, client: client.pid as number },
      exchanges: {
        zeroRttGet: () => zeroRtt('get-0rtt'),
        oneRttPost: () => notInEarlyData('post'),
        warmGet: async () => (await send('get-warm')).ms,
        largeZeroRttGet: () => zeroRtt('get-1mib-0rtt'),
        coldGet: () => notInEarlyData('get-cold'),
      },
      takeNotEarly() {
        const count = notEarly;
        notEarly = 0;
        return count;
      },
      takeServerNotEarly() {
        const count = serverNotEarly;
        serverNotEarly = 0;
        return count;
      },
      close() {
        closing ??= cleanup();
        return closing;
      },
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
