/**
 * The interop matrix's shared vocabulary: cases named as in the QUIC interop runner, the two
 * directions, what a case ends with, and what a peer implementation (quic-go, ngtcp2) must offer
 * so that the cases can drive it. Case logic and the qfaas side live in the runner; a peer adapter
 * only starts the peer's server or runs its client with the options asked for, or says why it
 * cannot.
 */

/** The cases, named as in the QUIC interop runner (plus mutual TLS, which the runner lacks). */
export const caseNames = [
  'handshake',
  'transfer',
  'multiplexing',
  'http3',
  'retry',
  'resumption',
  'zerortt',
  'chacha20',
  'keyupdate',
  'handshakeloss',
  'transferloss',
  'blackhole',
  'amplificationlimit',
  'mtls',
] as const;
export type CaseName = (typeof caseNames)[number];

/** Who is the client: qfaas against the peer's server, or the peer's client against qfaas's server. */
export type Direction = 'qfaas-client' | 'peer-client';

/** How a case ended. A case that could not run is 'n/a' with the reason; never 'passed'. */
export type Outcome =
  | { result: 'passed'; detail: string }
  | { result: 'failed'; reason: string }
  | { result: 'n/a'; reason: string };

/** PEM files on disk, as peer programs take them. */
export interface TlsFiles {
  /** The platform CA's certificate: what the peer verifies the other side against. */
  caFile: string;
  /** The peer's own certificate (chain) and key: a server's, or a client's for mutual TLS. */
  certFile?: string;
  keyFile?: string;
  /**
   * Append the connection's TLS secrets here (NSS key log format, as SSLKEYLOGFILE), if the peer
   * can: the runner opens 1-RTT packets with them to see key updates on the wire. An adapter that
   * cannot ignores it (the cases that need it then say so). @default none
   */
  keyLogFile?: string;
}

/** How the case wants the peer's server to run. Options a peer cannot honour make `startServer` throw `Unsupported`. */
export interface PeerServerOptions extends TlsFiles {
  /** UDP address to listen on. */
  host: string;
  port: number;
  /** Files the server serves at `/<name>` (HTTP/3 GET), from this directory. */
  wwwDir: string;
  /** Send Retry to every new connection (address validation). @default false */
  retry?: boolean;
  /** Offer TLS_CHACHA20_POLY1305_SHA256 only. @default false */
  chacha20Only?: boolean;
  /** Require a client certificate chaining to `caFile`. @default false */
  requireClientCertificate?: boolean;
  /** Accept 0-RTT. @default true */
  earlyData?: boolean;
  /** Initiate a key update this long after the handshake (ms). @default never */
  keyUpdateAfterMs?: number;
}

export interface PeerServer {
  /** What the peer printed, for a failure's reason (bounded). */
  log(): string;
  stop(): Promise<void>;
}

/** How the case wants the peer's client to run. */
export interface PeerClientOptions extends TlsFiles {
  host: string;
  port: number;
  /** The TLS server name (SNI) to ask for and verify. */
  serverName: string;
  /** Request these paths (HTTP/3 GET, in order; concurrently where the peer does so). */
  paths: string[];
  /** Where to write each downloaded body (`<downloadDir>/<path basename>`). */
  downloadDir: string;
  /** Offer TLS_CHACHA20_POLY1305_SHA256 only. @default false */
  chacha20Only?: boolean;
  /**
   * Session resumption across two connections: the client runs twice, the second time from the
   * first run's session (and transport parameters), on a new connection.
   * 'resume': 1-RTT resumption; 'early-data': the second run sends its requests in 0-RTT.
   * @default none: one connection
   */
  resumption?: 'resume' | 'early-data';
  /** Initiate a key update this long after the handshake (ms). @default never */
  keyUpdateAfterMs?: number;
  /** Give up after this long without progress (ms). */
  timeoutMs: number;
}

export interface PeerClientRun {
  /** Exit code, and whether it ended by timeout. */
  exitCode: number | null;
  timedOut: boolean;
  /** Per connection (1, or 2 with `resumption`): what the peer reports, as far as it reports it. */
  connections: Array<{ resumed?: boolean; earlyDataAccepted?: boolean }>;
  log(): string;
}

/** Thrown by an adapter for an option its peer program lacks; the case becomes 'n/a' with this reason. */
export class Unsupported extends Error {
  override readonly name = 'Unsupported';
}

/** One peer implementation, as the runner drives it. */
export interface Peer {
  /** 'quic-go', 'ngtcp2'. */
  readonly name: string;
  /** Undefined when the peer can run here; otherwise why not (a missing Debian package, a failed build). */
  unavailable(): Promise<string | undefined>;
  /** The implementation and version, for docs/interop.md (e.g. 'quic-go 0.29.1, Go 1.19.8'). */
  version(): Promise<string>;
  startServer(options: PeerServerOptions): Promise<PeerServer>;
  runClient(options: PeerClientOptions): Promise<PeerClientRun>;
}
