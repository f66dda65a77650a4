/**
 * What a case runs with: its own temporary directory (files to serve, downloads, key log), the
 * run's certificates, the peer, and helpers that put a relay in front of every server so that the
 * case can drop datagrams and read the wire. Everything a case starts is stopped by `dispose()`.
 */
import { createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { removeDirectory, trackDirectory } from './cleanup.js';
import type { Pki } from './pki.js';
import { startUdpRelay, type UdpRelay, type UdpRelayOptions } from './udp-relay.js';
import type { CaseName, Direction, Peer, PeerClientOptions, PeerClientRun, PeerServer, PeerServerOptions } from './types.js';
import { analyzeCapture, parseKeyLog, type KeyLog, type WireConnection } from './wire/analyze.js';
import { parseDatagram } from './wire/packets.js';

export interface TestFile {
  name: string;
  path: string;
  size: number;
  sha256: string;
}

/** A UDP port on loopback that was free a moment ago (peers take a port number, not 0). */
export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

export class CaseContext {
  readonly wwwDir: string;
  readonly downloadDir: string;
  readonly keyLogFile: string;
  readonly #cleanups: Array<() => Promise<unknown> | unknown> = [];
  readonly #relays: UdpRelay[] = [];
  readonly #servers: PeerServer[] = [];

  private constructor(
    readonly peer: Peer,
    readonly caseName: CaseName,
    readonly direction: Direction,
    readonly pki: Pki,
    readonly dir: string,
  ) {
    this.wwwDir = join(dir, 'www');
    this.downloadDir = join(dir, 'download');
    this.keyLogFile = join(dir, 'keys.log');
  }

  static async create(peer: Peer, caseName: CaseName, direction: Direction, pki: Pki): Promise<CaseContext> {
    const dir = await mkdtemp(join(tmpdir(), `qfaas-interop-${caseName}-`));
    trackDirectory(dir);
    const context = new CaseContext(peer, caseName, direction, pki, dir);
    await mkdir(context.wwwDir);
    await mkdir(context.downloadDir);
    return context;
  }

  /** Runs `cleanup` at dispose, latest first. */
  defer(cleanup: () => Promise<unknown> | unknown): void {
    this.#cleanups.push(cleanup);
  }

  async dispose(): Promise<void> {
    for (const cleanup of this.#cleanups.reverse()) {
      try {
        await cleanup();
      } catch {
        // Stopping one thing must not keep the others running.
      }
    }
    removeDirectory(this.dir);
  }

  /** Writes random files to the www directory. */
  async makeFiles(specs: ReadonlyArray<{ name: string; size: number }>): Promise<TestFile[]> {
    return Promise.all(
      specs.map(async ({ name, size }) => {
        const data = randomBytes(size);
        const path = join(this.wwwDir, name);
        await writeFile(path, data);
        return { name, path: `/${name}`, size, sha256: createHash('sha256').update(data).digest('hex') };
      }),
    );
  }

  /** Compares the downloads of the peer client with the files; undefined when all are intact. */
  async checkDownloads(files: readonly TestFile[]): Promise<string | undefined> {
    for (const file of files) {
      let data: Buffer;
      try {
        data = await readFile(join(this.downloadDir, basename(file.path)));
      } catch {
        return `${file.name} was not downloaded`;
      }
      const hash = createHash('sha256').update(data).digest('hex');
      if (hash !== file.sha256) return `${file.name}: ${data.length} bytes with SHA-256 ${hash.slice(0, 12)}…, expected ${file.size} bytes with ${file.sha256.slice(0, 12)}…`;
    }
    return undefined;
  }

  /** A relay in front of `targetPort` that captures every datagram; closed at dispose. */
  async relay(targetPort: number, options: Omit<UdpRelayOptions, 'targetPort'> = {}): Promise<UdpRelay> {
    const relay = await startUdpRelay({ capture: true, ...options, targetPort });
    this.#relays.push(relay);
    this.defer(() => relay.close());
    return relay;
  }

  /** The peer's server on a free port, with a relay in front (clients dial `relay.port`). */
  async startPeerServer(
    options: Partial<PeerServerOptions> = {},
    relayOptions: Omit<UdpRelayOptions, 'targetPort'> = {},
  ): Promise<{ server: PeerServer; relay: UdpRelay; port: number }> {
    const port = await freeUdpPort();
    const server = await this.peer.startServer({
      host: '127.0.0.1',
      port,
      wwwDir: this.wwwDir,
      caFile: this.pki.caFile,
      certFile: this.pki.server.certFile,
      keyFile: this.pki.server.keyFile,
      keyLogFile: this.keyLogFile,
      ...options,
    });
    this.#servers.push(server);
    this.defer(() => server.stop());
    const relay = await this.relay(port, relayOptions);
    return { server, relay, port };
  }

  /** Runs the peer's client against `port` (a relay's). */
  runPeerClient(port: number, options: Partial<PeerClientOptions> & { paths: string[]; serverName: string }): Promise<PeerClientRun> {
    return this.peer.runClient({
      host: '127.0.0.1',
      port,
      downloadDir: this.downloadDir,
      caFile: this.pki.caFile,
      keyLogFile: this.keyLogFile,
      timeoutMs: 30_000,
      ...options,
    });
  }

  /** Every datagram the case's relays saw, a line each, by flow (for a failed case's dump). */
  timeline(): string {
    const lines: string[] = [];
    const t0 = Math.min(...this.#relays.flatMap((relay) => relay.captured().slice(0, 1).map((datagram) => datagram.at)));
    for (const [i, relay] of this.#relays.entries()) {
      const captured = relay.captured();
      for (const flow of new Set(captured.map((datagram) => datagram.flow))) {
        lines.push(`relay ${i} (port ${relay.port}) flow ${flow}`);
        for (const datagram of captured.filter((d) => d.flow === flow)) {
          const kinds = parseDatagram(datagram.data, undefined).map((packet) => packet.type);
          const first = datagram.data[0] ?? 0;
          const shown = kinds.length > 0 ? kinds.join('+') : (first & 0x80) === 0 ? '1rtt' : 'unparsed';
          lines.push(`  ${((datagram.at - t0) / 1000).toFixed(3)} ${datagram.direction === 'toServer' ? 'C->S' : 'S->C'} ${String(datagram.data.length).padStart(5)} ${shown}${datagram.dropped ? ' DROPPED' : ''}`);
        }
      }
    }
    for (const server of this.#servers) lines.push('', 'peer server log:', server.log());
    return lines.join('\n');
  }

  /** The connections the case's relays saw. */
  wire(relay: UdpRelay): WireConnection[] {
    return analyzeCapture(relay.captured());
  }

  /** The key log the peer wrote, if it wrote one. */
  async keyLog(): Promise<KeyLog | undefined> {
    try {
      const text = await readFile(this.keyLogFile, 'utf8');
      return text.trim() === '' ? undefined : parseKeyLog(text);
    } catch {
      return undefined;
    }
  }
}

/** A case's failure, with the reason the matrix shows. */
export class CaseFailure extends Error {
  override readonly name = 'CaseFailure';
}

/** Fails the case with `reason` unless `condition` holds. */
export function check(condition: boolean, reason: string): asserts condition {
  if (!condition) throw new CaseFailure(reason);
}

/** The end of a peer's log, for a failure's reason. */
export function tail(log: string, lines = 6): string {
  const kept = log
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .slice(-lines)
    .join(' | ');
  return kept === '' ? '(no output)' : kept.slice(-800);
}

/** Checks a peer client's run ended well; the failure says how it did not. */
export function checkClientRun(run: PeerClientRun, what = 'the peer client'): void {
  check(!run.timedOut, `${what} did not finish in time: ${tail(run.log())}`);
  check(run.exitCode === 0, `${what} exited with ${String(run.exitCode)}: ${tail(run.log())}`);
}
