import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { connectHttp3, createHttp3Server, createQuicClient, createQuicServer, createQuicConfig, type H3Stream, type Http3Connection, type Http3PeerSettings, type Http3RequestHandler, type Http3Server, type Http3ServerOptions, type QuicEndpoint } from '../../src/transport/index.js';
import { encodeSettingsFrame, encodeStreamType, streamType } from '../../src/transport/h3/frames.js';
import { h3TransportFor } from '../../src/transport/h3/transport.js';
import { createTestPki, serverName, type TestPki } from './quic.js';
import { rawH3Client, type RawH3Client } from './raw-h3.js';

export interface LeanH3Testbed {
  readonly pki: TestPki;
  /** The `:authority` the servers' certificate is for. */
  readonly authority: string;
  /** An HTTP/3 server on loopback answering with `onRequest` (closed after the test). */
  server(onRequest: Http3RequestHandler, options?: Partial<Http3ServerOptions>): Promise<Http3Server>;
  /** A client HTTP/3 connection to `port` (closed after the test); a session makes it 0-RTT. */
  connect(
    port: number,
    options?: { session?: Uint8Array; rememberedPeerSettings?: Http3PeerSettings; maxFieldSectionSize?: number; onSessionTicket?: (ticket: Uint8Array) => void },
  ): Http3Connection;
  /** A hand-written HTTP/3 client (test/helpers/raw-h3.ts) on a new connection to `port`, closed after the test. */
  rawClient(port: number): Promise<RawH3Client>;
  /** A raw HTTP/3 server (see {@link startRawH3Server}), closed after the test. */
  rawServer(respond: (request: Uint8Array) => Uint8Array): Promise<{ port: number }>;
  /** One full-handshake request to `port`; returns the last session ticket and the server's SETTINGS. */
  session(port: number): Promise<{ session: Uint8Array; settings: Http3PeerSettings }>;
}

/**
 * For one describe block of lean HTTP/3 tests over real QUIC on loopback: a test PKI and one
 * client endpoint made once, and every server and client connection made through the testbed
 * closed after each test.
 */
export function useLeanH3Testbed(): LeanH3Testbed {
  let pki: TestPki | undefined;
  let endpoint: QuicEndpoint | undefined;
  const servers: Array<{ close(options?: { timeoutMs?: number }): Promise<void> }> = [];
  const clients: Http3Connection[] = [];
  beforeAll(async () => {
    pki = await createTestPki();
    endpoint = await createQuicClient();
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await Promise.all(servers.splice(0).map((server) => server.close({ timeoutMs: 100 })));
  });
  afterAll(async () => {
    await endpoint?.close();
  });
  const made = () => {
    if (pki === undefined || endpoint === undefined) throw new Error('the testbed is made in beforeAll: use it inside a test');
    return { pki, endpoint };
  };
  /** A client QUIC connection to `port` with the testbed's client certificate. */
  const dial = (port: number, extra: { session?: Uint8Array; onSessionTicket?: (ticket: Uint8Array) => void } = {}) => {
    const { pki: p, endpoint: e } = made();
    return e.connect({
      host: '127.0.0.1',
      port,
      serverName,
      config: createQuicConfig({ role: 'client', caPem: p.ca.certPem, certificate: p.client }),
      ...(extra.session === undefined ? {} : { session: extra.session }),
      ...(extra.onSessionTicket === undefined ? {} : { onSessionTicket: extra.onSessionTicket }),
    });
  };
  const testbed: LeanH3Testbed = {
    get pki() {
      return made().pki;
    },
    authority: serverName,
    async server(onRequest, options = {}) {
      const { pki: p } = made();
      const server = await createHttp3Server({
        host: '127.0.0.1',
        config: createQuicConfig({ role: 'server', caPem: p.ca.certPem, certificate: p.server, ticketKey: randomBytes(48) }),
        onRequest,
        ...options,
      });
      servers.push(server);
      return server;
    },
    connect(port, options = {}) {
      const quic = dial(port, options);
      const h3 = connectHttp3(quic, {
        ...(options.rememberedPeerSettings === undefined ? {} : { rememberedPeerSettings: options.rememberedPeerSettings }),
        ...(options.maxFieldSectionSize === undefined ? {} : { maxFieldSectionSize: options.maxFieldSectionSize }),
      });
      clients.push(h3);
      return h3;
    },
    async rawClient(port) {
      const quic = dial(port);
      servers.push({ close: () => quic.close() });
      await quic.handshake;
      return rawH3Client(quic);
    },
    async rawServer(respond) {
      const raw = await startRawH3Server(made().pki, respond);
      servers.push(raw);
      return raw;
    },
    async session(port) {
      const tickets: Uint8Array[] = [];
      const h3 = testbed.connect(port, { onSessionTicket: (ticket) => tickets.push(ticket) });
      const response = await h3.request({ path: '/session', authority: serverName });
      await response.body.dump();
      const settings = await h3.peerSettings;
      // The ticket arrives with (or just after) the handshake's last flight.
      for (let i = 0; i < 100 && tickets.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      h3.close();
      const session = tickets.at(-1);
      if (session === undefined) throw new Error('the server sent no session ticket');
      return { session, settings };
    },
  };
  return testbed;
}

/** A raw HTTP/3 server on loopback: each request stream is read to its end and answered with `respond`'s bytes as they are. */
export async function startRawH3Server(
  pki: TestPki,
  respond: (request: Uint8Array) => Uint8Array,
): Promise<{ port: number; close(): Promise<void> }> {
  const endpoint = await createQuicServer({
    host: '127.0.0.1',
    port: 0,
    config: createQuicConfig({ role: 'server', caPem: pki.ca.certPem, certificate: pki.server, ticketKey: randomBytes(48) }),
    onConnection(quic) {
      const transport = h3TransportFor(quic);
      transport.setStreamHandler((stream: H3Stream) => {
        if (!stream.bidirectional) return;
        void (async () => {
          try {
            const parts: Uint8Array[] = [];
            for (let chunk = await stream.read(); chunk !== null; chunk = await stream.read()) parts.push(chunk);
            await stream.end(respond(Buffer.concat(parts)));
          } catch {
            // reset by the client
          }
        })();
      });
      void (async () => {
        try {
          const control = await transport.openUnidirectionalStream();
          await control.write(Buffer.concat([encodeStreamType(streamType.control), encodeSettingsFrame(new Map())]));
        } catch {
          // the connection closed first
        }
      })();
    },
  });
  return { port: endpoint.address.port, close: () => endpoint.close() };
}

