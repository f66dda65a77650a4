/**
 * Benchmark server, run in its own process so client and server each have a core. Receives its
 * credentials over IPC and serves two endpoints: raw QUIC streams answered with a 100-byte body, and
 * HTTP/3 (lean handler form) answering every request with the same 100 bytes. Reports both ports.
 */
import { createHttp3Server, createQuicServer, createQuicConfig } from '../../src/transport/index.js';

interface Setup {
  caPem: string;
  certPem: string;
  keyPem: string;
  ticketKey: number[];
}

const response = Buffer.alloc(100, 0x61);

process.once('message', async (setup: Setup) => {
  // One config for both servers: they share certificate and ticket key.
  const config = createQuicConfig({
    role: 'server',
    caPem: setup.caPem,
    certificate: { certPem: setup.certPem, keyPem: setup.keyPem },
    ticketKey: Uint8Array.from(setup.ticketKey),
  });
  const server = await createQuicServer({
    receiveBufferSize: 4 * 1024 * 1024,
    config,
    onConnection(connection) {
      connection.onStream = (stream) => {
        void (async () => {
          for await (const _chunk of stream) {
            // drain the request
          }
          await stream.end(response);
        })().catch(() => undefined);
      };
    },
  });
  const h3 = await createHttp3Server({
    receiveBufferSize: 4 * 1024 * 1024,
    config,
    onRequest: () => ({ statusCode: 200, body: response }),
  });
  process.send?.({ port: server.address.port, h3Port: h3.address.port });
  process.once('disconnect', () => {
    void Promise.all([server.close(), h3.close({ timeoutMs: 100 })]).then(() => process.exit(0));
  });
});
