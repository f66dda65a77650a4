import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandlerServer, type HandlerServer } from '../../src/handler-server/index.js';
import { createQuicClient, h3ErrorCodes, type Field, type QuicEndpoint } from '../../src/transport/index.js';
import { encodeFrameHeader, frameType } from '../../src/transport/h3/frames.js';
import { createPlatformCA, ZeroRttGenerator, type IssuedCertificate, type PlatformCA, type Provisioned } from '../../src/zero-rtt/index.js';
import { connectRawH3Client, readAnswer, type RawH3Client } from '../helpers/raw-h3.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('handler server over QUIC: request validation, header limits and response metrics', () => {
  let ca: PlatformCA;
  let provisioned: Provisioned;
  let invokerCertificate: IssuedCertificate;
  let endpoint: QuicEndpoint;
  const servers: HandlerServer[] = [];
  const seen: string[] = [];

  beforeAll(async () => {
    ca = await createPlatformCA();
    const generator = new ZeroRttGenerator({ ca });
    provisioned = await generator.provision({ functionName: 'fn', instanceId: 'i-1', hosts: ['127.0.0.1'] });
    invokerCertificate = await generator.invokerCertificate();
    endpoint = await createQuicClient();
  }, 30_000);
  afterAll(async () => {
    await endpoint?.close();
    await Promise.all(servers.map((server) => server.close({ timeoutMs: 100 })));
  });

  const start = async (limits: Parameters<typeof createHandlerServer>[0]['limits'] = {}): Promise<{ server: HandlerServer; client: RawH3Client }> => {
    const server = await createHandlerServer({
      credentials: provisioned.worker,
      host: '127.0.0.1',
      limits,
      handler: (request) => {
        seen.push(`${request.method} ${new URL(request.url).protocol}`);
        return new Response('ran');
      },
    });
    servers.push(server);
    const client = await connectRawH3Client(endpoint, { port: server.address.port, serverName: provisioned.serverName, caPem: ca.certPem, certificate: invokerCertificate });
    return { server, client };
  };
  const fields = (method: string, scheme = 'https', extra: Field[] = []): Field[] => [
    [':method', method],
    [':scheme', scheme],
    [':authority', provisioned.serverName],
    [':path', '/x'],
    ...extra,
  ];

  it(':scheme must be https (421), methods are case-sensitive tokens (501 for unknown, H3_MESSAGE_ERROR for malformed); the handler never runs', async () => {
    const { server, client } = await start();
    seen.length = 0;
    expect((await client.exchange(fields('GET'))).status).toBe(200);
    expect((await client.exchange(fields('GET', 'javascript'))).status).toBe(421);
    expect((await client.exchange(fields('GET', 'http'))).status).toBe(421);
    expect((await client.exchange(fields('GET', 'ftp'))).status).toBe(421);
    expect((await client.exchange(fields('get'))).status).toBe(501);
    expect((await client.exchange(fields('post'))).status).toBe(501);
    expect((await client.exchange(fields('PROPFIND'))).status).toBe(501);
    expect((await client.exchange(fields('TRACE'))).status).toBe(501);
    expect((await client.exchange(fields('CONNECT'))).resetCode).toBe(h3ErrorCodes.H3_MESSAGE_ERROR); // CONNECT with :scheme/:path is malformed
    expect((await client.exchange(fields('GE T'))).resetCode).toBe(h3ErrorCodes.H3_MESSAGE_ERROR);
    expect((await client.exchange(fields('GET\u0001'))).resetCode).toBe(h3ErrorCodes.H3_MESSAGE_ERROR);
    expect((await client.exchange(fields('GET', 'java script'))).resetCode).toBe(h3ErrorCodes.H3_MESSAGE_ERROR);
    expect((await client.exchange(fields('GET', 'https:'))).resetCode).toBe(h3ErrorCodes.H3_MESSAGE_ERROR);
    const userinfo: Field[] = [
      [':method', 'GET'],
      [':scheme', 'https'],
      [':authority', `user@${provisioned.serverName}`],
      [':path', '/x'],
    ];
    expect((await client.exchange(userinfo)).resetCode).toBe(h3ErrorCodes.H3_MESSAGE_ERROR);
    expect(seen).toEqual(['GET https:']);
    // 421 and 501 are answered by the HTTP/3 layer, yet counted like every other response.
    expect(server.metrics().responsesByStatusClass).toMatchObject({ '2xx': 1, '4xx': 3, '5xx': 4 });
  });

  it('431 for a too-large header section is counted in responsesByStatusClass', async () => {
    const { server, client } = await start({ maxFieldSectionSize: 4096 });
    const answer = await client.exchange(fields('GET', 'https', [['x-big', 'a'.repeat(5000)]]));
    expect(answer.status).toBe(431);
    expect(server.metrics().responsesByStatusClass['4xx']).toBe(1);
    expect(server.metrics().requests).toBe(0);
  });

  it('20 streams holding unfinished 130,000-byte HEADERS frames are reset at headersTimeoutMs and their bytes released (metrics().headerSections)', async () => {
    const { server, client } = await start({ headersTimeoutMs: 3000, maxUnfinishedHeaderBytes: 0 });
    const announced = 130_000;
    const partial = Buffer.concat([encodeFrameHeader(frameType.headers, announced), Buffer.alloc(announced - 1, 0x41)]);
    const streams = [];
    for (let i = 0; i < 20; i++) streams.push(await client.openPartial(partial));
    const answers = streams.map((stream) => readAnswer(stream));
    let during = server.metrics().headerSections;
    for (let i = 0; i < 150 && during.bufferedBytes < 20 * partial.length; i++) {
      await sleep(20);
      during = server.metrics().headerSections;
    }
    // Counted from the first byte while no request is in flight.
    expect(during).toMatchObject({ unfinished: 20, bufferedBytes: 20 * partial.length });
    expect(server.metrics().inflight).toBe(0);
    // The deadline is 3 s (the attack held its streams for 70 s).
    const results = await Promise.all(answers);
    expect(results.map((r) => r.resetCode)).toEqual(results.map(() => h3ErrorCodes.H3_REQUEST_INCOMPLETE));
    expect(server.metrics().headerSections).toEqual({ unfinished: 0, bufferedBytes: 0, timedOut: 20, connectionsOverCap: 0 });
    // The connection still serves.
    expect((await client.exchange(fields('GET'))).status).toBe(200);
  }, 20_000);

  it('unfinished header bytes over the per-connection cap close that connection with H3_EXCESSIVE_LOAD', async () => {
    const { server, client } = await start({ maxUnfinishedHeaderBytes: 300_000 });
    const partial = Buffer.concat([encodeFrameHeader(frameType.headers, 130_000), Buffer.alloc(129_999, 0x41)]);
    for (let i = 0; i < 3; i++) await client.openPartial(partial);
    const reason = await Promise.race([client.transport.closed, sleep(10_000).then(() => undefined)]);
    expect(reason).toMatchObject({ errorCode: h3ErrorCodes.H3_EXCESSIVE_LOAD });
    expect(server.metrics().headerSections).toMatchObject({ unfinished: 0, bufferedBytes: 0, connectionsOverCap: 1 });
  }, 20_000);
});
