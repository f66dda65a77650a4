// Extracted from docs/handler-server.md ("Handler server and `qfaas-watchdog` (`qfaas/handler-server`)") by `npm run docs:samples -- --write`: edit the Markdown, not this file.
import { createHandlerServer } from 'qfaas/handler-server';
import { InvokerClient } from 'qfaas/invoker-client';
import { createPlatformCA, MemoryTicketStore, ZeroRttGenerator } from 'qfaas/zero-rtt';

// The control plane provisions the worker (docs/zero-rtt.md).
const ca = await createPlatformCA();
const generator = new ZeroRttGenerator({ ca });
const { serverName, worker, session } = await generator.provision({ functionName: 'hello', instanceId: 'i-1', hosts: ['127.0.0.1'] });

const server = await createHandlerServer({
  credentials: worker,                   // a worker process: loadCredentials(), from QFAAS_CREDENTIALS
  host: '127.0.0.1',
  port: 0,                               // 0: any free port; a platform's workers use a fixed one, e.g. 8080
  onRequest: async (request, info) => {
    // info.earlyData, info.resumed, info.invoker (client certificate CN), info.signal (made when read),
    // and the HTTP/3 layer's facts: info.handshake, info.peerIdentity(), info.peerCertificateChain()
    const name = await request.body.text();
    return { statusCode: 200, headers: { 'content-type': 'text/plain' }, body: `hello ${name} from ${info.invoker}` };
  },
  limits: { maxInflight: 64, execTimeoutMs: 10_000 },
});
process.once('SIGTERM', () => void server.close()); // drains: requests in flight finish, new ones are refused

// The gateway's side, to try it: an invoker with the session the generator minted.
const ticketStore = new MemoryTicketStore();
await ticketStore.set(serverName, session);
const invoker = new InvokerClient({ ca, certificate: await generator.invokerCertificate(), ticketStore });
const response = await invoker.request({ serverName, host: '127.0.0.1', port: server.address.port, method: 'POST', body: 'world' });
console.log(response.statusCode, await response.body.text()); // 200 hello world from invoker
await invoker.close();
await server.close();
