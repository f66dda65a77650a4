/**
 * The interop peer on ngtcp2 + nghttp3 (C, GnuTLS): Debian's `ngtcp2-client` and `ngtcp2-server`
 * packages, which install the projects' own HTTP/3 example client and server, /usr/bin/gtlsclient
 * and /usr/sbin/gtlsserver (ngtcp2 0.12.1 in Debian 12). What each option maps to, what the
 * programs cannot do and how their output is read: interop/peers/ngtcp2.md.
 *
 * Needs: apt-get install -y ngtcp2-client ngtcp2-server
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import {
  Unsupported,
  type Peer,
  type PeerClientOptions,
  type PeerClientRun,
  type PeerServer,
  type PeerServerOptions,
} from '../types.js';
import {
  BoundedLog,
  ClientOutputReader,
  clientFailure,
  ServerOutputReader,
  type ClientConnectionSeen,
  type ServerConnectionSeen,
} from './ngtcp2-output.js';

const execFileAsync = promisify(execFile);

/** GnuTLS priority string offering TLS_CHACHA20_POLY1305_SHA256 only (TLS 1.3, as QUIC requires). */
export const chacha20OnlyCiphers = 'NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+CHACHA20-POLY1305';

const installHint = 'apt-get install -y ngtcp2-client ngtcp2-server';

/** Where the programs are, and how long to wait for them. */
export interface Ngtcp2PeerOptions {
  /** @default '/usr/bin/gtlsclient' */
  clientBinary?: string;
  /** @default '/usr/sbin/gtlsserver' */
  serverBinary?: string;
  /** The server must have bound its UDP port within this long. @default 5_000 */
  listenTimeoutMs?: number;
  /**
   * A client run is killed when it printed nothing for `timeoutMs` plus this long (the program's own
   * idle timeout should have ended it by then). @default 5_000
   */
  stallGraceMs?: number;
  /** A client run is killed after this long in any case. @default 120_000 */
  clientDeadlineMs?: number;
  /** After SIGTERM, a program gets this long before SIGKILL. @default 2_000 */
  stopGraceMs?: number;
}

/**
 * One connection of a client run: the interface's `resumed`/`earlyDataAccepted`, plus everything
 * else gtlsclient's output told (see `ClientConnectionSeen`), and why it failed, if it did.
 */
export interface Ngtcp2ClientConnection extends ClientConnectionSeen {
  resumed?: boolean;
  earlyDataAccepted?: boolean;
  /** A session file was given to this run (the second run of a resumption). */
  sessionOffered: boolean;
  /** Why this connection failed (undefined: every request finished with H3_NO_ERROR and a 2xx). */
  failure?: string;
  /** The SNI gtlsclient sent: GnuTLS builds ignore --sni; an IP address as HOST sends "localhost". */
  sentServerName: string;
}

export interface Ngtcp2ClientRun extends PeerClientRun {
  connections: Ngtcp2ClientConnection[];
}

/** The server's own view, for checks that must be made where the request arrived. */
export interface Ngtcp2Server extends PeerServer {
  /** What gtlsserver's output told about each connection so far (0-RTT, client certificate, requests). */
  connections(): ServerConnectionSeen[];
}

/** A `Peer` whose server and client runs also carry what the programs' output told. */
export interface Ngtcp2Peer extends Peer {
  startServer(options: PeerServerOptions): Promise<Ngtcp2Server>;
  runClient(options: PeerClientOptions): Promise<Ngtcp2ClientRun>;
}

/** The ngtcp2 peer with the Debian binaries at their usual paths. */
export const ngtcp2Peer: Ngtcp2Peer = createNgtcp2Peer();

