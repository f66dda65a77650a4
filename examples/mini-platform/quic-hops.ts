/**
 * The platform's internal hops over QUIC with 0-RTT: the gateway calls workers with an
 * InvokerClient whose ticket store holds the generator's sessions, and function code calls the
 * chain gateway, which routes each call to the function's instance over the same client.
 */
import { createChainGateway, type ChainGateway } from 'qfaas/chain';
import { InvokerClient } from 'qfaas/invoker-client';
import type { GatewayHops, GatewayHopsContext } from './hops.js';

export interface QuicHops extends GatewayHops {
  readonly client: InvokerClient;
  readonly chainGateway: ChainGateway;
}

export async function startQuicHops(context: GatewayHopsContext): Promise<QuicHops> {
  const { ca, gateway } = context;
  const client = new InvokerClient({ ca, certificate: context.invokerCertificate, ticketStore: context.ticketStore });
  const chainGateway = await createChainGateway({
    credentials: { caPem: ca.certPem, certificate: gateway.certificate, ticketKey: gateway.ticketKey },
    invoker: client,
    host: gateway.host,
    resolve: context.resolve,
    ...(context.allow === undefined ? {} : { allow: context.allow }),
  });
  return {
    client,
    chainGateway,
    chainPort: chainGateway.address.port,
    async close() {
      await chainGateway.close({ timeoutMs: 500 });
      await client.close();
    },
  };
}
