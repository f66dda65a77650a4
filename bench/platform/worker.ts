/**
 * A worker process of the benchmarks' mini-platforms (bench-platform.ts): the example's worker
 * (examples/mini-platform/worker.ts) with the harness's two switches, given as arguments:
 *   --hops=quic|http|https  the transport of its hops: the example's QUIC worker, or the same
 *                           functions served and calling over HTTP/1.1 or HTTPS (http-hops.ts);
 *   --connections=new       every chained call opens a new connection (idle ones are dropped
 *                           first); by default connections are kept.
 * Credentials from QFAAS_CREDENTIALS, listening on QFAAS_WORKER_HOST, as the example's worker.
 */
import type { ChainClient } from 'qfaas/chain';
import { loadCredentials, type WorkerCredentials } from 'qfaas/zero-rtt';
import { runWorkerProcess, startFunctionWorker, type FunctionWorker } from '../../examples/mini-platform/function-worker.js';
import { functionCode, type Chain } from '../../examples/mini-platform/functions.js';
import { createHttpServer, HttpHopClient, type HttpScheme } from './http-hops.js';

const argument = (name: string) => process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const hops = argument('hops') ?? 'quic';
if (hops !== 'quic' && hops !== 'http' && hops !== 'https') throw new Error(`--hops must be quic, http or https, not ${hops}`);
const newConnections = argument('connections') === 'new';
const credentials = loadCredentials();
const host = process.env.QFAAS_WORKER_HOST || '127.0.0.1';

/** The chain client, dropping its idle connections before every call. */
const newConnectionEachCall = (client: ChainClient): Chain => ({
  invoke: (name, init) => {
    client.closeIdleConnections();
    return client.invoke(name, init);
  },
  invokeAsync: (name, init) => {
    client.closeIdleConnections();
    return client.invokeAsync(name, init);
  },
});

/** The function served over HTTP/1.1 or HTTPS; its chained calls go to the forwarding gateway (http-gateway-hops.ts). */
async function startHttpFunctionWorker(scheme: HttpScheme, credentials: WorkerCredentials): Promise<FunctionWorker> {
  const code = functionCode(credentials.functionName);
  const chainCredentials = credentials.chain;
  const gatewayHost = chainCredentials?.gatewayHost;
  const gatewayPort = chainCredentials?.gatewayPort;
  if (gatewayHost === undefined || gatewayPort === undefined) throw new Error('the credentials do not say where the gateway is');
  const client = new HttpHopClient(scheme, {
    caPem: credentials.caPem,
    certPem: chainCredentials?.certificate.certPem ?? credentials.certificate.certPem,
    keyPem: chainCredentials?.certificate.keyPem.reveal() ?? credentials.certificate.keyPem.reveal(),
  });
  const chain: Chain = {
    invoke: (name, init = {}) => {
      const { parent, ...rest } = init;
      const headers = new Headers(rest.headers);
      const callId = (parent instanceof Request ? parent.headers : parent)?.get('x-call-id');
      if (callId) headers.set('x-call-id', callId);
      if (newConnections) client.closeIdleConnections();
      return client.fetch(`https://${chainCredentials?.gatewayServerName ?? 'gateway'}/function/${name}`, { ...rest, headers, connectTo: { host: gatewayHost, port: gatewayPort } });
    },
    invokeAsync: async () => new Response('async calls are not part of the comparison runs\n', { status: 501 }),
  };
  const server = createHttpServer(scheme, { caPem: credentials.caPem, certPem: credentials.certificate.certPem, keyPem: credentials.certificate.keyPem.reveal() }, async (request) =>
    code(request, chain),
  );
  await new Promise<void>((resolve) => server.listen(0, host, () => resolve()));
  return {
    port: (server.address() as { port: number }).port,
    async close() {
      await client.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const worker =
  hops === 'quic'
    ? await startFunctionWorker({ credentials, host, ...(newConnections ? { chain: newConnectionEachCall } : {}) })
    : await startHttpFunctionWorker(hops, credentials);
runWorkerProcess(worker);
