/**
 * Benchmark servers for `npm run bench:hop`, in their own process: node:http, node:https with
 * TLS 1.3 and with TLS 1.2 (same certificate), and a qfaas handler server. Every one answers with
 * the same 100 bytes (1 MiB at `/1mib`). Listens on the host it is told (loopback, or the delay link's inside address)
 * and reports the ports over IPC.
 */
import http from 'node:http';
import https from 'node:https';
import { createHandlerServer } from '../src/handler-server/index.js';
import { loadCredentials } from '../src/zero-rtt/index.js';

const body = Buffer.alloc(100, 0x61);
// `/1mib`: the paper's Fig. 5d response size.
const largeBody = Buffer.alloc(1 << 20, 0x61);
const bodyFor = (url: string | undefined) => (url === '/1mib' || url?.endsWith('/1mib') === true ? largeBody : body);
const answer = (request: http.IncomingMessage, response: http.ServerResponse) => {
  request.resume();
  request.once('end', () => {
    const payload = bodyFor(request.url);
    response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': payload.length });
    response.end(payload);
  });
};
process.once('message', async (setup: { credentials: string; host: string }) => {
  const listen = (server: http.Server | https.Server) =>
    new Promise<number>((resolve) => server.listen(0, setup.host, () => resolve((server.address() as { port: number }).port)));
  const credentials = loadCredentials({ text: setup.credentials });
  const tls = { cert: credentials.certificate.certPem, key: credentials.certificate.keyPem.reveal() };
  const plain = http.createServer({ keepAliveTimeout: 60_000 }, answer);
  const tls13 = https.createServer({ ...tls, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', keepAliveTimeout: 60_000 }, answer);
  const tls12 = https.createServer({ ...tls, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', keepAliveTimeout: 60_000 }, answer);
  const qfaas = await createHandlerServer({ credentials, host: setup.host, handler: (request) => new Response(bodyFor(request.url)) });
  process.send?.({ http: await listen(plain), tls13: await listen(tls13), tls12: await listen(tls12), qfaas: qfaas.address.port });
  process.once('disconnect', () => {
    void qfaas.close({ timeoutMs: 50 }).then(() => process.exit(0));
  });
});
