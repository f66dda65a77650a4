import { createHash, randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writePeerPki } from '../helpers/peer-pki.js';
import {
  connectHttp3,
  createHttp3Server,
  createQuicClient,
  createQuicConfig,
  type Http3Connection,
  type Http3Server,
  type QuicEndpoint,
} from '../../src/transport/index.js';
import {
  buildQuicGoPeer,
  runQuicGoClient,
  startQuicGoServer,
  type QuicGoConcurrentResult,
  type QuicGoGetResult,
  type QuicGoPostShaResult,
  type QuicGoServer,
} from './quic-go-peer.js';

const serverName = 'w1.interop.qfaas.internal';
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/** The routes both peers implement (see interop/peers/qgpeer/main.go), here on qfaas's HTTP/3 server. */
async function qfaasRoutes(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (request.method === 'GET' && url.pathname === '/hello') {
    return new Response('hello from qfaas', { headers: { 'x-peer': 'qfaas' } });
  }
  if (request.method === 'POST' && url.pathname === '/sha256') {
    const body = new Uint8Array(await request.arrayBuffer());
    return new Response(sha256(body), { headers: { 'x-body-length': String(body.length) } });
  }
  if (url.pathname === '/headers') {
    const seen: Record<string, string> = { ':method': request.method, ':path': url.pathname + url.search };
    for (const [name, value] of request.headers) seen[name] = value;
    return Response.json(seen);
  }
  const status = /^\/status\/(\d{3})$/.exec(url.pathname);
  if (status !== null) return new Response(`status ${status[1]}`, { status: Number(status[1]), headers: { 'x-status-test': 'yes' } });
  return new Response('not found', { status: 404 });
}

