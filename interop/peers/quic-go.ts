/**
 * The quic-go 0.29 peer of the interop matrix: interop/peers/qgpeer (Go), built with Debian's Go
 * toolchain against Debian's quic-go sources (GOPATH mode, no module downloads), run as an HTTP/3
 * file server or as a downloading client.
 *
 * Needs: apt-get install -y golang-go golang-github-lucas-clemente-quic-go-dev
 *
 * What qgpeer maps each option to:
 * - `retry`: quic.Config.RequireAddressValidation (every new client gets a Retry);
 * - `chacha20Only`: tls.Config.CipherSuites (quic-go's TLS, qtls, honours it for TLS 1.3);
 * - `keyUpdateAfterMs`: quic-go initiates key updates by packet count only. Its internal
 *   KeyUpdateInterval is set to 100 packets (what quic-go's own interop client does), so the first
 *   update comes about 100 packets into the connection, and every 100 packets after that;
 * - `resumption`: a second connection from the same process with the first one's session ticket
 *   (tls.ClientSessionCache), its requests as http3.MethodGet0RTT for 'early-data';
 * - `keyLogFile`: tls.Config.KeyLogWriter;
 * - `earlyData: false` is not supported: http3.Server always listens with quic.ListenEarly.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDebianGoProgram, quicGoAvailable } from '../../bench/quic-go/debian-go.js';
import { Unsupported, type Peer, type PeerClientOptions, type PeerClientRun, type PeerServer, type PeerServerOptions } from '../types.js';
import { trackChild, untrackChild } from '../cleanup.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const sourceDir = join(repoRoot, 'interop', 'peers', 'qgpeer');
const cacheDir = join(repoRoot, 'node_modules', '.cache', 'qfaas-interop');
const listenTimeoutMs = 15_000;
const stopGraceMs = 3_000;
const logLimit = 64 * 1024;
/** Packets between key updates when a case asks for one (quic-go's interop client uses 100). */
const keyUpdatePackets = 100;

/**
 * Builds qgpeer (once per source version: the binary's name carries a hash of the Go sources, so
 * worktrees sharing node_modules never run each other's build) and returns its path.
 */
export function buildQgpeer(): string {
  const hash = createHash('sha256');
  for (const name of readdirSync(sourceDir).filter((file) => file.endsWith('.go')).sort()) {
    hash.update(name).update(readFileSync(join(sourceDir, name)));
  }
  return buildDebianGoProgram(sourceDir, join(cacheDir, `qgpeer-${hash.digest('hex').slice(0, 12)}`));
}

/** Keeps the last `logLimit` characters of a child's output. */
function collectOutput(child: ChildProcess): () => string {
  let text = '';
  const append = (chunk: string) => {
    text += chunk;
    if (text.length > logLimit) text = text.slice(text.length - logLimit);
  };
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  return () => text.trim();
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    child.once('close', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: null, signal: null }));
  });
}

function tlsArgs(options: { caFile: string; certFile?: string; keyFile?: string; keyLogFile?: string }): string[] {
  const args = ['-ca', options.caFile];
  if (options.certFile !== undefined) args.push('-cert', options.certFile);
  if (options.keyFile !== undefined) args.push('-key', options.keyFile);
  if (options.keyLogFile !== undefined) args.push('-keylog', options.keyLogFile);
  return args;
}

const env = { ...process.env, QUIC_GO_DISABLE_RECEIVE_BUFFER_WARNING: 'true' };

let binaryPath: string | undefined;
let buildFailure: string | undefined;

function binary(): string {
  if (binaryPath !== undefined) return binaryPath;
  binaryPath = buildQgpeer();
  return binaryPath;
}

