/**
 * A worker process of the mini-platform: credentials from QFAAS_CREDENTIALS (provisioned by the
 * 0-RTT generator just before this process started), its function from the credentials. Serves
 * HTTP/3 over QUIC on QFAAS_WORKER_HOST (default 127.0.0.1), or, for the comparison runs
 * (QFAAS_HOPS=http|https), HTTP/1.1 or HTTPS. With QFAAS_CONNECTIONS=new, every chained call
 * opens a new connection. Prints "LISTENING <port>"; exits when stdin closes.
 */
import { createChainClient } from 'qfaas/chain';
import { createHandlerServer } from 'qfaas/handler-server';
import { loadCredentials } from 'qfaas/zero-rtt';
import { functions, type Chain } from './functions.js';
import { createHttpServer, HttpHopClient, type HttpHops } from './http-hops.js';

const credentials = loadCredentials();
const code = functions[credentials.functionName];
if (code === undefined) throw new Error(`unknown function ${credentials.functionName}`);
const hops = (process.env.QFAAS_HOPS ?? 'quic') as 'quic' | HttpHops;
const host = process.env.QFAAS_WORKER_HOST || '127.0.0.1';
// 'new': no connection is kept between calls (MiniPlatformOptions.connections).
const newConnections = process.env.QFAAS_CONNECTIONS === 'new';
let close: () => Promise<void>;

if (hops === 'quic') {
  const client = createChainClient({ credentials });
  const chain: Chain = newConnections
    ? {
        invoke: (name, init) => {
          client.closeIdleConnections();
          return client.invoke(name, init);
        },
        invokeAsync: (name, init) => {
          client.closeIdleConnections();
          return client.invokeAsync(name, init);
        },
      }
    : client;
  const server = await createHandlerServer({ credentials, host, handler: (request) => code(request, chain), limits: { execTimeoutMs: 30_000 } });
  process.stdout.write(`LISTENING ${server.address.port}\n`);
  close = async () => {
    await Promise.all([client.close(), server.close({ timeoutMs: 500 })]);
  };
} else {
  const chainCredentials = credentials.chain;
  // host:port, an IPv6 host in brackets.
  const gatewayAddress = /^\[?(.+?)\]?:(\d+)$/.exec(process.env.QFAAS_CHAIN_GATEWAY ?? '');
  if (gatewayAddress === null) throw new Error('QFAAS_CHAIN_GATEWAY must be host:port');
  const [, gatewayHost, gatewayPort] = gatewayAddress as unknown as [string, string, string];
  const client = new HttpHopClient(hops, {
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
      return client.fetch(`https://${chainCredentials?.gatewayServerName ?? 'gateway'}/function/${name}`, {
        ...rest,
        headers,
        connectTo: { host: gatewayHost, port: Number(gatewayPort) },
      });
    },
    invokeAsync: async () => new Response('async calls are not part of the comparison runs\n', { status: 501 }),
  };
  const server = createHttpServer(hops, { caPem: credentials.caPem, certPem: credentials.certificate.certPem, keyPem: credentials.certificate.keyPem.reveal() }, async (request) =>
    code(request, chain),
  );
  await new Promise<void>((resolve) => server.listen(0, host, () => resolve()));
  process.stdout.write(`LISTENING ${(server.address() as { port: number }).port}\n`);
  close = async () => {
    await client.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}
process.stdin.resume();
process.stdin.on('end', () => {
  void close().then(() => process.exit(0));
});