describe('interop with quic-go 0.29 (HTTP/3, mutual TLS)', () => {
  let binary: string;
  let dir: string;
  let files: { ca: string; serverCert: string; serverKey: string; clientCert: string; clientKey: string };
  let caPem: string;
  let clientCertificate: { certPem: string; keyPem: string };
  let serverCertificate: { certPem: string; keyPem: string };

  beforeAll(async () => {
    // No skip: if the Go peer cannot be built, this fails and says why.
    binary = await buildQuicGoPeer();
    ({ dir, caPem, serverCertificate, clientCertificate, files } = await writePeerPki({ serverName, clientName: 'interop-client', prefix: 'qfaas-interop-' }));
  }, 300_000);

  afterAll(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  describe("quic-go's HTTP/3 client against a qfaas server", () => {
    let server: Http3Server;
    beforeAll(async () => {
      server = await createHttp3Server({
        config: createQuicConfig({ role: 'server', caPem, certificate: serverCertificate, ticketKey: randomBytes(48) }),
        handler: qfaasRoutes,
      });
    });
    afterAll(async () => {
      await server.close({ timeoutMs: 1000 });
    });

    const client = (test: string, args: string[] = []) =>
      runQuicGoClient({
        binary,
        url: `https://127.0.0.1:${server.address.port}`,
        caFile: files.ca,
        serverName,
        certFile: files.clientCert,
        keyFile: files.clientKey,
        test,
        args,
      });

    it('GET: status, headers and body', async () => {
      const result = (await client('get', ['-path', '/hello'])) as QuicGoGetResult;
      expect(result.status).toBe(200);
      expect(result.headers['x-peer']).toBe('qfaas');
      expect(result.body).toBe('hello from qfaas');
    });

    it('POST with a 1 MiB body, checked by hash', async () => {
      const result = (await client('post-sha', ['-size', String(1024 * 1024), '-path', '/sha256'])) as QuicGoPostShaResult;
      expect(result.status).toBe(200);
      expect(result.body).toBe(result.sent_sha256);
      expect(result.headers['x-body-length']).toBe(String(1024 * 1024));
    });

    it('50 concurrent requests', async () => {
      const result = (await client('concurrent', ['-n', '50', '-path', '/hello'])) as QuicGoConcurrentResult;
      expect(result.ok).toBe(50);
      expect(result.bodies.every((body) => body === 'hello from qfaas')).toBe(true);
    });

    it('request headers reach the handler; a non-200 status and its headers come back', async () => {
      const headers = (await client('headers', ['-path', '/headers'])) as QuicGoGetResult;
      expect(headers.status).toBe(200);
      const seen = JSON.parse(headers.body) as Record<string, string>;
      expect(seen).toMatchObject({ ':method': 'GET', ':path': '/headers', 'x-test-one': '1', 'x-test-two': 'two' });
      const teapot = (await client('get', ['-path', '/status/418'])) as QuicGoGetResult;
      expect(teapot.status).toBe(418);
      expect(teapot.headers['x-status-test']).toBe('yes');
      expect(teapot.body).toBe('status 418');
    });

    it('a quic-go client without a client certificate is refused', async () => {
      await expect(
        runQuicGoClient({ binary, url: `https://127.0.0.1:${server.address.port}`, caFile: files.ca, serverName, test: 'get' }),
      ).rejects.toThrow();
    });
  });

  describe("the qfaas client against quic-go's HTTP/3 server", () => {
    let goServer: QuicGoServer;
    let endpoint: QuicEndpoint;
    let h3: Http3Connection;
    beforeAll(async () => {
      goServer = await startQuicGoServer({
        binary,
        certFile: files.serverCert,
        keyFile: files.serverKey,
        caFile: files.ca,
        clientAuth: true,
      });
      endpoint = await createQuicClient();
      const quic = endpoint.connect({
        host: '127.0.0.1',
        port: goServer.port,
        serverName,
        config: createQuicConfig({ role: 'client', caPem, certificate: clientCertificate }),
      });
      h3 = connectHttp3(quic);
    });
    afterAll(async () => {
      h3?.close();
      await endpoint?.close();
      await goServer?.stop();
    });

    const url = (path: string) => `https://${serverName}:${goServer.port}${path}`;

    it('GET: status, headers and body', async () => {
      const response = await h3.fetch(new Request(url('/hello')));
      expect(response.status).toBe(200);
      expect(response.headers.get('x-peer')).toBe('quic-go');
      expect(await response.text()).toBe('hello from quic-go');
    });

    it('POST with a 1 MiB body, checked by hash', async () => {
      const body = randomBytes(1024 * 1024);
      const response = await h3.fetch(new Request(url('/sha256'), { method: 'POST', body }));
      expect(response.status).toBe(200);
      expect(response.headers.get('x-body-length')).toBe(String(body.length));
      expect(await response.text()).toBe(sha256(body));
    });

    it('50 concurrent requests on one connection', async () => {
      const bodies = await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const response = await h3.fetch(new Request(url(`/hello?i=${i}`)));
          expect(response.status).toBe(200);
          return response.text();
        }),
      );
      expect(bodies.every((body) => body === 'hello from quic-go')).toBe(true);
    });

    it('request headers reach quic-go; a non-200 status and its headers come back', async () => {
      const echoed = await h3.fetch(new Request(url('/headers'), { headers: { 'x-test-one': '1', 'x-test-two': 'two' } }));
      const seen = (await echoed.json()) as Record<string, string>;
      expect(seen).toMatchObject({ ':method': 'GET', ':path': '/headers', 'x-test-one': '1', 'x-test-two': 'two' });
      const teapot = await h3.fetch(new Request(url('/status/418')));
      expect(teapot.status).toBe(418);
      expect(teapot.headers.get('x-status-test')).toBe('yes');
      expect(await teapot.text()).toBe('status 418');
    });

    it('a large response body streams intact', async () => {
      const response = await h3.fetch(new Request(url('/bytes?n=3000000')));
      const body = new Uint8Array(await response.arrayBuffer());
      expect(body.length).toBe(3_000_000);
      expect(body.every((byte, i) => byte === i % 251)).toBe(true);
    });
  });
});
