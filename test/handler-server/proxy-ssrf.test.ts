import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandlerServer, type HandlerServer } from '../../src/handler-server/index.js';
import { createQuicClient, type Field, type QuicEndpoint } from '../../src/transport/index.js';
import { createPlatformCA, ZeroRttGenerator, type Provisioned } from '../../src/zero-rtt/index.js';
import { connectRawH3Client, type RawH3Client } from '../helpers/raw-h3.js';

/** An HTTP server on loopback that records every request line it receives. */
async function recordingServer(name: string): Promise<{ server: http.Server; port: number; hits: string[] }> {
  const hits: string[] = [];
  const server = http.createServer((request, response) => {
    hits.push(`${request.method} ${request.url}`);
    request.resume();
    response.writeHead(200, { 'content-type': 'text/plain' }).end(`${name}: secret meta-data`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { server, port: (server.address() as AddressInfo).port, hits };
}

describe('proxy mode: the request path never chooses the upstream host (SSRF)', () => {
  let victim: Awaited<ReturnType<typeof recordingServer>>;
  let upstream: Awaited<ReturnType<typeof recordingServer>>;
  let worker: HandlerServer;
  let provisioned: Provisioned;
  let endpoint: QuicEndpoint;
  let client: RawH3Client;

  beforeAll(async () => {
    victim = await recordingServer('victim');
    upstream = await recordingServer('function');
    const ca = await createPlatformCA();
    const generator = new ZeroRttGenerator({ ca });
    provisioned = await generator.provision({ functionName: 'fn', instanceId: 'i-1', hosts: ['127.0.0.1'] });
    worker = await createHandlerServer({ credentials: provisioned.worker, host: '127.0.0.1', upstream: `http://127.0.0.1:${upstream.port}` });
    endpoint = await createQuicClient();
    const certificate = await generator.invokerCertificate();
    client = await connectRawH3Client(endpoint, { port: worker.address.port, serverName: provisioned.serverName, caPem: ca.certPem, certificate });
  }, 30_000);

  afterAll(async () => {
    await endpoint?.close();
    await worker?.close({ timeoutMs: 100 });
    victim?.server.close();
    upstream?.server.close();
  });

  const request = (path: string, method = 'GET'): Field[] => [
    [':method', method],
    [':scheme', 'https'],
    [':authority', provisioned.serverName],
    [':path', path],
  ];

  it('a plain path reaches the function', async () => {
    const answer = await client.exchange(request('/hello?x=1'));
    expect(answer).toMatchObject({ status: 200, body: 'function: secret meta-data' });
    expect(upstream.hits).toContain('GET /hello?x=1');
  });

  it('hostile paths get 400 and never reach the victim nor the function', async () => {
    const v = `127.0.0.1:${victim.port}`;
    const hostile = [
      `//${v}/latest/meta-data`,
      `///${v}/latest/meta-data`,
      `/\\${v}/latest/meta-data`,
      `/\\\\${v}/latest/meta-data`,
      `/%5c${v}/latest/meta-data`,
      `/%2f${v}/latest/meta-data`,
      `/a/../..//${v}/x`,
      `/../${v}/x`,
      `/%2e%2e/%2e%2e/x`,
      `/.%2e/x`,
      `/a//b`,
      `/x?\\${v}`,
    ];
    const upstreamBefore = upstream.hits.length;
    for (const path of hostile) {
      for (const method of ['GET', 'POST']) {
        const answer = await client.exchange(request(path, method));
        expect(answer.status, `${method} ${path}`).toBe(400);
        expect(answer.body).not.toContain('secret');
      }
    }
    expect(victim.hits).toEqual([]);
    expect(upstream.hits.length).toBe(upstreamBefore);
    expect(worker.metrics().responsesByStatusClass['4xx']).toBeGreaterThanOrEqual(hostile.length * 2);
  });

  it('absolute-form and authority-form :path are refused before any proxying', async () => {
    const v = `127.0.0.1:${victim.port}`;
    for (const path of [`http://${v}/x`, `https://${v}/x`, v, `@${v}/x`]) {
      const answer = await client.exchange(request(path));
      // Not origin-form: malformed for HTTP/3 (RFC 9114 section 4.3.1), the stream is reset.
      expect(answer.status === 400 || answer.resetCode !== undefined, path).toBe(true);
      expect(answer.body).not.toContain('secret');
    }
    const answer = await client.exchange(request('*', 'OPTIONS'));
    expect(answer.status === 400 || answer.resetCode !== undefined).toBe(true);
    expect(victim.hits).toEqual([]);
  });
});
