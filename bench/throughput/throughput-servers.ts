/**
 * The throughput benchmark's servers, in their own process (bench/throughput/throughput.ts): a
 * node:https server (TLS 1.3) and a qfaas handler server, both answering every request with the
 * same 64 MiB, on loopback, and a second qfaas handler server that sends datagrams of up to
 * `jumboPayloadSize` bytes (jumbo frames; loopback carries them). The datagram I/O of the qfaas
 * servers is the process' QFAAS_UDP.
 * Answers `{ credentials }` with the ports and `{ cpu: true }` with the process' CPU time so far.
 */
import https from 'node:https';
import { createHandlerServer, type HandlerServer } from '../../src/handler-server/index.js';
import { loadCredentials } from '../../src/zero-rtt/index.js';

const transferBytes = 64 << 20;
const body = Buffer.alloc(transferBytes, 0x61);

export type ThroughputServerMessage = { credentials: string } | { cpu: true };
export interface ThroughputPorts {
  tls13: number;
  qfaas: number;
  qfaasJumbo: number;
}

/** A 9000-byte MTU less the IPv6 and UDP headers. */
export const jumboPayloadSize = 8952;

let qfaas: HandlerServer | undefined;
let qfaasJumbo: HandlerServer | undefined;
let tls13: https.Server | undefined;
process.on('message', (message: ThroughputServerMessage) => {
  void (async () => {
    if ('cpu' in message) {
      const used = process.cpuUsage();
      process.send?.({ cpuUs: used.user + used.system });
      return;
    }
    const credentials = loadCredentials({ text: message.credentials });
    const onRequest: Parameters<typeof createHandlerServer>[0]['onRequest'] = async (request) => {
      await request.body.dump();
      return { statusCode: 200, headers: { 'content-type': 'application/octet-stream' }, body };
    };
    qfaas = await createHandlerServer({ credentials, host: '127.0.0.1', onRequest });
    qfaasJumbo = await createHandlerServer({ credentials, host: '127.0.0.1', onRequest, transport: { maxUdpPayloadSize: jumboPayloadSize } });
    const server = https.createServer(
      { cert: credentials.certificate.certPem, key: credentials.certificate.keyPem.reveal(), minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', keepAliveTimeout: 60_000 },
      (request, response) => {
        request.resume();
        request.once('end', () => {
          response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
          response.end(body);
        });
      },
    );
    tls13 = server;
    const tlsPort = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
    process.send?.({ tls13: tlsPort, qfaas: qfaas.address.port, qfaasJumbo: qfaasJumbo.address.port } satisfies ThroughputPorts);
  })();
});
process.once('disconnect', () => {
  tls13?.closeAllConnections();
  tls13?.close();
  void Promise.all([qfaas?.close({ timeoutMs: 50 }), qfaasJumbo?.close({ timeoutMs: 50 })]).then(() => process.exit(0));
});
