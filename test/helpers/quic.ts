import { randomBytes } from 'node:crypto';
import { afterEach, beforeAll } from 'vitest';
import {
  createQuicClient,
  createQuicServer,
  createQuicConfig,
  type QuicAdmissionOptions,
  type QuicConnection,
  type QuicEndpoint,
  type QuicListenOptions,
  type QuicStream,
  type QuicTransportSettings,
} from '../../src/transport/index.js';
import { createPlatformCA, type IssuedCertificate, type PlatformCA } from '../../src/zero-rtt/index.js';

export const serverName = 'w1.echo.qfaas.internal';

export interface TestPki {
  ca: PlatformCA;
  server: IssuedCertificate;
  client: IssuedCertificate;
}

export async function createTestPki(): Promise<TestPki> {
  const ca = await createPlatformCA({ commonName: 'qfaas test CA' });
  const server = await ca.issue({ role: 'worker', name: serverName, hosts: ['127.0.0.1'] });
  const client = await ca.issue({ role: 'invoker', name: 'invoker.gateway.qfaas.internal' });
  return { ca, server, client };
}

/**
 * For one describe block: a test PKI made once before its tests (read `testbed.pki` inside them),
 * and every server or endpoint given to `track()` closed after each test.
 */
export function useQuicTestbed(): { readonly pki: TestPki; track(...items: Array<{ close(): Promise<void> }>): void } {
  let pki: TestPki | undefined;
  const open: Array<{ close(): Promise<void> }> = [];
  beforeAll(async () => {
    pki = await createTestPki();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((item) => item.close()));
  });
  return {
    get pki() {
      if (pki === undefined) throw new Error('the test PKI is made in beforeAll: read it inside a test');
      return pki;
    },
    track(...items) {
      open.push(...items);
    },
  };
}

/** A CA the test PKI does not trust, with a server certificate for the usual name. */
export async function createImpostor(): Promise<{ ca: PlatformCA; server: IssuedCertificate; client: IssuedCertificate }> {
  const ca = await createPlatformCA({ commonName: 'impostor CA' });
  return {
    ca,
    server: await ca.issue({ role: 'worker', name: serverName, hosts: ['127.0.0.1'] }),
    client: await ca.issue({ role: 'invoker', name: 'invoker.gateway.qfaas.internal' }),
  };
}

export interface ObservedRequest {
  body: Buffer;
  earlyData: boolean;
  connectionInEarlyData: boolean;
}

export interface TestServer {
  endpoint: QuicEndpoint;
  port: number;
  requests: ObservedRequest[];
  connections: QuicConnection[];
  close(): Promise<void>;
}

/**
 * A QUIC server that reads each bidirectional stream to its end and answers with
 * `respond(body)` (default: "echo:" + body), recording whether the request arrived in early data.
 */
export async function startTestServer(
  pki: TestPki,
  options: {
    ticketKey?: Uint8Array;
    clientAuth?: 'required' | 'none';
    retry?: QuicListenOptions['retry'];
    /** maxConnections, maxHalfOpenConnections, handshakeTimeoutMs as the endpoint takes them. */
    admission?: Omit<QuicAdmissionOptions, 'retry'>;
    transport?: QuicTransportSettings;
    respond?: (body: Buffer, stream: QuicStream) => Uint8Array | Promise<Uint8Array>;
    port?: number;
  } = {},
): Promise<TestServer> {
  const requests: ObservedRequest[] = [];
  const connections: QuicConnection[] = [];
  const config = createQuicConfig({
    role: 'server',
    caPem: pki.ca.certPem,
    certificate: pki.server,
    ticketKey: options.ticketKey ?? randomBytes(48),
    clientAuth: options.clientAuth ?? 'required',
    ...(options.transport === undefined ? {} : { transport: options.transport }),
  });
  const respond = options.respond ?? ((body: Buffer) => Buffer.concat([Buffer.from('echo:'), body]));
  const endpoint = await createQuicServer({
    port: options.port ?? 0,
    config,
    ...(options.retry === undefined ? {} : { retry: options.retry }),
    ...options.admission,
    onConnection(connection) {
      connections.push(connection);
      connection.onStream = (stream) => {
        if (!stream.bidirectional) return;
        void (async () => {
          try {
            const connectionInEarlyData = connection.inEarlyData;
            const body = await stream.readAll();
            requests.push({ body, earlyData: stream.earlyData, connectionInEarlyData });
            await stream.end(await respond(body, stream));
          } catch {
            // streams reset by the test
          }
        })();
      };
    },
  });
  return {
    endpoint,
    port: endpoint.address.port,
    requests,
    connections,
    close: () => endpoint.close(),
  };
}

export function clientConfig(pki: TestPki, options: { withCertificate?: boolean; transport?: QuicTransportSettings } = {}) {
  return createQuicConfig({
    role: 'client',
    caPem: pki.ca.certPem,
    ...(options.withCertificate === false ? {} : { certificate: pki.client }),
    ...(options.transport === undefined ? {} : { transport: options.transport }),
  });
}

/** Sends `body` on a new stream and returns the whole response. */
export async function request(connection: QuicConnection, body: Uint8Array): Promise<Buffer> {
  const stream = await connection.openBidirectionalStream();
  await stream.end(body);
  return stream.readAll();
}

export { createQuicClient };
