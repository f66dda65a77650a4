/**
 * The mini-platform's internal hops over HTTP/1.1 or HTTPS, for the comparison runs: the gateway
 * calls workers with an HttpHopClient, and function code calls a gateway that only forwards (the
 * same routing as the QUIC chain gateway; no allow-list, hop limit or async calls).
 */
import type { GatewayHops, GatewayHopsContext, GatewayHopsFactory } from '../../examples/mini-platform/hops.js';
import { createHttpServer, HttpHopClient, type HttpScheme } from './http-hops.js';

export interface HttpGatewayHops extends GatewayHops {
  readonly client: HttpHopClient;
}

export function httpGatewayHops(scheme: HttpScheme): GatewayHopsFactory<HttpGatewayHops> {
  return async (context: GatewayHopsContext) => {
    const { ca, gateway } = context;
    const client = new HttpHopClient(scheme, { caPem: ca.certPem, certPem: context.invokerCertificate.certPem, keyPem: context.invokerCertificate.keyPem });
    const server = createHttpServer(scheme, { caPem: ca.certPem, certPem: gateway.certificate.certPem, keyPem: gateway.certificate.keyPem }, async (request) => {
      const url = new URL(request.url);
      const name = /^\/function\/([a-z0-9-]+)$/.exec(url.pathname)?.[1];
      if (name === undefined) return new Response('use /function/<name>\n', { status: 404 });
      const target = await context.resolve(name);
      return client.fetch(`https://${target.serverName}/${url.search}`, {
        method: request.method,
        headers: request.headers,
        ...(request.body === null ? {} : { body: request.body }),
        connectTo: target,
      });
    });
    await new Promise<void>((resolve) => server.listen(0, gateway.host, () => resolve()));
    return {
      client,
      chainPort: (server.address() as { port: number }).port,
      async close() {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await client.close();
      },
    };
  };
}