export function createNgtcp2Peer(options: Ngtcp2PeerOptions = {}): Ngtcp2Peer {
  const clientBinary = options.clientBinary ?? '/usr/bin/gtlsclient';
  const serverBinary = options.serverBinary ?? '/usr/sbin/gtlsserver';
  const timing = {
    listenTimeoutMs: options.listenTimeoutMs ?? 5_000,
    stallGraceMs: options.stallGraceMs ?? 5_000,
    clientDeadlineMs: options.clientDeadlineMs ?? 120_000,
    stopGraceMs: options.stopGraceMs ?? 2_000,
  };
  return {
    name: 'ngtcp2',
    async unavailable() {
      const missing: string[] = [];
      for (const binary of [clientBinary, serverBinary]) {
        try {
          await access(binary, constants.X_OK);
        } catch {
          missing.push(binary);
        }
      }
      if (missing.length === 0) return undefined;
      return `${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} missing (Debian's ngtcp2 example programs): ${installHint}`;
    },
    version: () => ngtcp2Version(),
    startServer: (serverOptions) => startServer(serverBinary, serverOptions, timing),
    runClient: (clientOptions) => runClient(clientBinary, clientOptions, timing),
  };
}

/**
 * The versions, from Debian's package database: the programs print none (`gtlsclient -v` sets the
 * QUIC version to offer; gtlsserver has no version option).
 */
export async function ngtcp2Version(): Promise<string> {
  const packages = await installedPackages(['ngtcp2-client', 'ngtcp2-server', 'libngtcp2-[0-9]*', 'libnghttp3-[0-9]*', 'libgnutls30*']);
  const version = (pattern: RegExp): string | undefined => [...packages].find(([name]) => pattern.test(name))?.[1];
  const upstream = (debian: string | undefined): string => (debian === undefined ? '?' : debian.replace(/^\d+:/, '').replace(/[+~-].*$/, ''));
  const client = version(/^ngtcp2-client$/);
  if (client === undefined) throw new Error(`ngtcp2-client is not installed: ${installHint}`);
  return `ngtcp2 ${upstream(client)} + nghttp3 ${upstream(version(/^libnghttp3-/))}, GnuTLS ${upstream(version(/^libgnutls30/))} (Debian ngtcp2-client ${client}, gtlsclient/gtlsserver)`;
}

async function installedPackages(patterns: string[]): Promise<Map<string, string>> {
  let stdout = '';
  try {
    ({ stdout } = await execFileAsync('dpkg-query', ['-W', '-f', '${db:Status-Abbrev} ${Package} ${Version}\n', ...patterns]));
  } catch (error) {
    // dpkg-query exits 1 when a pattern matches nothing, and still prints the others.
    stdout = (error as { stdout?: string }).stdout ?? '';
  }
  const found = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const match = /^ii\s+(\S+)\s+(\S+)$/.exec(line.trim());
    if (match !== null) found.set(match[1]!, match[2]!);
  }
  return found;
}

/** A child process and its stderr, read line by line into readers and a bounded log. */
interface Program {
  child: ChildProcess;
  log: BoundedLog;
  /** Resolves once the process exited and its output was read. */
  closed: Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError?: Error }>;
  /** When it last printed something (performance.now()). */
  lastOutputAt(): number;
  kill(graceMs: number): Promise<void>;
}

let setprivChecked: Promise<boolean> | undefined;

/** util-linux's setpriv gives the program SIGKILL when this process dies, so no peer outlives a crashed run. */
function hasSetpriv(): Promise<boolean> {
  setprivChecked ??= access('/usr/bin/setpriv', constants.X_OK).then(
    () => true,
    () => false,
  );
  return setprivChecked;
}

async function startProgram(binary: string, args: string[], onLine: (line: string) => void, keyLogFile?: string): Promise<Program> {
  const log = new BoundedLog();
  log.line(`$ ${[binary, ...args].map(shellQuote).join(' ')}`);
  const [command, commandArgs] = (await hasSetpriv())
    ? ['/usr/bin/setpriv', ['--pdeathsig', 'SIGKILL', '--', binary, ...args]]
    : [binary, args];
  // GnuTLS appends the TLS secrets to SSLKEYLOGFILE (NSS key log format): the matrix's keyLogFile.
  const env = keyLogFile === undefined ? process.env : { ...process.env, SSLKEYLOGFILE: keyLogFile };
  const child = spawn(command, commandArgs, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let lastOutput = performance.now();
  const readLines = (stream: NodeJS.ReadableStream | null): Promise<void> => {
    if (stream === null) return Promise.resolve();
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    lines.on('line', (line) => {
      lastOutput = performance.now();
      log.line(line);
      onLine(line);
    });
    return new Promise((resolve) => lines.once('close', resolve));
  };
  const outputRead = Promise.all([readLines(child.stdout), readLines(child.stderr)]);
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError?: Error }>((resolve) => {
    child.once('error', (spawnError) => resolve({ code: null, signal: null, spawnError }));
    child.once('close', (code, signal) => void outputRead.then(() => resolve({ code, signal })));
  });
  return {
    child,
    log,
    closed,
    lastOutputAt: () => lastOutput,
    async kill(graceMs) {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
        await closed;
        return;
      }
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await closed;
      clearTimeout(timer);
    },
  };
}

