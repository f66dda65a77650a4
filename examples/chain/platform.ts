/**
 * Function chains end to end, in one process (docs/chain.md): a chain gateway, the 0-RTT generator
 * that gives every worker a session for it, and four functions on handler servers:
 *   checkout (checkout.ts, web form) calls pricing, and audit asynchronously with a callback;
 *   quote (quote.ts, lean form) calls pricing.
 * `chain` is configured once per process from its environment; on a platform each worker is its
 * own process with its own credentials. Here both functions share checkout's, as the allow-list sees.
 *
 * Run: npx tsx examples/chain/platform.ts
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { chain, createChainGateway } from 'qfaas/chain';
import { createHandlerServer, type HandlerServer, type HandlerServerOptions } from 'qfaas/handler-server';
import { getResponseInfo, InvokerClient, type InvokerTarget } from 'qfaas/invoker-client';
import { createPlatformCA, encodeChainCredentials, MemoryTicketStore, ZeroRttGenerator, type WorkerCredentials } from 'qfaas/zero-rtt';
import checkout from './checkout.js';
import { onRequest as quote } from './quote.js';

// The gateway's invoker, towards every worker.
const ca = await createPlatformCA();
const invokerCertificate = await ca.issue({ role: 'invoker', name: 'gateway' });
const ticketStore = new MemoryTicketStore();
const invoker = new InvokerClient({ ca, certificate: invokerCertificate, ticketStore });
// A platform would start an instance here (a cold start); this one deploys every function up front.
const instances = new Map<string, InvokerTarget>();
const instanceFor = (name: string): InvokerTarget => {
  const instance = instances.get(name);
  if (instance === undefined) throw new Error(`no instance of ${name}`);
  return instance;
};

// #region gateway
const gatewayName = 'chain.gateway.qfaas.internal';
const gatewayCertificate = await ca.issue({ role: 'gateway', name: gatewayName, hosts: ['127.0.0.1'] });
const gatewayTicketKey = randomBytes(48);
const gateway = await createChainGateway({
  credentials: { caPem: ca.certPem, certificate: gatewayCertificate, ticketKey: gatewayTicketKey },
  invoker, // an InvokerClient towards the workers
  resolve: (name) => instanceFor(name), // may cold-start one
  allow: (caller, target) => target !== 'payments' || caller.functionName === 'checkout',
  host: '127.0.0.1',
});
// The same ticket key goes to the generator, which mints the workers' gateway sessions with it.
const generator = new ZeroRttGenerator({
  ca,
  invokerCertificate,
  chainGateway: { serverName: gatewayName, host: '127.0.0.1', port: gateway.address.port, certificate: gatewayCertificate, ticketKey: gatewayTicketKey },
});
// #endregion

const servers: HandlerServer[] = [];
/** Provisions an instance of `name`, hands its session to the invoker's store, and serves it. */
async function deploy(name: string, serve: Omit<HandlerServerOptions, 'credentials'>): Promise<WorkerCredentials> {
  const { serverName, worker, session } = await generator.provision({ functionName: name, instanceId: 'i-1', hosts: ['127.0.0.1'] });
  await ticketStore.set(serverName, session);
  const server = await createHandlerServer({ credentials: worker, host: '127.0.0.1', ...serve });
  servers.push(server);
  instances.set(name, { serverName, host: '127.0.0.1', port: server.address.port });
  return worker;
}

// Where the gateway POSTs async results (OpenFaaS X-Callback-Url).
const callbacks: string[] = [];
const sink = createServer((request, response) => {
  let body = '';
  request.on('data', (chunk: Buffer) => (body += chunk.toString()));
  request.on('end', () => {
    callbacks.push(`${request.headers['x-call-id']}: ${request.headers['x-function-status']} ${body}`);
    response.end();
  });
});
await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
const sinkAddress = sink.address();
if (sinkAddress === null || typeof sinkAddress === 'string') throw new Error('the callback sink has no port');
process.env.AUDIT_RESULTS_URL = `http://127.0.0.1:${sinkAddress.port}/audit`;

await deploy('pricing', { onRequest: () => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"price":42}' }) });
await deploy('audit', { onRequest: async (request) => ({ statusCode: 200, body: `audited ${await request.body.text()}` }) });
const checkoutCredentials = await deploy('checkout', { handler: checkout });
await deploy('quote', { onRequest: quote });
process.env.QFAAS_CHAIN_CREDENTIALS = encodeChainCredentials(checkoutCredentials);

for (const name of ['checkout', 'quote']) {
  const { serverName, host, port } = instanceFor(name);
  const response = await invoker.fetch(`https://${serverName}/`, { connectTo: { host, port } });
  console.log(name, response.status, await response.text(), `(0-RTT: ${getResponseInfo(response)?.earlyData})`);
}
await gateway.whenAsyncIdle();
console.log('callbacks:', callbacks);
console.log('gateway:', gateway.metrics());

await chain.close();
await Promise.all(servers.map((server) => server.close()));
await gateway.close();
await invoker.close();
await new Promise((resolve) => sink.close(resolve));
