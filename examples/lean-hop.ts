/**
 * The lean request path, end to end: a worker whose handler takes a plain request and answers
 * `{ statusCode, headers, body }`, and a gateway calling it with `invoker.request()`. No web
 * Request, Response, Headers or stream is built on either side: the form for platform code on
 * the hot path. (`invoker.fetch()` and `handler` are the web forms of the same calls.)
 *
 * Run: npx tsx examples/lean-hop.ts
 */
import { createHandlerServer } from 'qfaas/handler-server';
import { InvokerClient } from 'qfaas/invoker-client';
import { createPlatformCA, MemoryTicketStore, ZeroRttGenerator } from 'qfaas/zero-rtt';

// Control plane: provision a worker; its session lets the gateway's first request go in 0-RTT.
const ca = await createPlatformCA();
const generator = new ZeroRttGenerator({ ca });
const { serverName, worker, session } = await generator.provision({ functionName: 'hello', instanceId: 'i-1', hosts: ['127.0.0.1'] });

// Worker: the lean handler form.
const server = await createHandlerServer({
  credentials: worker,
  host: '127.0.0.1',
  onRequest: async (request, info) => ({
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      method: request.method,
      path: request.path,
      earlyData: info.earlyData,
      caller: info.invoker,
      body: await request.body.text(),
    }),
  }),
});

// Gateway: the lean request form.
const ticketStore = new MemoryTicketStore();
await ticketStore.set(serverName, session);
const invoker = new InvokerClient({ ca, certificate: await generator.invokerCertificate(), ticketStore });
const target = { serverName, host: '127.0.0.1', port: server.address.port };

for (const call of [{ path: '/?q=1' }, { method: 'POST', path: '/orders', headers: { 'content-type': 'text/plain' }, body: 'order #1' }]) {
  const response = await invoker.request({ ...target, ...call });
  console.log(response.statusCode, await response.body.json(), response.transport);
}
await invoker.close();
await server.close();