function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function isIpAddress(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}

// ---------------------------------------------------------------------------------------------
// Server

async function startServer(
  binary: string,
  options: PeerServerOptions,
  timing: { listenTimeoutMs: number; stopGraceMs: number },
): Promise<Ngtcp2Server> {
  if (options.earlyData === false) {
    throw new Unsupported(
      'gtlsserver always accepts 0-RTT: it enables early data with no size limit on every session and has no option to refuse it',
    );
  }
  if (options.keyUpdateAfterMs !== undefined) {
    throw new Unsupported('gtlsserver cannot initiate a key update (only gtlsclient has --key-update)');
  }
  if (options.certFile === undefined || options.keyFile === undefined) {
    throw new TypeError('gtlsserver needs certFile and keyFile (its <CERTIFICATE_FILE> and <PRIVATE_KEY_FILE>)');
  }
  if (!Number.isInteger(options.port) || options.port <= 0 || options.port > 65535) {
    throw new TypeError(`gtlsserver needs a fixed port (it does not report an ephemeral one), not ${options.port}`);
  }
  await checkReadable(options.certFile, 'certFile');
  await checkReadable(options.keyFile, 'keyFile');
  if (!(await stat(options.wwwDir)).isDirectory()) throw new TypeError(`wwwDir ${options.wwwDir} is not a directory`);

  // The CRYPTO dump stays on (the server receives little: ClientHellos, client certificates and
  // requests) so that its view of 0-RTT and client certificates can be read; response bodies are
  // never dumped by the server, and request bodies are left out with --no-http-dump.
  const args = ['--no-http-dump', '-d', options.wwwDir];
  if (options.retry === true) args.push('--validate-addr');
  if (options.chacha20Only === true) args.push(`--ciphers=${chacha20OnlyCiphers}`);
  if (options.requireClientCertificate === true) args.push('--verify-client');
  args.push(options.host, String(options.port), options.keyFile, options.certFile);

  const reader = new ServerOutputReader();
  const program = await startProgram(binary, args, (line) => reader.line(line), options.keyLogFile);
  const notes: string[] = [];
  if (options.requireClientCertificate === true) {
    notes.push(
      'note: gtlsserver --verify-client requires a client certificate but never verifies it; caFile cannot be given to it (any certificate is accepted)',
    );
  }

  const stop = (): Promise<void> => program.kill(timing.stopGraceMs);
  try {
    await waitForUdpBind(program, options.port, timing.listenTimeoutMs);
  } catch (error) {
    await stop();
    throw new Error(`gtlsserver did not start: ${(error as Error).message}\n${program.log.text()}`);
  }
  return {
    log: () => [...notes, summarizeServer(reader.connections), program.log.text()].join('\n'),
    stop,
    connections: () => reader.connections.map((c) => structuredClone(c)),
  };
}

async function checkReadable(file: string, what: string): Promise<void> {
  try {
    await access(file, constants.R_OK);
  } catch {
    throw new TypeError(`${what} ${file} cannot be read`);
  }
}

function summarizeServer(connections: ServerConnectionSeen[]): string {
  if (connections.length === 0) return 'gtlsserver saw no connection';
  return connections
    .map((c) => {
      const early = c.requests.filter((r) => r.earlyData).length;
      return (
        `gtlsserver connection ${c.id}: handshake ${c.handshakeCompleted ? 'completed' : 'not completed'}` +
        `${c.cipher === undefined ? '' : `, ${c.cipher}`}${c.addressValidatedByRetry ? ', after Retry' : ''}` +
        `${c.clientHello?.pskOffered === true ? ', session offered' : ''}` +
        `${c.clientCertificate === undefined ? '' : `, client certificate ${c.clientCertificate}`}` +
        `, ${c.requests.length} requests (${early} in 0-RTT)`
      );
    })
    .join('\n');
}

