/**
 * The platform's internal hops as the gateway sees them: the client it calls workers with, and the
 * gateway that function code calls for chained calls. The platform starts them through a
 * `GatewayHopsFactory` (by default QUIC with 0-RTT, quic-hops.ts), so that what the hops are made
 * of is one replaceable part and the rest of the platform (cold starts, routing, scale to zero)
 * stays the same.
 */
import type { ChainCaller } from 'qfaas/chain';
import type { InvokerTarget } from 'qfaas/invoker-client';
import type { IssuedCertificate, PlatformCA, TicketStore } from 'qfaas/zero-rtt';

/** The gateway's client towards workers. */
export interface HopClient {
  /** `InvokerClient.fetch`'s arguments: the URL names the worker, `connectTo` says where it listens. */
  fetch(input: string, init: RequestInit & { connectTo: { host: string; port: number } }): Promise<Response>;
  /** Drops pooled connections no request is using: the next call opens a new one. */
  closeIdleConnections(): void;
  close(): Promise<void>;
}

/** The gateway's side of the internal hops, started by the platform. */
export interface GatewayHops {
  /** What the gateway calls workers with. */
  readonly client: HopClient;
  /** Port of the gateway that function code calls (chained calls); it listens on the gateway host. */
  readonly chainPort: number;
  /** Stops the chain gateway and closes the client. */
  close(): Promise<void>;
}

/** What the platform hands its hops when it starts: its identities and how to find a function. */
export interface GatewayHopsContext {
  readonly ca: PlatformCA;
  /** The gateway's client certificate towards workers. */
  readonly invokerCertificate: IssuedCertificate;
  /** The chain gateway's address, certificate and ticket key (the generator mints workers' sessions for it). */
  readonly gateway: { readonly host: string; readonly certificate: IssuedCertificate; readonly ticketKey: Uint8Array };
  /** Where the generator's sessions for new workers are stored before they start. */
  readonly ticketStore: TicketStore;
  /** The instance that serves a function now; starts one (a cold start) if there is none. */
  resolve(functionName: string): Promise<InvokerTarget>;
  /** Which function may call which. @default everyone may call everything */
  readonly allow?: (caller: ChainCaller, target: string) => boolean;
}

export type GatewayHopsFactory<H extends GatewayHops> = (context: GatewayHopsContext) => Promise<H>;
