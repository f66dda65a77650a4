/**
 * A minimal gateway-side caller for the zero-rtt tests (the full InvokerClient is its own module):
 * looks the worker's session up in a ticket store, sends one HTTP/3 request (0-RTT when a session
 * was found), stores the newest ticket, and reports what happened.
 */
import {
  connectHttp3,
  type QuicEndpoint,
  type QuicConfig,
} from '../../src/transport/index.js';
import { FailSafeTicketStore, Secret, type TicketStore } from '../../src/zero-rtt/index.js';

export interface StoreCallResult {
  status: number;
  body: string;
  earlyDataAccepted: boolean;
  usedSession: boolean;
  storeFailures: number;
}

export async function callWithStore(options: {
  endpoint: QuicEndpoint;
  config: QuicConfig;
  store: TicketStore;
  serverName: string;
  port: number;
  path?: string;
}): Promise<StoreCallResult> {
  const store = new FailSafeTicketStore(options.store, { timeoutMs: 500 });
  const stored = await store.get(options.serverName);
  const pendingWrites: Array<Promise<void>> = [];
  const quic = options.endpoint.connect({
    host: '127.0.0.1',
    port: options.port,
    serverName: options.serverName,
    config: options.config,
    ...(stored === undefined ? {} : { session: stored.session.reveal() }),
    onSessionTicket: (ticket) => {
      pendingWrites.push(
        store.set(options.serverName, { session: new Secret(ticket, 'session ticket'), expiresAt: Date.now() + 3600_000 }),
      );
    },
  });
  const h3 = connectHttp3(quic, stored?.settings === undefined ? {} : { rememberedPeerSettings: stored.settings });
  const response = await h3.fetch(new Request(`https://${options.serverName}${options.path ?? '/'}`));
  const body = await response.text();
  const handshake = await quic.handshake;
  const settings = await h3.peerSettings;
  if (stored !== undefined && !handshake.earlyDataAccepted) await store.delete(options.serverName);
  await Promise.all(pendingWrites);
  // Keep the server's SETTINGS with the newest ticket for the next 0-RTT.
  const newest = await store.get(options.serverName);
  if (newest !== undefined) await store.set(options.serverName, { ...newest, settings });
  h3.close();
  return {
    status: response.status,
    body,
    earlyDataAccepted: handshake.earlyDataAccepted,
    usedSession: stored !== undefined,
    storeFailures: store.failures,
  };
}