/**
 * Waits until the program holds a UDP socket bound to `port` (read from /proc: gtlsserver prints
 * nothing once it listens). Refuses a port that another socket holds too: gtlsserver sets
 * SO_REUSEADDR, so it would bind it anyway and share the datagrams with a stranger.
 */
async function waitForUdpBind(program: Program, port: number, timeoutMs: number): Promise<void> {
  const pid = program.child.pid;
  if (pid === undefined) {
    const result = await program.closed;
    throw new Error(`could not be started: ${result.spawnError?.message ?? 'no pid'}`);
  }
  let exited: { code: number | null; signal: NodeJS.Signals | null; spawnError?: Error } | undefined;
  void program.closed.then((result) => {
    exited = result;
  });
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (exited !== undefined) {
      throw new Error(exited.spawnError?.message ?? `exited (${exited.signal ?? `code ${exited.code}`}) before binding UDP port ${port}`);
    }
    const sockets = await udpSocketsOn(port);
    const own = await socketInodes(pid);
    if (sockets.some((inode) => own.has(inode))) {
      const strangers = sockets.filter((inode) => !own.has(inode));
      if (strangers.length > 0) throw new Error(`UDP port ${port} is also bound by another process (socket inode ${strangers.join(', ')})`);
      return;
    }
    if (performance.now() > deadline) throw new Error(`had not bound UDP port ${port} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function udpSocketsOn(port: number): Promise<string[]> {
  const inodes: string[] = [];
  for (const table of ['/proc/net/udp', '/proc/net/udp6']) {
    let text: string;
    try {
      text = await readFile(table, 'utf8');
    } catch {
      continue;
    }
    for (const row of text.split('\n').slice(1)) {
      const fields = row.trim().split(/\s+/);
      const local = fields[1];
      if (local === undefined || fields[9] === undefined) continue;
      if (parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port) inodes.push(fields[9]);
    }
  }
  return inodes;
}

async function socketInodes(pid: number): Promise<Set<string>> {
  const inodes = new Set<string>();
  let fds: string[];
  try {
    fds = await readdir(`/proc/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const target = await readlink(`/proc/${pid}/fd/${fd}`);
      const match = /^socket:\[(\d+)\]$/.exec(target);
      if (match !== null) inodes.add(match[1]!);
    } catch {
      // closed in the meantime
    }
  }
  return inodes;
}

// ---------------------------------------------------------------------------------------------
// Client