export const quicGoPeer: Peer = {
  name: 'quic-go',

  async unavailable() {
    const missing = quicGoAvailable();
    if (missing !== undefined) return missing;
    if (buildFailure !== undefined) return buildFailure;
    try {
      binary();
      return undefined;
    } catch (error) {
      buildFailure = (error as Error).message;
      return buildFailure;
    }
  },

  async version() {
    const debian = spawnSync('dpkg-query', ['-W', '-f', '${Version}', 'golang-github-lucas-clemente-quic-go-dev'], { encoding: 'utf8' });
    const go = spawnSync('go', ['version'], { encoding: 'utf8' });
    const goVersion = /go(\d+\.\d+(?:\.\d+)?)/.exec(go.stdout ?? '')?.[1] ?? 'unknown';
    const packaged = debian.status === 0 && debian.stdout !== '' ? debian.stdout.trim() : 'unknown';
    return `quic-go ${packaged.replace(/-\d+$/, '')} (Debian golang-github-lucas-clemente-quic-go-dev ${packaged}), Go ${goVersion}`;
  },

  async startServer(options: PeerServerOptions): Promise<PeerServer> {
    if (options.earlyData === false) throw new Unsupported("qgpeer's server always accepts 0-RTT (http3.Server listens with quic.ListenEarly)");
    if (options.certFile === undefined || options.keyFile === undefined) throw new Error('the quic-go server needs certFile and keyFile');
    const args = ['server', '-listen', `${options.host}:${options.port}`, ...tlsArgs(options), '-www', options.wwwDir, '-trace'];
    if (options.requireClientCertificate === true) args.push('-client-auth');
    if (options.retry === true) args.push('-retry');
    if (options.chacha20Only === true) args.push('-chacha20');
    if (options.keyUpdateAfterMs !== undefined) args.push('-key-update-packets', String(keyUpdatePackets));
    const child = spawn(binary(), args, { stdio: ['pipe', 'pipe', 'pipe'], env });
    trackChild(child);
    const log = collectOutput(child);
    const done = exited(child);
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin?.end();
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), stopGraceMs);
        await done;
        clearTimeout(timer);
      }
      untrackChild(child);
    };
    const listening = await new Promise<boolean>((resolve) => {
      let seen = '';
      const onData = (chunk: string) => {
        seen += chunk;
        if (/^LISTENING \d+\s*$/m.test(seen)) finish(true);
      };
      const timer = setTimeout(() => finish(false), listenTimeoutMs);
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve(ok);
      };
      child.stdout?.on('data', onData);
      void done.then(() => finish(false));
    });
    if (!listening) {
      await stop();
      throw new Error(`qgpeer server did not start listening: ${log().slice(-2000) || '(no output)'}`);
    }
    return { log, stop };
  },

  async runClient(options: PeerClientOptions): Promise<PeerClientRun> {
    const args = ['client', '-url', `https://${options.host}:${options.port}`, ...tlsArgs(options), '-server-name', options.serverName];
    // Requests in flight at once: more than a server's usual stream limit, so that the limit binds.
    args.push('-test', 'download', '-download', options.downloadDir, '-timeout', `${options.timeoutMs}ms`, '-concurrency', '500', '-trace');
    if (options.resumption !== undefined) args.push('-resumption', options.resumption);
    if (options.chacha20Only === true) args.push('-chacha20');
    if (options.keyUpdateAfterMs !== undefined) args.push('-key-update-packets', String(keyUpdatePackets));
    args.push(...options.paths);
    const child = spawn(binary(), args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    trackChild(child);
    let stdout = '';
    child.stdout?.on('data', (chunk: string) => {
      stdout += chunk;
    });
    const log = collectOutput(child);
    let timedOut = false;
    // qgpeer gives up at -timeout on its own; this is the backstop.
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs + 5_000);
    const { code } = await exited(child);
    clearTimeout(timer);
    untrackChild(child);
    let connections: PeerClientRun['connections'] = [];
    const line = stdout.split('\n').filter((l) => l.trim().startsWith('{')).pop();
    if (line !== undefined) {
      try {
        const parsed = JSON.parse(line) as { connections?: Array<{ resumed: boolean; early_data_accepted: boolean }> };
        connections = (parsed.connections ?? []).map((c) => ({ resumed: c.resumed, earlyDataAccepted: c.early_data_accepted }));
      } catch {
        // The log says what it printed.
      }
    }
    return { exitCode: code, timedOut, connections, log };
  },
};

/** The command lines docs/interop.md shows for reproducing a case by hand. */
export const quicGoCommandLines = {
  server: 'qgpeer server -listen 127.0.0.1:4433 -cert server.pem -key server.key -ca ca.pem -www www [-retry] [-chacha20] [-key-update-packets 100] [-client-auth] [-keylog keys.log] -trace',
  client:
    'qgpeer client -url https://127.0.0.1:4433 -ca ca.pem -server-name NAME -test download -download out [-resumption resume|early-data] [-chacha20] [-key-update-packets 100] [-cert client.pem -key client.key] [-keylog keys.log] -trace /file1 /file2',
};
