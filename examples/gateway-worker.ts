/**
 * A gateway and a worker, as a platform would wire them:
 *   control plane: the 0-RTT generator provisions the worker (credentials) and the gateway (session);
 *   worker:        a handler server started from the credentials;
 *   gateway:       an InvokerClient with a ticket store, calling the worker.
 * The very first request to the new worker travels in 0-RTT; a POST waits for the handshake.
 *
 * Run: npx tsx examples/gateway-worker.ts
 */
import { createHandlerServer } from 'qfaas/handler-server';
import { getResponseInfo, InvokerClient } from 'qfaas/invoker-client';
import { createPlatformCA, MemoryTicketStore, ZeroRttGenerator } from 'qfaas/zero-rtt';

// Control plane.
const ca = await createPlatformCA();
const generator = new ZeroRttGenerator({ ca });
const { serverName, worker, session } = await generator.provision({ functionName: 'hello', instanceId: 'i-1', hosts: ['127.0.0.1'] });

// Worker (normally its own container, with QFAAS_CREDENTIALS in its environment).
const server = await createHandlerServer({
  credentials: worker,
  host: '127.0.0.1',
  handler: async (request, info) =>
    Response.json({ method: request.method, earlyData: info.earlyData, caller: info.invoker, body: await request.text() }),
});

// Gateway.
const ticketStore = new MemoryTicketStore();
await ticketStore.set(serverName, session);
const invoker = new InvokerClient({ ca, certificate: await generator.invokerCertificate(), ticketStore });
// The URL names the worker as its certificate does; connectTo says where it listens.
const url = `https://${serverName}/`;
const connectTo = { host: '127.0.0.1', port: server.address.port };

for (const init of [{}, { method: 'POST', body: 'order #1' }, {}] as RequestInit[]) {
  const response = await invoker.fetch(url, { ...init, connectTo });
  console.log(await response.json(), getResponseInfo(response));
}
console.log(invoker.metrics());
await invoker.close();
await server.close();