async function runClient(
  binary: string,
  options: PeerClientOptions,
  timing: { stallGraceMs: number; clientDeadlineMs: number; stopGraceMs: number },
): Promise<Ngtcp2ClientRun> {
  if (options.paths.length === 0) throw new TypeError('paths is empty: gtlsclient needs at least one request');
  if ((options.certFile === undefined) !== (options.keyFile === undefined)) {
    throw new TypeError('a client certificate needs both certFile and keyFile');
  }
  const names = new Map<string, string>();
  for (const path of options.paths) {
    if (!path.startsWith('/')) throw new TypeError(`path ${path} must start with /`);
    const file = downloadName(path);
    const other = names.get(file);
    if (other !== undefined && other !== path) {
      throw new Unsupported(
        `gtlsclient saves each response as <downloadDir>/<last path segment>, so ${other} and ${path} would both write ${file}`,
      );
    }
    names.set(file, path);
  }
  if (new Set(options.paths).size !== options.paths.length) {
    throw new Unsupported('gtlsclient would write a path requested twice to the same file concurrently (undefined, says its --help)');
  }
  if (options.certFile !== undefined) await checkReadable(options.certFile, 'certFile');
  if (options.keyFile !== undefined) await checkReadable(options.keyFile, 'keyFile');
  await mkdir(options.downloadDir, { recursive: true });

  const common = [
    '--no-http-dump',
    '--exit-on-all-streams-close',
    `--download=${options.downloadDir}`,
    `--timeout=${options.timeoutMs}ms`,
    `--handshake-timeout=${options.timeoutMs}ms`,
  ];
  if (options.chacha20Only === true) common.push(`--ciphers=${chacha20OnlyCiphers}`);
  if (options.keyUpdateAfterMs !== undefined) common.push(`--key-update=${options.keyUpdateAfterMs}ms`);
  if (options.certFile !== undefined && options.keyFile !== undefined) common.push(`--cert=${options.certFile}`, `--key=${options.keyFile}`);
  const authority = options.serverName.includes(':') ? `[${options.serverName}]` : options.serverName;
  const uris = options.paths.map((path) => `https://${authority}:${options.port}${path}`);
  const positional = [options.host, String(options.port), ...uris];
  const sentServerName = isIpAddress(options.host) ? 'localhost' : options.host;

  const notes = [
    `note: gtlsclient does not verify the server certificate (caFile ${options.caFile} cannot be given to it) and sends SNI "${sentServerName}", not "${options.serverName}" (GnuTLS builds ignore --sni); the :authority is ${options.serverName}:${options.port}`,
  ];

  if (options.resumption === undefined) {
    // Without a session there is nothing to resume and no 0-RTT: the CRYPTO dump (3 to 4 s per
    // MiB of response body, since it also dumps STREAM data) is not needed.
    const run = await runOnce(binary, [...common, '--no-quic-dump', ...positional], options, timing, false, sentServerName);
    return finish([run], notes);
  }

  const sessionDir = await mkdtemp(join(tmpdir(), 'qfaas-ngtcp2-session-'));
  try {
    const sessionFile = join(sessionDir, 'session.pem');
    const tpFile = join(sessionDir, 'transport-parameters.txt');
    const files = [`--session-file=${sessionFile}`, `--tp-file=${tpFile}`];
    const first = await runOnce(binary, [...common, '--no-quic-dump', ...files, ...positional], options, timing, false, sentServerName);
    const runs = [first];
    if (!(await exists(sessionFile))) {
      notes.push('the first run saved no session (no NewSessionTicket arrived before it exited): the second run starts without one');
    }
    const sessionOffered = await exists(sessionFile);
    // The second run keeps the CRYPTO dump: the ServerHello's pre_shared_key is the only sign of a
    // resumed session in gtlsclient's output.
    const second = [...common, ...files];
    if (options.resumption === 'resume') second.push('--disable-early-data');
    runs.push(await runOnce(binary, [...second, ...positional], options, timing, sessionOffered, sentServerName));
    return finish(runs, notes);
  } finally {
    // The session file holds the resumption secret.
    await rm(sessionDir, { recursive: true, force: true });
  }
}

