import { QfaasConfigError } from '../../errors.js';
import type { QuicConnection } from '../quic/connection.js';
import { createQuicServer, type QuicEndpoint, type QuicEndpointOptions, type QuicListenOptions } from '../quic/endpoint.js';
import type { HostPort } from '../quic/connection-driver.js';
import { connectionRefusedCode } from '../quic/error-codes.js';
import { defaultDrainTimeoutMs, Http3Connection, type Http3ConnectionOptions } from './connection.js';
import { h3ErrorCodes } from './error-codes.js';
import { h3TransportFor } from './transport.js';

/** The reason phrase a draining server puts in its CONNECTION_CLOSE; clients may match on it. */
export const drainingReason = 'draining';

/** Serves HTTP/3 on an accepted QUIC connection. */
export function serveHttp3(connection: QuicConnection, options: Http3ConnectionOptions): Http3Connection {
  if (connection.role !== 'server') throw new QfaasConfigError('connection', 'serveHttp3 needs a server QUIC connection (one a listener accepted)');
  return new Http3Connection(h3TransportFor(connection), options);
}

/** Options of `createHttp3Server`: the endpoint's, the listener's and the connections'. */
export interface Http3ServerOptions
  extends QuicEndpointOptions,
    Omit<QuicListenOptions, 'onConnection'>,
    Omit<Http3ConnectionOptions, 'rememberedPeerSettings'> {
  /** Called with each HTTP/3 connection. @default none */
  onConnection?: (connection: Http3Connection, quic: QuicConnection) => void;
}

/** An HTTP/3 server: its endpoint, address, open connections and graceful `close()`. */
export interface Http3Server {
  readonly endpoint: QuicEndpoint;
  readonly address: HostPort;
  /** Open HTTP/3 connections. */
  readonly connections: ReadonlySet<Http3Connection>;
  /**
   * Graceful shutdown: new connections are refused (CONNECTION_REFUSED, reason 'draining'), GOAWAY
   * goes on every connection (later requests get H3_REQUEST_REJECTED), requests in progress get up
   * to `timeoutMs` (default 10_000), then the connections and the socket close.
   */
  close(options?: { timeoutMs?: number }): Promise<void>;
}

/** An HTTP/3 server: a QUIC endpoint whose every connection serves `handler`. */
export async function createHttp3Server(options: Http3ServerOptions): Promise<Http3Server> {
  const connections = new Set<Http3Connection>();
  // Once close() began, a new connection is refused before any request on it is read (issue 12).
  let draining = false;
  const { handler, onRequest, maxFieldSectionSize, grease, onConnection, headersTimeoutMs, maxUnfinishedHeaderBytes, events, ...quicOptions } = options;
  if ((handler === undefined) === (onRequest === undefined)) {
    throw new QfaasConfigError('handler', 'give exactly one of onRequest (lean) and handler (web Request/Response)');
  }
  const endpoint = await createQuicServer({
    ...quicOptions,
    onConnection(quic) {
      if (draining) {
        // CONNECTION_REFUSED (RFC 9000 section 20.1): nothing was processed, try another server.
        void quic.close({ kind: 'transport', code: connectionRefusedCode, reason: drainingReason });
        return;
      }
      const h3 = serveHttp3(quic, {
        ...(onRequest === undefined ? {} : { onRequest }),
        ...(handler === undefined ? {} : { handler }),
        ...(maxFieldSectionSize === undefined ? {} : { maxFieldSectionSize }),
        ...(grease === undefined ? {} : { grease }),
        ...(headersTimeoutMs === undefined ? {} : { headersTimeoutMs }),
        ...(maxUnfinishedHeaderBytes === undefined ? {} : { maxUnfinishedHeaderBytes }),
        ...(events === undefined ? {} : { events }),
      });
      connections.add(h3);
      void h3.closed.then(() => connections.delete(h3));
      onConnection?.(h3, quic);
    },
  });
  return {
    endpoint,
    address: endpoint.address,
    connections,
    async close({ timeoutMs = defaultDrainTimeoutMs } = {}) {
      draining = true;
      await Promise.all([...connections].map((connection) => connection.shutdown({ timeoutMs })));
      await endpoint.close({ kind: 'application', code: h3ErrorCodes.H3_NO_ERROR });
    },
  };
}
