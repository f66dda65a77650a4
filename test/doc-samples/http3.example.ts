// Extracted from docs/http3.md ("Example") by `npm run docs:samples -- --write`: edit the Markdown, not this file.
import { randomBytes } from 'node:crypto';
import { connectHttp3, createHttp3Server, createQuicClient, createQuicConfig, getResponseInfo, type Http3PeerSettings } from 'qfaas/transport';
import { createPlatformCA } from 'qfaas/zero-rtt';

const ca = await createPlatformCA();
const serverName = 'instance-1.echo.qfaas.internal';
const workerCertificate = await ca.issue({ role: 'worker', name: serverName, hosts: ['127.0.0.1'] });
const server = await createHttp3Server({
  host: '127.0.0.1',
  config: createQuicConfig({ role: 'server', caPem: ca.certPem, certificate: workerCertificate, ticketKey: randomBytes(48) }),
  handler: async (request, info) => {
    // info.earlyData: this request arrived in 0-RTT, before the handshake completed (RFC 8470)
    return new Response(`hello ${new URL(request.url).pathname}`, { headers: { 'x-early': String(info.earlyData) } });
  },
});

const endpoint = await createQuicClient();
const clientConfig = createQuicConfig({ role: 'client', caPem: ca.certPem, certificate: await ca.issue({ role: 'invoker', name: 'gateway' }) });
let session: Uint8Array | undefined; // the last session ticket
let rememberedPeerSettings: Http3PeerSettings | undefined; // the server's SETTINGS, stored with the session
for (let i = 0; i < 2; i++) {
  const quic = endpoint.connect({ host: '127.0.0.1', port: server.address.port, serverName, config: clientConfig, session, onSessionTicket: (ticket) => (session = ticket) });
  const h3 = connectHttp3(quic, { rememberedPeerSettings });
  const response = await h3.fetch(`https://${serverName}/hello`, { signal: AbortSignal.timeout(5000) });
  console.log(response.status, await response.text(), getResponseInfo(response)?.earlyData); // 0-RTT the second time
  rememberedPeerSettings = await h3.peerSettings; // store with the session ticket for the next 0-RTT
  await quic.close();
}
await endpoint.close();
await server.close();
