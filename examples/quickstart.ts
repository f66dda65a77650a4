// The README example (README.md ties its block to the region below): npx tsx examples/quickstart.ts
// #region readme
import { randomBytes } from 'node:crypto';
import { createQuicClient, createQuicServer, createQuicConfig } from 'qfaas/transport';
import { createPlatformCA } from 'qfaas/zero-rtt';

const ca = await createPlatformCA();
const serverName = 'instance-1.echo.qfaas.internal';
const worker = await createQuicServer({
  config: createQuicConfig({
    role: 'server',
    caPem: ca.certPem,
    certificate: await ca.issue({ role: 'worker', name: serverName, hosts: ['127.0.0.1'] }),
    ticketKey: randomBytes(48), // servers sharing this key accept each other's sessions in 0-RTT
  }),
  onConnection(connection) {
    connection.onStream = async (stream) => {
      const body = await stream.readAll();
      await stream.end(Buffer.from(`${body} (early data: ${stream.earlyData})`));
    };
  },
});

const client = await createQuicClient();
const config = createQuicConfig({
  role: 'client',
  caPem: ca.certPem,
  certificate: await ca.issue({ role: 'invoker', name: 'gateway' }),
});
let session: Uint8Array | undefined;
for (const label of ['first', 'second']) {
  const connection = client.connect({
    host: '127.0.0.1', port: worker.address.port, serverName, config, session,
    onSessionTicket: (ticket) => { session = ticket; },
  });
  const stream = await connection.openBidirectionalStream();
  await stream.end(Buffer.from(label));
  console.log((await stream.readAll()).toString()); // "first (early data: false)", then "... true"
  await connection.close();
}
await client.close();
await worker.close();
// #endregion
