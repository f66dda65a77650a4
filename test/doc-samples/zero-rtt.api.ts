// Extracted from docs/zero-rtt.md ("API") by `npm run docs:samples -- --write`: edit the Markdown, not this file.
import { createHandlerServer } from 'qfaas/handler-server';
import { getResponseInfo, InvokerClient } from 'qfaas/invoker-client';
import { createPlatformCA, credentialsEnvValue, loadCredentials, MemoryTicketStore, ZeroRttGenerator } from 'qfaas/zero-rtt';

// Control plane, at worker launch.
const ca = await createPlatformCA();                 // or loadPlatformCA({ certPem, keyPem })
const generator = new ZeroRttGenerator({ ca });      // issues the invoker's certificate on first use
const { serverName, worker, session } = await generator.provision({ functionName: 'echo', instanceId: 'i-7', hosts: ['127.0.0.1'] });
const store = new MemoryTicketStore();               // the gateway's (a RedisTicketStore for several replicas)
await store.set(serverName, session);
const environment = { QFAAS_CREDENTIALS: credentialsEnvValue(worker) }; // start the worker with it

// In the worker, started with that variable: loadCredentials() reads it from process.env.
const credentials = loadCredentials({ env: environment });
const server = await createHandlerServer({           // its QUIC config: createWorkerQuicConfig(credentials)
  credentials,
  host: '127.0.0.1',
  handler: (_request, info) => new Response(`early data: ${info.earlyData}`),
});

// The gateway: its very first request to the new worker leaves in 0-RTT.
const invoker = new InvokerClient({ ca, certificate: await generator.invokerCertificate(), ticketStore: store });
const response = await invoker.fetch(`https://${serverName}/`, { connectTo: { host: '127.0.0.1', port: server.address.port } });
console.log(await response.text(), getResponseInfo(response)?.transport?.resumed); // "early data: true" true
await invoker.close();
await server.close();
