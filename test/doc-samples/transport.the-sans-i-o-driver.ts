// Extracted from docs/transport.md ("The sans-I/O driver") by `npm run docs:samples -- --write`: edit the Markdown, not this file.
import { randomBytes } from 'node:crypto';
import { createQuicConfig, QuicConnectionDriver } from 'qfaas/transport';
import { createPlatformCA } from 'qfaas/zero-rtt';

const ca = await createPlatformCA();
const serverName = 'instance-1.echo.qfaas.internal';
const config = createQuicConfig({ role: 'client', caPem: ca.certPem, certificate: await ca.issue({ role: 'invoker', name: 'gateway' }) });
const serverConfig = createQuicConfig({
  role: 'server',
  caPem: ca.certPem,
  certificate: await ca.issue({ role: 'worker', name: serverName }),
  ticketKey: randomBytes(48),
});
// Addresses only label the datagrams: no socket is opened.
const local = { host: '192.0.2.1', port: 4000 };
const remote = { host: '192.0.2.2', port: 443 };
const client = QuicConnectionDriver.connect({ config, serverName, sourceId: randomBytes(16), local, remote }); // session?: 0-RTT
const server = QuicConnectionDriver.accept({ config: serverConfig, sourceId: randomBytes(16), local: remote, remote: local });
// A perfect network: datagrams go across until neither side has any left.
for (let moved = true; moved; ) {
  moved = false;
  const now = performance.now();
  for (const datagram of client.datagramsToSend(now)) {
    server.receiveDatagram(datagram, client.local, now);
    moved = true;
  }
  for (const datagram of server.datagramsToSend(now)) {
    client.receiveDatagram(datagram, server.local, now);
    moved = true;
  }
}
for (let event = client.pollEvent(); event; event = client.pollEvent()) console.log('client:', event.type); // handshake-completed, session-ticket, …
for (let event = server.pollEvent(); event; event = server.pollEvent()) console.log('server:', event.type);
