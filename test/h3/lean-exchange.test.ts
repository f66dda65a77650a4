import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { h3ErrorCodes, Http3Error, Http3FieldSectionTooLargeError, type Field, type Http3IncomingRequest, type Http3RequestInfo, type OutgoingResponse } from '../../src/transport/index.js';
import { encodeFieldSection } from '../../src/transport/h3/qpack/field-section.js';
import { encodeFrame, frameType } from '../../src/transport/h3/frames.js';
import { useLeanH3Testbed } from '../helpers/lean-h3.js';
import { readAnswer } from '../helpers/raw-h3.js';

const headersFrame = (fields: Field[]) => encodeFrame(frameType.headers, encodeFieldSection(fields));
const dataFrame = (bytes: string | Uint8Array) => encodeFrame(frameType.data, typeof bytes === 'string' ? Buffer.from(bytes) : bytes);
const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves the first time `signal` fires (a handler waiting to be cancelled). */
const aborted = (signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });

describe('Http3Connection.request ⇄ onRequest over QUIC on loopback', () => {
  const testbed = useLeanH3Testbed();
  const authority = testbed.authority;

  it('headers: a null-prototype record (repeats joined) and a headerList (repeats apart), both ways', async () => {
    let seen: Http3IncomingRequest | undefined;
    const server = await testbed.server((request) => {
      seen = request;
      return {
        statusCode: 201,
        headers: ['set-cookie', 'a=1', 'set-cookie', 'b=2', 'X-Mixed-Case', 'yes', 'content-type', 'text/plain'],
        body: 'created',
      };
    });
    const h3 = testbed.connect(server.address.port);
    const response = await h3.request({
      method: 'GET',
      path: '/items/7?sort=desc&x=%2F',
      authority,
      headers: { 'X-Upper': 'kept', accept: ['text/plain', 'application/json'], 'x-count': 3, 'x-skipped': undefined },
    });
    expect(response.statusCode).toBe(201);
    expect(Object.getPrototypeOf(response.headers)).toBeNull();
    expect(response.headers['set-cookie']).toBe('a=1, b=2');
    expect(response.headers['x-mixed-case']).toBe('yes');
    expect(response.headerList.filter(([name]) => name === 'set-cookie')).toEqual([
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
    ]);
    expect(await response.body.text()).toBe('created');
    expect(response.streamId).toBe(0);
    expect(response.earlyData).toBe(false);

    const request = seen as Http3IncomingRequest;
    expect(request).toMatchObject({ method: 'GET', path: '/items/7?sort=desc&x=%2F', authority, scheme: 'https' });
    expect(Object.getPrototypeOf(request.headers)).toBeNull();
    expect(request.headers['x-upper']).toBe('kept');
    expect(request.headers.accept).toBe('text/plain, application/json');
    expect(request.headers['x-count']).toBe('3');
    expect('x-skipped' in request.headers).toBe(false);
    expect(request.headerList.filter(([name]) => name === 'accept')).toEqual([
      ['accept', 'text/plain'],
      ['accept', 'application/json'],
    ]);
    // No pseudo-headers among the regular fields.
    expect(request.headerList.some(([name]) => name.startsWith(':'))).toBe(false);
  });

  it('a field named __proto__ stays plain data in the record (flat-list headers)', async () => {
    let seen: Http3IncomingRequest | undefined;
    const server = await testbed.server((request) => {
      seen = request;
      return { statusCode: 200, headers: ['__proto__', 'back'] };
    });
    const response = await testbed.connect(server.address.port).request({ path: '/', authority, headers: ['__proto__', 'polluted', 'x-two', 'a', 'x-two', 'b'] });
    await response.body.dump();
    expect(Object.getPrototypeOf(seen?.headers)).toBeNull();
    expect(Object.keys(seen?.headers ?? {})).toContain('__proto__');
    expect(seen?.headers['__proto__']).toBe('polluted');
    expect(seen?.headers['x-two']).toBe('a, b');
    expect(response.headers['__proto__']).toBe('back');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a header that cannot be sent fails the request locally with H3_MESSAGE_ERROR; nothing reaches the server', async () => {
    let handled = 0;
    const server = await testbed.server(() => {
      handled++;
      return { statusCode: 204 };
    });
    const h3 = testbed.connect(server.address.port);
    for (const headers of [{ 'x-bad': 'line\r\nbreak' }, { 'bad name': 'v' }, ['odd-length-list']]) {
      const error = await h3.request({ path: '/', authority, headers }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Http3Error);
      expect(error).toMatchObject({ errorName: 'H3_MESSAGE_ERROR', initiator: 'local' });
    }
    const fine = await h3.request({ path: '/', authority });
    expect(fine.statusCode).toBe(204);
    expect(handled).toBe(1);
    expect(h3.closeError).toBeUndefined();
  });

  it('request bodies: text, small and large bytes, an async iterable of mixed chunks, and a received body streamed on', async () => {
    const server = await testbed.server(async (request) => {
      const bytes = await request.body.bytes();
      return { statusCode: 200, headers: { 'x-length': bytes.length }, body: sha256(bytes) };
    });
    const h3 = testbed.connect(server.address.port);
    const post = async (body: Parameters<typeof h3.request>[0]['body']) => {
      const response = await h3.request({ method: 'POST', path: '/hash', authority, body });
      return { length: Number(response.headers['x-length']), hash: await response.body.text() };
    };
    expect(await post('héllo')).toEqual({ length: Buffer.byteLength('héllo'), hash: sha256('héllo') });
    const small = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);
    expect(await post(small)).toEqual({ length: 1000, hash: sha256(small) });
    // Above the 16 KiB coalescing limit: headers, DATA header and the bytes in separate writes.
    const large = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 7) % 256);
    expect(await post(large)).toEqual({ length: large.length, hash: sha256(large) });
    expect(await post(new Uint8Array(0))).toEqual({ length: 0, hash: sha256('') });
    async function* chunks() {
      yield 'first,';
      await delay(5);
      yield new Uint8Array(0);
      yield Buffer.from('second,');
      yield new Uint8Array(40_000).fill(65);
      yield 'last';
    }
    const expected = Buffer.concat([Buffer.from('first,second,'), new Uint8Array(40_000).fill(65), Buffer.from('last')]);
    expect(await post(chunks())).toEqual({ length: expected.length, hash: sha256(expected) });
    // A response body read from one exchange feeds the upload of another, chunk by chunk.
    const source = await testbed.server(() => ({ statusCode: 200, body: large }));
    const downloaded = await testbed.connect(source.address.port).request({ path: '/large', authority });
    expect(await post(downloaded.body)).toEqual({ length: large.length, hash: sha256(large) });
  });

  it('a request body the handler never reads is stopped once the response is out: the stream ends and its credit returns', async () => {
    let handled = 0;
    const server = await testbed.server(() => {
      handled++;
      return { statusCode: 200, body: 'ignored your upload' };
    });
    const h3 = testbed.connect(server.address.port);
    const upload = new Uint8Array(2 * 1024 * 1024);
    // Each unread upload used to keep its stream open: the client ran out of streams after 16.
    for (let i = 0; i < 30; i++) {
      const exchange = h3.request({ method: 'POST', path: `/upload/${i}`, authority, body: upload });
      const response = await Promise.race([exchange, delay(5_000).then(() => Promise.reject(new Error(`request ${i} never reached the server`)))]);
      expect(await response.body.text()).toBe('ignored your upload');
    }
    expect(handled).toBe(30);
    expect(h3.closeError).toBeUndefined();
  });

  it('a GET body is read and checked but not handed to the handler', async () => {
    let seenBody: Uint8Array | undefined;
    const server = await testbed.server(async (request) => {
      seenBody = await request.body.bytes();
      return { statusCode: 200, body: 'ok' };
    });
    const response = await testbed.connect(server.address.port).request({ method: 'GET', path: '/', authority, body: 'ignored' });
    expect(await response.body.text()).toBe('ok');
    expect(seenBody?.length).toBe(0);
  });

  it('response bodies: string, bytes, async generator, and the request body echoed (full duplex)', async () => {
    const server = await testbed.server((request): OutgoingResponse => {
      switch (request.path) {
        case '/string':
          return { statusCode: 200, body: 'plain text' };
        case '/bytes':
          return { statusCode: 200, body: Uint8Array.of(1, 2, 3) };
        case '/generator':
          return {
            statusCode: 200,
            body: (async function* () {
              for (let i = 0; i < 5; i++) {
                await delay(2);
                yield `part${i};`;
              }
            })(),
          };
        default:
          return { statusCode: 200, body: request.body };
      }
    });
    const h3 = testbed.connect(server.address.port);
    expect(await (await h3.request({ path: '/string', authority })).body.text()).toBe('plain text');
    expect(Array.from(await (await h3.request({ path: '/bytes', authority })).body.bytes())).toEqual([1, 2, 3]);
    expect(await (await h3.request({ path: '/generator', authority })).body.text()).toBe('part0;part1;part2;part3;part4;');

    // Each chunk comes back before the next one is produced.
    let sendNext: ((chunk: string | null) => void) | undefined;
    const upload: AsyncIterable<string> = {
      [Symbol.asyncIterator]: () => ({
        next: () =>
          new Promise<IteratorResult<string>>((resolve) => {
            sendNext = (chunk) => resolve(chunk === null ? { done: true, value: undefined } : { done: false, value: chunk });
          }),
      }),
    };
    const pending = h3.request({ method: 'POST', path: '/echo', authority, body: upload });
    await expect.poll(() => sendNext).toBeDefined();
    sendNext?.('ping one');
    const response = await pending;
    expect(Buffer.from((await response.body.read()) as Uint8Array).toString()).toBe('ping one');
    sendNext?.('ping two');
    expect(Buffer.from((await response.body.read()) as Uint8Array).toString()).toBe('ping two');
    sendNext?.(null);
    expect(await response.body.read()).toBeNull();
  });

  it('a streamed body whose producer pauses before it ends still ends: its FIN is never a bare one (quiche drops those once all data was acked)', async () => {
    // Both directions: a response body from the handler, and a request body from the client.
    const server = await testbed.server(async (request) => {
      const received = (await request.body.bytes()).length;
      return {
        statusCode: 200,
        headers: { 'x-received': received },
        body: (async function* () {
          yield new Uint8Array(20_000);
          // Long enough for the client to acknowledge everything before the end is written.
          await delay(10);
        })(),
      };
    });
    const h3 = testbed.connect(server.address.port);
    const withinSeconds = <T>(promise: Promise<T>) =>
      Promise.race([promise, delay(3_000).then(() => Promise.reject(new Error('the stream never ended')))]);
    for (let i = 0; i < 25; i++) {
      const upload = (async function* () {
        yield new Uint8Array(3000);
        await delay(10);
      })();
      const response = await withinSeconds(h3.request({ method: 'POST', path: `/pause/${i}`, authority, body: upload }));
      expect(response.headers['x-received']).toBe('3000');
      expect((await withinSeconds(response.body.bytes())).length).toBe(20_000);
    }
  });

  it('MessageBody: read() chunk by chunk, json(), arrayBuffer(), async iteration, toWebStream(), bodyUsed and ended', async () => {
    const server = await testbed.server((request) => {
      if (request.path === '/json') return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ok: true, n: [1, 2] }) };
      return {
        statusCode: 200,
        body: (async function* () {
          for (let i = 0; i < 4; i++) {
            yield new Uint8Array(20_000).fill(i);
            await delay(1);
          }
        })(),
      };
    });
    const h3 = testbed.connect(server.address.port);

    const json = await h3.request({ path: '/json', authority });
    expect(json.body.bodyUsed).toBe(false);
    expect(await json.body.json()).toEqual({ ok: true, n: [1, 2] });
    expect(json.body.bodyUsed).toBe(true);
    // Once ended, reads return null.
    expect(await json.body.read()).toBeNull();
    await json.body.ended;

    const chunked = await h3.request({ path: '/chunks', authority });
    let total = 0;
    for (let chunk = await chunked.body.read(); chunk !== null; chunk = await chunked.body.read()) total += chunk.length;
    expect(total).toBe(80_000);

    const buffer = await (await h3.request({ path: '/chunks', authority })).body.arrayBuffer();
    expect(buffer).toBeInstanceOf(ArrayBuffer);
    expect(buffer.byteLength).toBe(80_000);
    expect(new Uint8Array(buffer)[79_999]).toBe(3);

    const iterated = await h3.request({ path: '/chunks', authority });
    const seen = new Set<number>();
    let iteratedBytes = 0;
    for await (const chunk of iterated.body) {
      iteratedBytes += chunk.length;
      for (const byte of chunk) seen.add(byte);
    }
    expect(iteratedBytes).toBe(80_000);
    expect([...seen].sort()).toEqual([0, 1, 2, 3]);

    const web = await h3.request({ path: '/chunks', authority });
    const fromStream = new Uint8Array(await new Response(web.body.toWebStream()).arrayBuffer());
    expect(fromStream.length).toBe(80_000);

    // The connection is idle again: every exchange settled once its body was read.
    await expect.poll(() => h3.activeRequests).toBe(0);
  });

  it('MessageBody: dump() discards the rest; cancel() and breaking out of for-await stop the server sending', async () => {
    let serverAborts = 0;
    const server = await testbed.server((_request, info) => {
      info.signal.addEventListener('abort', () => serverAborts++);
      return {
        statusCode: 200,
        body: (async function* () {
          // Endless unless the client stops it.
          for (;;) {
            yield new Uint8Array(4096);
            await delay(1);
            if (info.aborted) return;
          }
        })(),
      };
    });
    const finite = await testbed.server(() => ({ statusCode: 200, body: new Uint8Array(100_000) }));
    const h3 = testbed.connect(server.address.port);

    const dumped = await testbed.connect(finite.address.port).request({ path: '/', authority });
    await dumped.body.dump();
    expect(dumped.body.bodyUsed).toBe(true);
    expect(await dumped.body.read()).toBeNull();

    const cancelled = await h3.request({ path: '/endless', authority });
    expect((await cancelled.body.read())?.length).toBeGreaterThan(0);
    cancelled.body.cancel();
    expect(await cancelled.body.read()).toBeNull();
    await cancelled.body.ended;

    const broken = await h3.request({ path: '/endless', authority });
    for await (const chunk of broken.body) {
      expect(chunk.length).toBeGreaterThan(0);
      break;
    }
    expect(await broken.body.read()).toBeNull();

    // Both endless responses were stopped: the server saw each request cancelled.
    await expect.poll(() => serverAborts, { timeout: 5_000 }).toBe(2);
    await expect.poll(() => h3.activeRequests).toBe(0);
    expect(h3.closeError).toBeUndefined();
  });

  it('cancelling a response body the server is blocked on (flow control) reaches the server at once (STOP_SENDING is flushed)', async () => {
    let produced = 0;
    let serverInfo: Http3RequestInfo | undefined;
    const server = await testbed.server((_request, info) => {
      serverInfo = info;
      return {
        statusCode: 200,
        body: (async function* () {
          for (;;) {
            produced++;
            yield new Uint8Array(16 * 1024);
          }
        })(),
      };
    });
    const h3 = testbed.connect(server.address.port);
    const response = await h3.request({ path: '/endless', authority });
    expect((await response.body.read())?.length).toBeGreaterThan(0);
    // Read nothing more until the server stops producing: it waits for flow-control credit.
    let last = -1;
    while (produced !== last) {
      last = produced;
      await delay(200);
    }
    expect(serverInfo?.aborted).toBe(false);
    // Nothing else is in flight on this connection: only the cancel's STOP_SENDING can tell the server.
    response.body.cancel();
    await expect.poll(() => serverInfo?.aborted, { timeout: 5_000 }).toBe(true);
    expect(h3.closeError).toBeUndefined();
  });

  it('a response the client stopped while the handler was between chunks: the next write fails and aborts info.signal (never waits forever)', async () => {
    let serverInfo: Http3RequestInfo | undefined;
    let wrote = 0;
    const server = await testbed.server((_request, info) => {
      serverInfo = info;
      return {
        statusCode: 200,
        body: (async function* () {
          yield 'first chunk';
          wrote++;
          // Meanwhile the client stops the stream; quiche resets it and forgets it once that is acknowledged.
          await delay(400);
          yield 'second chunk';
          wrote++;
          await delay(400);
          yield 'third chunk';
        })(),
      };
    });
    const h3 = testbed.connect(server.address.port);
    const response = await h3.request({ path: '/', authority });
    expect(Buffer.from((await response.body.read()) as Uint8Array).toString()).toBe('first chunk');
    response.body.cancel();
    await expect.poll(() => serverInfo?.aborted, { timeout: 5_000 }).toBe(true);
    expect(wrote).toBeGreaterThanOrEqual(1);
    expect(h3.closeError).toBeUndefined();
  });

  it('trailers: a request’s trailers reach the handler once it read the body (null-prototype record)', async () => {
    let trailers: Record<string, string> | undefined;
    let trailersBeforeBody: number | undefined;
    const server = await testbed.server(async (request) => {
      trailersBeforeBody = Object.keys(request.trailers).length;
      const text = await request.body.text();
      trailers = { ...request.trailers };
      expect(Object.getPrototypeOf(request.trailers)).toBeNull();
      return { statusCode: 200, body: text };
    });
    const raw = await testbed.rawClient(server.address.port);
    const stream = await raw.openPartial(
      Buffer.concat([
        headersFrame([[':method', 'POST'], [':scheme', 'https'], [':authority', authority], [':path', '/t']]),
        dataFrame('body bytes'),
        headersFrame([['x-checksum', 'abc'], ['x-checksum', 'def']]),
      ]),
    );
    await stream.end();
    const answer = await readAnswer(stream);
    expect(answer).toMatchObject({ status: 200, body: 'body bytes' });
    expect(trailersBeforeBody).toBe(0);
    expect(trailers).toEqual({ 'x-checksum': 'abc, def' });
  });

  it('trailers: a response’s trailers fill in once its body was read; informational responses are skipped', async () => {
    const raw = await testbed.rawServer(() =>
      Buffer.concat([
        headersFrame([[':status', '103'], ['link', '</style.css>']]),
        headersFrame([[':status', '200'], ['content-length', '5']]),
        dataFrame('hello'),
        headersFrame([['x-trailer', 'one'], ['x-trailer', 'two'], ['server-timing', 'fn;dur=3']]),
      ]),
    );
    const response = await testbed.connect(raw.port).request({ path: '/', authority });
    expect(response.statusCode).toBe(200);
    expect(response.headers.link).toBeUndefined();
    expect(Object.keys(response.trailers)).toEqual([]);
    expect(await response.body.text()).toBe('hello');
    expect(Object.getPrototypeOf(response.trailers)).toBeNull();
    expect(response.trailers).toEqual({ 'x-trailer': 'one, two', 'server-timing': 'fn;dur=3' });
  });

  it('a response whose DATA disagrees with its content-length rejects when read (H3_MESSAGE_ERROR)', async () => {
    const raw = await testbed.rawServer(() => Buffer.concat([headersFrame([[':status', '200'], ['content-length', '10']]), dataFrame('short')]));
    const h3 = testbed.connect(raw.port);
    const response = await h3.request({ path: '/', authority });
    await expect(response.body.text()).rejects.toMatchObject({ errorName: 'H3_MESSAGE_ERROR', scope: 'stream' });
    expect(h3.closeError).toBeUndefined();
  });

  it('HEAD, 204 and 304 responses have no body; HEAD keeps the headers the GET would have', async () => {
    const server = await testbed.server((request) => {
      if (request.method === 'HEAD') return { statusCode: 200, headers: { 'content-length': 11, etag: '"v1"' }, body: 'not sent!!!' };
      if (request.path === '/none') return { statusCode: 204, headers: { 'x-done': '1' } };
      return { statusCode: 304, headers: { etag: '"v1"' } };
    });
    const h3 = testbed.connect(server.address.port);
    const head = await h3.request({ method: 'HEAD', path: '/', authority });
    expect(head.statusCode).toBe(200);
    expect(head.headers).toMatchObject({ 'content-length': '11', etag: '"v1"' });
    expect((await head.body.bytes()).length).toBe(0);
    const none = await h3.request({ method: 'DELETE', path: '/none', authority });
    expect(none.statusCode).toBe(204);
    expect(none.headers['x-done']).toBe('1');
    expect((await none.body.bytes()).length).toBe(0);
    const notModified = await h3.request({ path: '/cached', authority, headers: { 'if-none-match': '"v1"' } });
    expect(notModified.statusCode).toBe(304);
    expect(await notModified.body.text()).toBe('');
    await expect.poll(() => h3.activeRequests).toBe(0);
  });

  it('the client refuses to send a header section above the server’s SETTINGS limit (nothing sent); a raw client gets 431', async () => {
    let handled = 0;
    const server = await testbed.server(
      () => {
        handled++;
        return { statusCode: 200, body: 'ok' };
      },
      { maxFieldSectionSize: 2048 },
    );
    const h3 = testbed.connect(server.address.port);
    await (await h3.request({ path: '/warm', authority })).body.dump();
    expect((await h3.peerSettings).maxFieldSectionSize).toBe(2048);
    const error = await h3.request({ path: '/', authority, headers: { 'x-big': 'v'.repeat(3000) } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Http3FieldSectionTooLargeError);
    expect(handled).toBe(1);

    // A client that ignores the limit: the server answers 431 without running the handler, and keeps the connection.
    const raw = await testbed.rawClient(server.address.port);
    const get: Field[] = [[':method', 'GET'], [':scheme', 'https'], [':authority', authority], [':path', '/']];
    expect((await raw.exchange([...get, ['x-big', 'v'.repeat(3000)]])).status).toBe(431);
    expect(handled).toBe(1);
    expect(await raw.exchange(get)).toMatchObject({ status: 200, body: 'ok' });
    expect(handled).toBe(2);
  });

  it('a response header section above the client’s limit becomes a plain 500 from the server', async () => {
    const server = await testbed.server((request) => {
      if (request.path === '/big') return { statusCode: 200, headers: { 'x-huge': 'h'.repeat(4000) } };
      return { statusCode: 200 };
    });
    const h3 = testbed.connect(server.address.port, { maxFieldSectionSize: 1024 });
    // The first exchange makes sure the server has the client's SETTINGS.
    await (await h3.request({ path: '/small', authority })).body.dump();
    const response = await h3.request({ path: '/big', authority });
    expect(response.statusCode).toBe(500);
    expect(response.headers['x-huge']).toBeUndefined();
    await response.body.dump();
    expect(h3.closeError).toBeUndefined();
  });

  it('a handler that throws, rejects or returns no response produces a 500; the connection keeps serving', async () => {
    const server = await testbed.server(async (request) => {
      if (request.path === '/throw') throw new Error('handler bug');
      if (request.path === '/reject') return Promise.reject(new Error('async bug'));
      if (request.path === '/nothing') return undefined as unknown as OutgoingResponse;
      if (request.path === '/bad-status') return { statusCode: 42 };
      return { statusCode: 200, body: 'fine' };
    });
    const h3 = testbed.connect(server.address.port);
    for (const path of ['/throw', '/reject', '/nothing', '/bad-status']) {
      const response = await h3.request({ path, authority });
      expect(response.statusCode, path).toBe(500);
      await response.body.dump();
    }
    expect(await (await h3.request({ path: '/ok', authority })).body.text()).toBe('fine');
    expect(h3.closeError).toBeUndefined();
  });

  it('requests the server does not serve are answered without the handler: 501 for an unknown method, 421 for a non-https scheme', async () => {
    let handled = 0;
    const server = await testbed.server(() => {
      handled++;
      return { statusCode: 200 };
    });
    const h3 = testbed.connect(server.address.port);
    const unknown = await h3.request({ method: 'PROPFIND', path: '/', authority });
    expect(unknown.statusCode).toBe(501);
    await unknown.body.dump();
    const lower = await h3.request({ method: 'get', path: '/', authority });
    expect(lower.statusCode).toBe(501);
    await lower.body.dump();
    const misdirected = await h3.request({ path: '/', authority, scheme: 'http' });
    expect(misdirected.statusCode).toBe(421);
    await misdirected.body.dump();
    expect(handled).toBe(0);
  });

  it('an already-aborted signal rejects at once with its reason; nothing is sent', async () => {
    let handled = 0;
    const server = await testbed.server(() => {
      handled++;
      return { statusCode: 200 };
    });
    const h3 = testbed.connect(server.address.port);
    const reason = new Error('gave up before starting');
    await expect(h3.request({ path: '/', authority, signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    await (await h3.request({ path: '/after', authority })).body.dump();
    expect(handled).toBe(1);
  });

  it('aborting while waiting for the response rejects with the reason and aborts the handler’s info.signal', async () => {
    let serverInfo: Http3RequestInfo | undefined;
    let started: (() => void) | undefined;
    const handlerStarted = new Promise<void>((resolve) => (started = resolve));
    const server = await testbed.server(async (request, info) => {
      serverInfo = info;
      started?.();
      // Reads the (endless) upload: the client's reset ends it.
      for await (const chunk of request.body) void chunk;
      await aborted(info.signal);
      return { statusCode: 200 };
    });
    const h3 = testbed.connect(server.address.port);
    const controller = new AbortController();
    const endless = (async function* () {
      for (;;) {
        yield new Uint8Array(1000);
        await delay(5);
      }
    })();
    const pending = h3.request({ method: 'POST', path: '/upload', authority, body: endless, signal: controller.signal });
    await handlerStarted;
    const reason = new Error('caller gave up');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    await expect.poll(() => serverInfo?.aborted, { timeout: 5_000 }).toBe(true);
    expect(serverInfo?.signal.aborted).toBe(true);
    expect(EventEmitter.getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    // The connection is fine.
    await expect.poll(() => h3.activeRequests).toBe(0);
    expect(h3.closeError).toBeUndefined();
  });

  it('aborting while the body streams makes the next read reject with the reason', async () => {
    const server = await testbed.server(() => ({
      statusCode: 200,
      body: (async function* () {
        for (let i = 0; i < 10_000; i++) {
          yield new Uint8Array(1000);
          await delay(2);
        }
      })(),
    }));
    const h3 = testbed.connect(server.address.port);
    const controller = new AbortController();
    const response = await h3.request({ path: '/stream', authority, signal: controller.signal });
    expect((await response.body.read())?.length).toBeGreaterThan(0);
    const reason = new Error('enough');
    controller.abort(reason);
    await expect(response.body.text()).rejects.toBe(reason);
    expect(EventEmitter.getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    await expect.poll(() => h3.activeRequests).toBe(0);
  });

  it('startRequest(): cancel() on the exchange rejects the response; onSettled runs once', async () => {
    const server = await testbed.server(async (_request, info) => {
      await Promise.race([aborted(info.signal), delay(5_000)]);
      return { statusCode: 200 };
    });
    const h3 = testbed.connect(server.address.port);
    let settled = 0;
    const exchange = h3.startRequest({ path: '/slow', authority }, () => settled++);
    await delay(50);
    const reason = new Error('cancelled by caller');
    exchange.cancel(reason);
    exchange.cancel(new Error('second cancel is ignored'));
    await expect(exchange.response).rejects.toBe(reason);
    expect(settled).toBe(1);
    // A completed exchange also settles once, when its body is read.
    const fast = await testbed.server(() => ({ statusCode: 200, body: 'quick' }));
    let fastSettled = 0;
    const done = testbed.connect(fast.address.port).startRequest({ path: '/', authority }, () => fastSettled++);
    const response = await done.response;
    expect(fastSettled).toBe(0);
    expect(await response.body.text()).toBe('quick');
    expect(fastSettled).toBe(1);
    done.cancel(new Error('too late'));
    expect(fastSettled).toBe(1);
  });

  it('a signal shared by many requests does not collect listeners', async () => {
    const server = await testbed.server(() => ({ statusCode: 200, body: 'x' }));
    const h3 = testbed.connect(server.address.port);
    const shared = new AbortController().signal;
    for (let i = 0; i < 30; i++) await (await h3.request({ path: `/n${i}`, authority, signal: shared })).body.text();
    expect(EventEmitter.getEventListeners(shared, 'abort')).toHaveLength(0);
  });

  it('info: streamId, the client certificate’s identity and chain, the handshake facts', async () => {
    const infos: Array<{ streamId: number; commonName?: string; ou?: string; chain: number; resumed: boolean; early: boolean }> = [];
    const server = await testbed.server(async (_request, info) => {
      const handshake = await info.handshake;
      const identity = info.peerIdentity();
      infos.push({
        streamId: info.streamId,
        ...(identity.commonName === undefined ? {} : { commonName: identity.commonName }),
        ...(identity.organizationalUnit === undefined ? {} : { ou: identity.organizationalUnit }),
        chain: info.peerCertificateChain()?.length ?? 0,
        resumed: handshake.resumed,
        early: info.earlyData,
      });
      expect(info.handshakeInfo).toBe(handshake);
      expect(info.aborted).toBe(false);
      return { statusCode: 204 };
    });
    const h3 = testbed.connect(server.address.port);
    await (await h3.request({ path: '/a', authority })).body.dump();
    await (await h3.request({ path: '/b', authority })).body.dump();
    expect(infos).toEqual([
      { streamId: 0, commonName: 'invoker.gateway.qfaas.internal', ou: 'invoker', chain: 1, resumed: false, early: false },
      { streamId: 4, commonName: 'invoker.gateway.qfaas.internal', ou: 'invoker', chain: 1, resumed: false, early: false },
    ]);
  });

  it('0-RTT: a request on a resumed connection leaves in early data; the server sees info.earlyData, and later requests are not early', async () => {
    const seen: Array<{ path: string; earlyData: boolean; handshakeKnown: boolean }> = [];
    const server = await testbed.server(async (request, info) => {
      seen.push({ path: request.path, earlyData: info.earlyData, handshakeKnown: info.handshakeInfo !== undefined });
      return { statusCode: 200, body: `${request.method} ${request.path} ${await request.body.text()}` };
    });
    const { session, settings } = await testbed.session(server.address.port);
    seen.length = 0;
    const h3 = testbed.connect(server.address.port, { session, rememberedPeerSettings: settings });
    const early = await h3.request({ method: 'PUT', path: '/early', authority, body: 'in the first flight' });
    expect(early.earlyData).toBe(true);
    expect(await early.body.text()).toBe('PUT /early in the first flight');
    const later = await h3.request({ path: '/later', authority });
    expect(later.earlyData).toBe(false);
    await later.body.dump();
    expect(seen).toEqual([
      { path: '/early', earlyData: true, handshakeKnown: false },
      { path: '/later', earlyData: false, handshakeKnown: true },
    ]);
  });

  it('the connection’s close aborts every running handler’s info.signal', async () => {
    const infos: Http3RequestInfo[] = [];
    const server = await testbed.server(async (_request, info) => {
      infos.push(info);
      await Promise.race([aborted(info.signal), delay(10_000)]);
      return { statusCode: 200 };
    });
    const h3 = testbed.connect(server.address.port);
    const first = h3.request({ path: '/a', authority });
    const second = h3.request({ path: '/b', authority });
    await expect.poll(() => infos.length).toBe(2);
    h3.close(h3ErrorCodes.H3_NO_ERROR);
    await Promise.allSettled([first, second]);
    await expect.poll(() => infos.every((info) => info.aborted), { timeout: 5_000 }).toBe(true);
    expect(infos.every((info) => info.signal.aborted)).toBe(true);
  });
});
