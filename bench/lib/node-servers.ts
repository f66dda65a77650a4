/**
 * The benchmarks' node:http and node:https servers (TLS 1.3 and TLS 1.2, the worker's certificate),
 * answering every request with 100 bytes (1 MiB at `/1mib`) once its body was read. Used by the
 * server processes of bench:hop (bench/hop/hop-servers.ts) and bench:path (bench/path/path-servers.ts).
 */
import http from 'node:http';
import https from 'node:https';
import type { WorkerCredentials } from '../../src/zero-rtt/index.js';

const body = Buffer.alloc(100, 0x61);
// `/1mib`: the paper's Fig. 5d response size.
const largeBody = Buffer.alloc(1 << 20, 0x61);

/** The answer to a request for `url`: 1 MiB at `/1mib`, else 100 bytes. */
export const bodyFor = (url: string | undefined): Buffer => (url === '/1mib' || url?.endsWith('/1mib') === true ? largeBody : body);

const answer = (request: http.IncomingMessage, response: http.ServerResponse) => {
  request.resume();
  request.once('end', () => {
    const payload = bodyFor(request.url);
    response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': payload.length });
    response.end(payload);
  });
};

export interface NodeServers {
  ports: { http: number; tls13: number; tls12: number };
  close(): void;
}

/** node:http, and node:https with TLS 1.3 only and TLS 1.2 only, on `host` (free ports). */
export async function startNodeServers(credentials: WorkerCredentials, host: string): Promise<NodeServers> {
  const listen = (server: http.Server | https.Server) =>
    new Promise<number>((resolve) => server.listen(0, host, () => resolve((server.address() as { port: number }).port)));
  const tls = { cert: credentials.certificate.certPem, key: credentials.certificate.keyPem.reveal() };
  const plain = http.createServer({ keepAliveTimeout: 60_000 }, answer);
  const tls13 = https.createServer({ ...tls, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', keepAliveTimeout: 60_000 }, answer);
  const tls12 = https.createServer({ ...tls, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', keepAliveTimeout: 60_000 }, answer);
  return {
    ports: { http: await listen(plain), tls13: await listen(tls13), tls12: await listen(tls12) },
    close() {
      for (const server of [plain, tls13, tls12]) {
        server.closeAllConnections();
        server.close();
      }
    },
  };
}
