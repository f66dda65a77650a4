// Extracted from docs/transport.md ("Example") by `npm run docs:samples -- --write`: edit the Markdown, not this file.
import { randomBytes } from 'node:crypto';
import { createQuicClient, createQuicServer, createQuicConfig } from 'qfaas/transport';
import { createPlatformCA } from 'qfaas/zero-rtt';

const ca = await createPlatformCA();
const serverName = 'instance-1.echo.qfaas.internal';
const server = await createQuicServer({
  host: '127.0.0.1',
  config: createQuicConfig({
    role: 'server',
    caPem: ca.certPem,
    certificate: await ca.issue({ role: 'worker', name: serverName, hosts: ['127.0.0.1'] }),
    ticketKey: randomBytes(48),
  }),
  onConnection(connection) {
    connection.onStream = async (stream) => {
      const request = await stream.readAll();
      // stream.earlyData: the request arrived before the handshake completed (0-RTT)
      await stream.end(Buffer.concat([request, Buffer.from(stream.earlyData ? ' (0-RTT)' : ' (1-RTT)')]));
    };
  },
});

const client = await createQuicClient();
const config = createQuicConfig({
  role: 'client',
  caPem: ca.certPem,
  certificate: await ca.issue({ role: 'invoker', name: 'gateway' }),
});
let storedSession: Uint8Array | undefined; // a gateway keeps sessions in its ticket store
for (let i = 0; i < 2; i++) {
  const connection = client.connect({
    host: '127.0.0.1',
    port: server.address.port,
    serverName,
    config,
    session: storedSession, // optional: makes the first stream leave in 0-RTT
    onSessionTicket: (ticket) => (storedSession = ticket),
  });
  const stream = await connection.openBidirectionalStream();
  await stream.end(Buffer.from('hello'));
  const reply = await stream.readAll();
  const { resumed, earlyDataAccepted, handshakeMs } = await connection.handshake;
  console.log(reply.toString(), { resumed, earlyDataAccepted, handshakeMs }); // "hello (1-RTT)", then "hello (0-RTT)"
  await connection.close();
}
await client.close();
await server.close();
