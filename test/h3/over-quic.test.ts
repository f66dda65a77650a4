import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectHttp3,
  createHttp3Server,
  createQuicClient,
  createQuicConfig,
  getResponseInfo,
  type Http3Server,
  type QuicEndpoint,
} from '../../src/transport/index.js';
import { createTestPki, serverName, type TestPki } from '../helpers/quic.js';

describe('HTTP/3 over the QUIC transport on loopback', () => {
  let pki: TestPki;
  let server: Http3Server;
  let client: QuicEndpoint;
  const seen: Array<{ path: string; earlyData: boolean }> = [];

  beforeAll(async () => {
    pki = await createTestPki();
    server = await createHttp3Server({
      config: createQuicConfig({ role: 'server', caPem: pki.ca.certPem, certificate: pki.server, ticketKey: randomBytes(48) }),
      handler: async (request, info) => {
        const path = new URL(request.url).pathname;
        seen.push({ path, earlyData: info.earlyData });
        if (path === '/count') {
          // Counts the upload without keeping it: the body must stream, never be buffered whole.
          let bytes = 0;
          for await (const chunk of request.body as ReadableStream<Uint8Array>) bytes += chunk.length;
          return new Response(String(bytes));
        }
        return new Response(`hello ${path}`);
      },
    });
    client = await createQuicClient();
  });
  afterAll(async () => {
    await client.close();
    await server.close({ timeoutMs: 500 });
  });

  const config = () => createQuicConfig({ role: 'client', caPem: pki.ca.certPem, certificate: pki.client });
  const url = (path: string) => `https://${serverName}${path}`;

  it('the second connection sends its request in 0-RTT with the remembered SETTINGS; the server marks it early', async () => {
    let session: Uint8Array | undefined;
    const first = connectHttp3(
      client.connect({ host: '127.0.0.1', port: server.address.port, serverName, config: config(), onSessionTicket: (s) => (session = s) }),
    );
    const response = await first.fetch(new Request(url('/one')));
    expect(await response.text()).toBe('hello /one');
    expect(getResponseInfo(response)?.earlyData).toBe(false);
    const remembered = await first.peerSettings;
    expect(remembered.maxFieldSectionSize).toBe(65_536);
    first.close();

    const second = connectHttp3(
      client.connect({ host: '127.0.0.1', port: server.address.port, serverName, config: config(), session }),
      { rememberedPeerSettings: remembered },
    );
    const early = await second.fetch(new Request(url('/two')));
    expect(await early.text()).toBe('hello /two');
    expect(getResponseInfo(early)?.earlyData).toBe(true);
    // A request made after the handshake on the same connection is not early data.
    const later = await second.fetch(new Request(url('/three')));
    await later.text();
    expect(getResponseInfo(later)?.earlyData).toBe(false);
    expect(seen.filter((s) => s.path !== '/count')).toEqual([
      { path: '/one', earlyData: false },
      { path: '/two', earlyData: true },
      { path: '/three', earlyData: false },
    ]);
    second.close();
  });

  it('streams a 256 MiB upload without buffering it whole', async () => {
    const h3 = connectHttp3(client.connect({ host: '127.0.0.1', port: server.address.port, serverName, config: config() }));
    const total = 256 * 1024 * 1024;
    const chunk = new Uint8Array(256 * 1024).fill(0x5a);
    let sent = 0;
    let peakRss = 0;
    const rssBefore = process.memoryUsage().rss;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
        if (sent >= total) {
          controller.close();
          return;
        }
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const response = await h3.fetch(new Request(url('/count'), { method: 'POST', body, duplex: 'half' } as RequestInit));
    expect(await response.text()).toBe(String(total));
    // Sender and receiver share this process: together they held far less than the upload.
    expect(peakRss - rssBefore).toBeLessThan(96 * 1024 * 1024);
    h3.close();
  }, 120_000);
});
