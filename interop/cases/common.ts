/**
 * The two shapes every case takes: the qfaas client downloading from the peer's server, and the
 * peer's client downloading from a qfaas server, each through a relay that records the wire.
 */
import { check, checkClientRun, tail, type CaseContext, type TestFile } from '../context.js';
import { qfaasDownload, startQfaasFileServer, type QfaasDownload, type QfaasDownloadOptions, type QfaasFileServer, type QfaasFileServerOptions } from '../qfaas-side.js';
import type { PeerClientOptions, PeerClientRun, PeerServer, PeerServerOptions } from '../types.js';
import type { UdpRelay, UdpRelayOptions } from '../udp-relay.js';
import type { WireConnection } from '../wire/analyze.js';
import { cipherSuiteName } from '../wire/quic-crypto.js';

/** Checks every downloaded body's hash against its file. */
export function checkHashes(download: QfaasDownload, files: readonly TestFile[]): void {
  for (const file of files) {
    const status = download.statuses.get(file.path);
    check(status === 200, `GET ${file.path} answered ${String(status)}`);
    check(download.hashes.get(file.path) === file.sha256, `GET ${file.path}: the body's SHA-256 differs from the file's`);
  }
}

export interface QfaasClientRun {
  server: PeerServer;
  relay: UdpRelay;
  download: QfaasDownload;
}

/** The peer's server (files from the www directory) behind a relay; the qfaas client downloads `files`. */
export async function qfaasClientDownload(
  context: CaseContext,
  files: readonly TestFile[],
  options: { server?: Partial<PeerServerOptions>; relay?: Omit<UdpRelayOptions, 'targetPort'>; download?: Partial<QfaasDownloadOptions> } = {},
): Promise<QfaasClientRun> {
  const { server, relay } = await context.startPeerServer(options.server, options.relay);
  let download: QfaasDownload;
  try {
    download = await qfaasDownload({
      port: relay.port,
      serverName: context.pki.serverName,
      caPem: context.pki.ca.certPem,
      paths: files.map((file) => file.path),
      ...options.download,
    });
  } catch (error) {
    throw new Error(`${(error as Error).message}; peer server: ${tail(server.log())}`, { cause: error });
  }
  checkHashes(download, files);
  return { server, relay, download };
}

export interface PeerClientRunResult {
  qfaas: QfaasFileServer;
  relay: UdpRelay;
  run: PeerClientRun;
}

/**
 * The qfaas HTTP/3 file server most cases run against: the run's server certificate, no client
 * authentication, `overrides` on top; closed when the case ends.
 */
export async function startCaseFileServer(context: CaseContext, overrides: Partial<QfaasFileServerOptions> = {}): Promise<QfaasFileServer> {
  const qfaas = await startQfaasFileServer({
    kind: 'http3',
    wwwDir: context.wwwDir,
    caPem: context.pki.ca.certPem,
    serverName: context.pki.serverName,
    certificate: context.pki.server,
    clientAuth: 'none',
    ...overrides,
  });
  context.defer(() => qfaas.close());
  return qfaas;
}

/** A qfaas file server behind a relay; the peer's client downloads `files` (checked unless `expectFailure`). */
export async function peerClientDownload(
  context: CaseContext,
  files: readonly TestFile[],
  options: {
    server?: Partial<QfaasFileServerOptions>;
    relay?: Omit<UdpRelayOptions, 'targetPort'>;
    client?: Partial<PeerClientOptions>;
    qfaas?: QfaasFileServer;
  } = {},
): Promise<PeerClientRunResult> {
  const qfaas = options.qfaas ?? (await startCaseFileServer(context, options.server));
  const relay = await context.relay(qfaas.port, options.relay);
  const run = await context.runPeerClient(relay.port, { paths: files.map((file) => file.path), serverName: qfaas.serverName, ...options.client });
  checkClientRun(run);
  const damaged = await context.checkDownloads(files);
  check(damaged === undefined, `${damaged}; peer client: ${tail(run.log())}`);
  return { qfaas, relay, run };
}

/** The connections on the wire, checked to be `count`. */
export function wireConnections(context: CaseContext, relay: UdpRelay, count: number): WireConnection[] {
  const connections = context.wire(relay).filter((connection) => connection.clientHello !== undefined);
  check(connections.length === count, `the wire shows ${connections.length} connections, expected ${count}`);
  return connections;
}

/** "TLS_AES_128_GCM_SHA256" from the ServerHello on the wire. */
export function negotiatedSuite(connection: WireConnection): string {
  const suite = connection.serverHello?.cipherSuite;
  return suite === undefined ? 'no ServerHello seen' : cipherSuiteName(suite);
}
