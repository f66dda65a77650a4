import { randomBytes } from 'node:crypto';
import { QuicConnectionDriver } from '../transport/quic/connection-driver.js';
import type { QuicConfig } from '../transport/quic/config.js';
import { SessionMintingError } from '../errors.js';

const clientAddress = { host: '192.0.2.1', port: 1 };
const serverAddress = { host: '192.0.2.2', port: 443 };

/**
 * Runs a full TLS 1.3 handshake between a client and a server quiche connection wired together in
 * memory (no sockets) and returns the session ticket the server issued. A server started later with
 * the same ticket key and configuration accepts the session in 0-RTT.
 */
export function mintSession(options: { clientConfig: QuicConfig; serverConfig: QuicConfig; serverName: string }): Uint8Array {
  const client = QuicConnectionDriver.connect({
    config: options.clientConfig,
    serverName: options.serverName,
    sourceId: randomBytes(16),
    local: clientAddress,
    remote: serverAddress,
  });
  const server = QuicConnectionDriver.accept({
    config: options.serverConfig,
    sourceId: randomBytes(16),
    local: serverAddress,
    remote: clientAddress,
  });
  let session: Uint8Array | undefined;
  // Handshake (two flights each way) plus the NewSessionTicket that follows it.
  for (let round = 0; round < 8 && session === undefined; round++) {
    for (const datagram of client.datagramsToSend(0)) server.receiveDatagram(datagram, clientAddress, 0);
    for (const datagram of server.datagramsToSend(0)) client.receiveDatagram(datagram, serverAddress, 0);
    for (let event = client.pollEvent(); event !== undefined; event = client.pollEvent()) {
      if (event.type === 'session-ticket') session = event.session;
      if (event.type === 'closed') throw new SessionMintingError(`in-memory handshake failed: ${event.error.message}`, { cause: event.error });
    }
  }
  if (session === undefined) throw new SessionMintingError('in-memory handshake produced no session ticket');
  return session;
}