/** The file gtlsclient writes a response to: the path's last segment (query included), or index.html. */
export function downloadName(path: string): string {
  const name = path.slice(path.lastIndexOf('/') + 1);
  return name === '' ? 'index.html' : name;
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

interface OneRun {
  connection: Ngtcp2ClientConnection;
  exitCode: number | null;
  killedBecause?: string;
  log: string;
}

async function runOnce(
  binary: string,
  args: string[],
  options: PeerClientOptions,
  timing: { stallGraceMs: number; clientDeadlineMs: number; stopGraceMs: number },
  sessionOffered: boolean,
  sentServerName: string,
): Promise<OneRun> {
  const reader = new ClientOutputReader();
  const program = await startProgram(binary, args, (line) => reader.line(line), options.keyLogFile);
  const startedAt = performance.now();
  let killedBecause: string | undefined;
  const watchdog = setInterval(() => {
    const now = performance.now();
    if (now - program.lastOutputAt() > options.timeoutMs + timing.stallGraceMs) {
      killedBecause = `printed nothing for ${Math.round(now - program.lastOutputAt())} ms`;
    } else if (now - startedAt > timing.clientDeadlineMs) {
      killedBecause = `still running after ${timing.clientDeadlineMs} ms`;
    }
    if (killedBecause !== undefined) {
      clearInterval(watchdog);
      void program.kill(timing.stopGraceMs);
    }
  }, 250);
  const result = await program.closed;
  clearInterval(watchdog);

  const seen = reader.connection;
  const connection: Ngtcp2ClientConnection = { ...seen, sessionOffered, sentServerName };
  // resumed: the ServerHello's pre_shared_key when the CRYPTO dump was on; an accepted 0-RTT also
  // proves it (TLS 1.3 accepts early data only on a resumed session); without a session, no.
  const hello = seen.handshakeMessages;
  if (hello?.serverHelloPsk !== undefined) connection.resumed = hello.serverHelloPsk;
  else if (!sessionOffered) connection.resumed = false;
  if (seen.handshakeCompleted) {
    // Accepted means 0-RTT packets went out and the server took them. The EncryptedExtensions'
    // early_data alone is not enough: gtlsclient --disable-early-data still offers early_data in
    // its ClientHello (GnuTLS is always initialised with GNUTLS_ENABLE_EARLY_DATA), a server may
    // accept it, and nothing is sent early.
    connection.earlyDataAccepted =
      seen.earlyDataSent && !seen.earlyDataRejected && (hello?.encryptedExtensionsEarlyData ?? true);
    if (connection.resumed === undefined && connection.earlyDataAccepted) connection.resumed = true;
  }
  if (killedBecause !== undefined) connection.timedOut = true;
  const failure =
    result.spawnError !== undefined
      ? `gtlsclient could not be started: ${result.spawnError.message}`
      : killedBecause !== undefined
        ? `killed: ${killedBecause}`
        : clientFailure(seen, options.paths);
  if (failure !== undefined) connection.failure = failure;

  let exitCode = result.code;
  const header: string[] = [];
  if (killedBecause !== undefined) header.push(`gtlsclient was killed (${killedBecause})`);
  else if (exitCode === 0 && failure !== undefined) {
    // gtlsclient exits 0 even when the server refused the handshake or the connection timed out.
    exitCode = 1;
    header.push(`gtlsclient exited 0, but: ${failure} (reported as exit code 1)`);
  } else if (failure !== undefined) header.push(`gtlsclient failed: ${failure}`);
  header.push(summarizeClient(connection));
  return {
    connection,
    exitCode: killedBecause !== undefined ? null : exitCode,
    ...(killedBecause === undefined ? {} : { killedBecause }),
    log: [...header, program.log.text()].join('\n'),
  };
}

function summarizeClient(c: Ngtcp2ClientConnection): string {
  const done = c.requests.filter((r) => r.closeCode === 0x100).length;
  return (
    `gtlsclient connection ${c.id ?? '?'}: handshake ${c.handshakeCompleted ? 'completed' : 'not completed'}` +
    `${c.cipher === undefined ? '' : `, ${c.cipher}`}${c.retryReceived ? ', after Retry' : ''}` +
    `, session ${c.sessionOffered ? 'offered' : 'not offered'}, resumed ${String(c.resumed ?? 'unknown')}` +
    `, 0-RTT ${c.earlyDataSent ? (c.earlyDataAccepted === true ? 'accepted' : 'sent, not accepted') : 'not sent'}` +
    `${c.keyUpdatesInitiated > 0 ? `, ${c.keyUpdatesInitiated} key update(s) initiated${c.keyPhaseOneReceived ? ' and answered' : ''}` : ''}` +
    `, ${done} of ${c.requests.length} requests finished`
  );
}

function finish(runs: OneRun[], notes: string[]): Ngtcp2ClientRun {
  const failed = runs.find((run) => run.exitCode !== 0);
  const logs = [...notes, ...runs.map((run, i) => (runs.length > 1 ? `--- connection ${i + 1} ---\n${run.log}` : run.log))];
  return {
    exitCode: failed === undefined ? 0 : failed.exitCode,
    timedOut: runs.some((run) => run.connection.timedOut),
    connections: runs.map((run) => run.connection),
    log: () => logs.join('\n'),
  };
}

/** The file names gtlsclient would write for these paths, for a caller that hashes the downloads. */
export function downloadFiles(downloadDir: string, paths: readonly string[]): string[] {
  return paths.map((path) => join(downloadDir, downloadName(path)));
}
