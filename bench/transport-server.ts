/**
 * Benchmark server, run in its own process so client and server each have a core. Receives its
 * credentials over IPC, answers every stream with a 100-byte body, and reports its port.
 */
import { createQuicServer, createQuicheConfig } from '../src/transport/index.js';

interface Setup {
  caPem: string;
  certPem: string;
  keyPem: string;
  ticketKey: number[];
}

const response = Buffer.alloc(100, 0x61);

process.once('message', async (setup: Setup) => {
  const server = await createQuicServer({
    receiveBufferSize: 4 * 1024 * 1024,
    config: createQuicheConfig({
      role: 'server',
      caPem: setup.caPem,
      certificate: { certPem: setup.certPem, keyPem: setup.keyPem },
      ticketKey: Uint8Array.from(setup.ticketKey),
    }),
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
  process.send?.({ port: server.address.port });
  process.once('disconnect', () => {
    void server.close().then(() => process.exit(0));
  });
});
