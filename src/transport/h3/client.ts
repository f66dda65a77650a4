import { QfaasConfigError } from '../../errors.js';
import type { QuicConnection } from '../quic/connection.js';
import { Http3Connection, type Http3ConnectionOptions } from './connection.js';
import { h3TransportFor } from './transport.js';

/** Speaks HTTP/3 as a client on a QUIC connection from `connect()` (a server uses `serveHttp3`). */
export function connectHttp3(connection: QuicConnection, options: Omit<Http3ConnectionOptions, 'handler' | 'onRequest'> = {}): Http3Connection {
  if (connection.role !== 'client') throw new QfaasConfigError('connection', 'connectHttp3 needs a client QUIC connection (from connect())');
  return new Http3Connection(h3TransportFor(connection), options);
}
