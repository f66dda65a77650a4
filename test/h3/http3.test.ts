import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { getResponseInfo, h3ErrorCodes, Http3Connection, Http3Error, Http3FieldSectionTooLargeError, Http3GoawayError, type Field, type Http3Handler, type Http3RequestInfo, type Http3WebRequestInfo } from '../../src/transport/index.js';
import { encodeFieldSection } from '../../src/transport/h3/qpack/field-section.js';
import { encodeFrame, encodeGoawayFrame, encodePushPromiseFrame, encodeSettingsFrame, encodeStreamType, frameType, streamType } from '../../src/transport/h3/frames.js';
import { fakeTransportPair, getFields, settle, type FakeStream, type FakeTransport } from '../helpers/fake-h3-transport.js';

const origin = 'https://fn.qfaas.internal';
const headersFrame = (fields: Field[]) => encodeFrame(frameType.headers, encodeFieldSection(fields));
const dataFrame = (text: string | Uint8Array) => encodeFrame(frameType.data, typeof text === 'string' ? Buffer.from(text) : text);
const tick = () => new Promise((resolve) => setImmediate(resolve));

const echoHandler: Http3Handler = async (request, info) => {
  const body = request.body === null ? '' : await request.text();
  return new Response(`${request.method} ${new URL(request.url).pathname} ${body} early=${info.earlyData}`, {
    status: 201,
    headers: { 'x-handled': 'yes' },
  });
};

/** A client and a server HTTP/3 connection over the in-memory transport (one byte at a time). */
function pair(options: { handler?: Http3Handler; chunked?: boolean; serverMax?: number; earlyDataAccepted?: boolean } = {}) {
  const { client: clientTransport, server: serverTransport } = fakeTransportPair(options);
  const server = new Http3Connection(serverTransport, {
    handler: options.handler ?? echoHandler,
    ...(options.serverMax === undefined ? {} : { maxFieldSectionSize: options.serverMax }),
  });
  const client = new Http3Connection(clientTransport);
  return { client, server, clientTransport, serverTransport };
}

/** A server HTTP/3 connection whose client side is raw: the test writes bytes by hand. */
async function rawClient(handler: Http3Handler = echoHandler) {
  const { client: raw, server: serverTransport } = fakeTransportPair({ chunked: true });
  const server = new Http3Connection(serverTransport, { handler });
  raw.setStreamHandler(() => undefined);
  const control = raw.openRaw(false);
  await control.write(Buffer.concat([encodeStreamType(streamType.control), encodeSettingsFrame(new Map())]));
  return { raw, server, control };
}

/** A client HTTP/3 connection whose server side is raw. */
async function rawServer() {
  const { client: clientTransport, server: raw } = fakeTransportPair({ chunked: true });
  const requests: FakeStream[] = [];
  raw.setStreamHandler((stream) => {
    if (stream.bidirectional) requests.push(stream as FakeStream);
  });
  const client = new Http3Connection(clientTransport);
  const control = raw.openRaw(false);
  await control.write(Buffer.concat([encodeStreamType(streamType.control), encodeSettingsFrame(new Map())]));
  return { raw, client, control, requests };
}

async function closeCode(transport: FakeTransport): Promise<number | undefined> {
  await settle();
  return transport.closeCodeReceived;
}

describe('HTTP/3 over an in-memory transport that delivers one byte at a time', () => {
  it('GET: status, headers, body; the server sees method, path and early-data flag', async () => {
    const { client } = pair();
    const response = await client.fetch(new Request(`${origin}/hello?x=1`, { headers: { 'x-custom': 'v' } }));
    expect(response.status).toBe(201);
    expect(response.headers.get('x-handled')).toBe('yes');
    expect(await response.text()).toBe('GET /hello  early=false');
    expect(getResponseInfo(response)).toMatchObject({ streamId: 0, earlyData: false });
  });

  it('POST: a streamed request body arrives whole, and headers pass through', async () => {
    let seen: Headers | undefined;
    const { client } = pair({
      handler: async (request) => {
        seen = request.headers;
        const hash = createHash('sha256').update(new Uint8Array(await request.arrayBuffer())).digest('hex');
        return new Response(hash);
      },
    });
    const parts = ['first part, ', 'second part, ', 'third'];
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = parts.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(Buffer.from(next));
      },
    });
    const response = await client.fetch(
      new Request(`${origin}/upload`, { method: 'POST', body, duplex: 'half', headers: { 'content-type': 'text/plain' } } as RequestInit),
    );
    expect(await response.text()).toBe(createHash('sha256').update('first part, second part, third').digest('hex'));
    expect(seen?.get('content-type')).toBe('text/plain');
  });

  it('moves a 4 MiB body each way with backpressure (chunked delivery)', async () => {
    const size = 4 * 1024 * 1024;
    const { client } = pair({
      chunked: true,
      handler: async (request) => {
        let received = 0;
        for await (const chunk of request.body as ReadableStream<Uint8Array>) received += chunk.length;
        return new Response(new Uint8Array(size).fill(received === size ? 1 : 0));
      },
    });
    const response = await client.fetch(new Request(`${origin}/big`, { method: 'PUT', body: new Uint8Array(size).fill(7) }));
    const body = new Uint8Array(await response.arrayBuffer());
    expect(body.length).toBe(size);
    expect(body.every((byte) => byte === 1)).toBe(true);
  });

  it('full duplex: request and response bodies interleave without either side waiting for the other to finish', async () => {
    const { client } = pair({
      chunked: true,
      handler: (request) => {
        const reader = (request.body as ReadableStream<Uint8Array>).getReader();
        // Echo each request chunk as it arrives, upper-cased, before the next one exists.
        return new Response(
          new ReadableStream<Uint8Array>({
            async pull(controller) {
              const { done, value } = await reader.read();
              if (done) controller.close();
              else controller.enqueue(Buffer.from(Buffer.from(value).toString().toUpperCase()));
            },
          }),
        );
      },
    });
    let sendNext: ((chunk: string | null) => void) | undefined;
    const requestBody = new ReadableStream<Uint8Array>({
      pull: (controller) =>
        new Promise<void>((resolve) => {
          sendNext = (chunk) => {
            if (chunk === null) controller.close();
            else controller.enqueue(Buffer.from(chunk));
            resolve();
          };
        }),
    });
    const pending = client.fetch(new Request(`${origin}/duplex`, { method: 'POST', body: requestBody, duplex: 'half' } as RequestInit));
    await settle();
    sendNext?.('ping one');
    const response = await pending;
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    expect(Buffer.from((await reader.read()).value as Uint8Array).toString()).toBe('PING ONE');
    // Only now does the client produce its second chunk: nothing may be waiting for it.
    sendNext?.('ping two');
    expect(Buffer.from((await reader.read()).value as Uint8Array).toString()).toBe('PING TWO');
    sendNext?.(null);
    expect((await reader.read()).done).toBe(true);
  });

  it('marks requests that arrived in early data, on the server and in the client response info', async () => {
    const { client } = pair({ earlyDataAccepted: true });
    const response = await client.fetch(new Request(`${origin}/early`));
    expect(await response.text()).toBe('GET /early  early=true');
    expect(getResponseInfo(response)?.earlyData).toBe(true);
  });

  it('HEAD and 204 responses have no body', async () => {
    const { client } = pair({ handler: (request) => new Response(request.method === 'HEAD' ? 'ignored' : null, { status: request.method === 'HEAD' ? 200 : 204 }) });
    const head = await client.fetch(new Request(`${origin}/`, { method: 'HEAD' }));
    expect(head.body).toBeNull();
    const empty = await client.fetch(new Request(`${origin}/`, { method: 'DELETE' }));
    expect(empty.status).toBe(204);
    expect(empty.body).toBeNull();
  });

  it('a handler that throws becomes a 500, and the connection keeps serving', async () => {
    const { client } = pair({
      handler: (request) => {
        if (new URL(request.url).pathname === '/boom') throw new Error('handler bug');
        return new Response('fine');
      },
    });
    expect((await client.fetch(new Request(`${origin}/boom`))).status).toBe(500);
    expect(await (await client.fetch(new Request(`${origin}/ok`))).text()).toBe('fine');
  });

  it('cancelling with an AbortSignal resets the stream with H3_REQUEST_CANCELLED', async () => {
    let serverSignalled: ((value: unknown) => void) | undefined;
    const handlerStarted = new Promise((resolve) => {
      serverSignalled = resolve;
    });
    const { client, serverTransport } = pair({
      chunked: true,
      handler: async () => {
        serverSignalled?.(undefined);
        await new Promise((resolve) => setTimeout(resolve, 200));
        return new Response('late');
      },
    });
    const controller = new AbortController();
    const pending = client.fetch(new Request(`${origin}/slow`), { signal: controller.signal });
    await handlerStarted;
    controller.abort(new Error('caller gave up'));
    await expect(pending).rejects.toThrow('caller gave up');
    await settle();
    // The GET was sent whole (FIN), so only the response direction is left to stop.
    const serverStream = serverTransport.streams.find((stream) => stream.bidirectional);
    expect(serverStream?.stoppedByPeer).toBe(h3ErrorCodes.H3_REQUEST_CANCELLED);
  });

  it("cancelling an upload in progress resets the request stream with H3_REQUEST_CANCELLED and aborts the handler's info.signal", async () => {
    let received = 0;
    let serverSignal: AbortSignal | undefined;
    const { client, serverTransport } = pair({
      chunked: true,
      handler: async (request, info) => {
        serverSignal = info.signal;
        for await (const chunk of request.body as ReadableStream<Uint8Array>) received += chunk.length;
        return new Response('done');
      },
    });
    const controller = new AbortController();
    const endless = new ReadableStream<Uint8Array>({
      pull: async (c) => {
        await tick();
        c.enqueue(new Uint8Array(1000));
      },
    });
    const pending = client.fetch(new Request(`${origin}/upload`, { method: 'POST', body: endless, duplex: 'half' } as RequestInit), {
      signal: controller.signal,
    });
    await settle();
    expect(serverSignal?.aborted).toBe(false);
    controller.abort(new Error('stop uploading'));
    await expect(pending).rejects.toThrow('stop uploading');
    await settle();
    const serverStream = serverTransport.streams.find((stream) => stream.bidirectional);
    expect(serverStream?.resetByPeer).toBe(h3ErrorCodes.H3_REQUEST_CANCELLED);
    expect(received).toBeGreaterThan(0);
    expect(serverSignal?.aborted).toBe(true);
  });

  it("closing the connection aborts every running request's info.signal", async () => {
    const reasons: unknown[] = [];
    let started: (() => void) | undefined;
    const bothStarted = new Promise<void>((resolve) => {
      started = resolve;
    });
    const { client, server } = pair({
      chunked: true,
      handler: async (_request, info) => {
        if (reasons.push(undefined) === 2) started?.();
        await new Promise((resolve) => info.signal.addEventListener('abort', resolve, { once: true }));
        reasons.push(info.signal.reason);
        return new Response('too late');
      },
    });
    const first = client.fetch(new Request(`${origin}/a`));
    const second = client.fetch(new Request(`${origin}/b`));
    await bothStarted;
    server.close();
    await Promise.allSettled([first, second]);
    await settle();
    const aborted = reasons.slice(2);
    expect(aborted).toHaveLength(2);
    for (const reason of aborted) expect(reason).toBeInstanceOf(Http3Error);
  });

  it('a signal shared by many requests does not collect listeners', async () => {
    const { client } = pair({ chunked: true });
    const shared = new AbortController().signal;
    for (let i = 0; i < 50; i++) await (await client.fetch(new Request(`${origin}/n${i}`), { signal: shared })).text();
    expect(EventEmitter.getEventListeners(shared, 'abort')).toHaveLength(0);
  });

  it('the server receives trailers after the body', async () => {
    let info: Http3WebRequestInfo | undefined;
    const { raw } = await rawClient(async (request, requestInfo) => {
      info = requestInfo;
      return new Response(await request.text());
    });
    const stream = raw.openRaw(true);
    await stream.end(
      Buffer.concat([
        headersFrame([[':method', 'POST'], [':scheme', 'https'], [':authority', 'x'], [':path', '/t']]),
        dataFrame('body'),
        headersFrame([['x-checksum', 'abc']]),
      ]),
    );
    await settle();
    expect((await info?.trailers)?.get('x-checksum')).toBe('abc');
  });

  it('the client skips informational responses and reads trailers', async () => {
    const { client, requests } = await rawServer();
    const pending = client.fetch(new Request(`${origin}/`));
    await settle();
    const stream = requests[0] as FakeStream;
    await stream.end(
      Buffer.concat([
        headersFrame([[':status', '103'], ['link', '</a>']]),
        headersFrame([[':status', '200'], ['content-length', '2']]),
        dataFrame('ok'),
        headersFrame([['x-trailer', 'yes']]),
      ]),
    );
    const response = await pending;
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('ok');
    expect((await getResponseInfo(response)?.trailers)?.get('x-trailer')).toBe('yes');
  });

  it('ignores unknown frame types, unknown stream types and reserved settings', async () => {
    const { raw, server } = await rawClient();
    const grease = raw.openRaw(false);
    await grease.write(Buffer.concat([encodeStreamType(0x21 + 0x1f * 9), Buffer.from('anything')]));
    const stream = raw.openRaw(true);
    const replies: Uint8Array[] = [];
    await stream.end(Buffer.concat([encodeFrame(0x21 + 0x1f, Buffer.from('x')), headersFrame(getFields), encodeFrame(0x3fff, new Uint8Array(10))]));
    for (let chunk = await stream.read(); chunk !== null; chunk = await stream.read()) replies.push(chunk);
    expect(Buffer.concat(replies).toString('latin1')).toContain('GET /  early=false');
    expect(grease.stoppedByPeer).toBe(h3ErrorCodes.H3_STREAM_CREATION_ERROR);
    expect(server.closeError).toBeUndefined();
  });
});

describe('HTTP/3 errors close the stream or the connection with the RFC code', () => {
  const streamErrorCases: Array<[string, Uint8Array, number]> = [
    ['uppercase header name', headersFrame([...getFields, ['X-Upper', '1']]), h3ErrorCodes.H3_MESSAGE_ERROR],
    ['missing :path', headersFrame(getFields.filter(([name]) => name !== ':path')), h3ErrorCodes.H3_MESSAGE_ERROR],
    ['pseudo-header after a regular field', headersFrame([...getFields.slice(0, 3), ['accept', '*/*'], [':path', '/']]), h3ErrorCodes.H3_MESSAGE_ERROR],
    ['connection-specific field', headersFrame([...getFields, ['connection', 'close']]), h3ErrorCodes.H3_MESSAGE_ERROR],
    ['response pseudo-header in a request', headersFrame([...getFields, [':status', '200']]), h3ErrorCodes.H3_MESSAGE_ERROR],
    [
      'content-length that disagrees with DATA',
      Buffer.concat([headersFrame([[':method', 'POST'], ...getFields.slice(1), ['content-length', '10']]), dataFrame('short')]),
      h3ErrorCodes.H3_MESSAGE_ERROR,
    ],
    ['a stream that ends before its headers', new Uint8Array(0), h3ErrorCodes.H3_REQUEST_INCOMPLETE],
  ];

  for (const [name, bytes, code] of streamErrorCases) {
    it(`${name}: that stream only (${code === h3ErrorCodes.H3_MESSAGE_ERROR ? 'H3_MESSAGE_ERROR' : 'H3_REQUEST_INCOMPLETE'})`, async () => {
      let handled = 0;
      const { raw, server } = await rawClient(async (request) => {
        handled++;
        await request.arrayBuffer();
        return new Response('ok');
      });
      const bad = raw.openRaw(true);
      await bad.end(bytes);
      await settle();
      expect(bad.resetByPeer).toBe(code);
      expect(server.closeError).toBeUndefined();
      // The connection still serves a good request.
      const good = raw.openRaw(true);
      await good.end(headersFrame(getFields));
      await settle();
      expect(server.closeError).toBeUndefined();
      expect(good.resetByPeer).toBeUndefined();
      if (name.startsWith('content-length')) expect(handled).toBe(2);
      else expect(handled).toBe(1);
    });
  }

  const connectionErrorCases: Array<[string, (raw: FakeTransport, control: FakeStream) => Promise<void>, keyof typeof h3ErrorCodes]> = [
    ['DATA before HEADERS', async (raw) => raw.openRaw(true).end(dataFrame('x')), 'H3_FRAME_UNEXPECTED'],
    ['GOAWAY on a request stream', async (raw) => raw.openRaw(true).end(encodeGoawayFrame(0)), 'H3_FRAME_UNEXPECTED'],
    ['an HTTP/2-only frame type', async (raw) => raw.openRaw(true).end(encodeFrame(0x02, Uint8Array.of(0))), 'H3_FRAME_UNEXPECTED'],
    ['PUSH_PROMISE from a client', async (raw) => raw.openRaw(true).end(Buffer.concat([headersFrame(getFields), encodePushPromiseFrame(0, encodeFieldSection(getFields))])), 'H3_FRAME_UNEXPECTED'],
    ['a request stream that ends inside a frame', async (raw) => raw.openRaw(true).end(headersFrame(getFields).subarray(0, 4)), 'H3_FRAME_ERROR'],
    ['a dynamic table reference', async (raw) => raw.openRaw(true).end(encodeFrame(frameType.headers, Uint8Array.from([0x02, 0x00, 0x80]))), 'QPACK_DECOMPRESSION_FAILED'],
    ['a second SETTINGS', async (_raw, control) => control.write(encodeSettingsFrame(new Map())), 'H3_FRAME_UNEXPECTED'],
    ['DATA on the control stream', async (_raw, control) => control.write(dataFrame('x')), 'H3_FRAME_UNEXPECTED'],
    ['HEADERS on the control stream', async (_raw, control) => control.write(headersFrame(getFields)), 'H3_FRAME_UNEXPECTED'],
    ['the control stream closed', async (_raw, control) => control.end(), 'H3_CLOSED_CRITICAL_STREAM'],
    ['the control stream reset', async (_raw, control) => control.reset(0x101), 'H3_CLOSED_CRITICAL_STREAM'],
    ['a second control stream', async (raw) => raw.openRaw(false).write(Buffer.concat([encodeStreamType(0), encodeSettingsFrame(new Map())])), 'H3_STREAM_CREATION_ERROR'],
    ['a push stream from a client', async (raw) => raw.openRaw(false).write(encodeStreamType(streamType.push)), 'H3_STREAM_CREATION_ERROR'],
    ['MAX_PUSH_ID that decreases', async (_raw, control) => control.write(Buffer.concat([encodeFrame(frameType.maxPushId, Uint8Array.of(5)), encodeFrame(frameType.maxPushId, Uint8Array.of(4))])), 'H3_ID_ERROR'],
    ['an insertion on the QPACK encoder stream', async (raw) => raw.openRaw(false).write(Buffer.concat([encodeStreamType(streamType.qpackEncoder), Uint8Array.of(0xc1, 0x01, 0x61)])), 'QPACK_ENCODER_STREAM_ERROR'],
    ['a dynamic table capacity above 0', async (raw) => raw.openRaw(false).write(Buffer.concat([encodeStreamType(streamType.qpackEncoder), Uint8Array.of(0x3f, 0x01)])), 'QPACK_ENCODER_STREAM_ERROR'],
    ['a section acknowledgment on the QPACK decoder stream', async (raw) => raw.openRaw(false).write(Buffer.concat([encodeStreamType(streamType.qpackDecoder), Uint8Array.of(0x80)])), 'QPACK_DECODER_STREAM_ERROR'],
    ['a QPACK stream closed', async (raw) => raw.openRaw(false).end(encodeStreamType(streamType.qpackDecoder)), 'H3_CLOSED_CRITICAL_STREAM'],
  ];

  for (const [name, act, code] of connectionErrorCases) {
    it(`${name}: connection error ${code}`, async () => {
      const { raw, server, control } = await rawClient();
      await act(raw, control);
      expect(await closeCode(raw)).toBe(h3ErrorCodes[code]);
      const reason = await server.closed;
      expect(reason).toBeInstanceOf(Http3Error);
      expect(reason).toMatchObject({ errorName: code, scope: 'connection', initiator: 'local' });
    });
  }

  it('a control stream that does not start with SETTINGS: H3_MISSING_SETTINGS', async () => {
    const { client: raw, server: serverTransport } = fakeTransportPair({ chunked: true });
    const server = new Http3Connection(serverTransport, { handler: echoHandler });
    raw.setStreamHandler(() => undefined);
    await raw.openRaw(false).write(Buffer.concat([encodeStreamType(0), encodeGoawayFrame(0)]));
    expect(await closeCode(raw)).toBe(h3ErrorCodes.H3_MISSING_SETTINGS);
    expect(await server.closed).toMatchObject({ errorName: 'H3_MISSING_SETTINGS' });
  });

  it('a client refuses PUSH_PROMISE and push streams it never allowed (H3_ID_ERROR)', async () => {
    const { raw, client, requests } = await rawServer();
    const pending = client.fetch(new Request(`${origin}/`));
    await settle();
    await (requests[0] as FakeStream).write(encodePushPromiseFrame(0, encodeFieldSection(getFields)));
    await expect(pending).rejects.toMatchObject({ errorName: 'H3_ID_ERROR', scope: 'connection' });
    expect(await closeCode(raw)).toBe(h3ErrorCodes.H3_ID_ERROR);

    const second = await rawServer();
    await second.raw.openRaw(false).write(encodeStreamType(streamType.push));
    expect(await closeCode(second.raw)).toBe(h3ErrorCodes.H3_ID_ERROR);
  });

  it('a client refuses a server-initiated bidirectional stream (H3_STREAM_CREATION_ERROR)', async () => {
    const { raw } = await rawServer();
    await raw.openRaw(true).write(Uint8Array.of(0));
    expect(await closeCode(raw)).toBe(h3ErrorCodes.H3_STREAM_CREATION_ERROR);
  });

  it('a malformed response is H3_MESSAGE_ERROR on that request only', async () => {
    const { client, requests } = await rawServer();
    const pending = client.fetch(new Request(`${origin}/`));
    await settle();
    await (requests[0] as FakeStream).end(headersFrame([[':status', '200'], [':path', '/']]));
    await expect(pending).rejects.toMatchObject({ errorName: 'H3_MESSAGE_ERROR', scope: 'stream' });
    expect(client.closeError).toBeUndefined();
    const next = client.fetch(new Request(`${origin}/again`));
    await settle();
    await (requests[1] as FakeStream).end(headersFrame([[':status', '200']]));
    expect((await next).status).toBe(200);
  });
});

describe('SETTINGS_MAX_FIELD_SECTION_SIZE both ways, and 0-RTT settings', () => {
  it('the client does not send a header section larger than the server allows', async () => {
    const { client } = pair({ serverMax: 2048 });
    await client.peerSettings;
    await expect(client.fetch(new Request(`${origin}/`, { headers: { 'x-big': 'v'.repeat(3000) } }))).rejects.toBeInstanceOf(
      Http3FieldSectionTooLargeError,
    );
    expect((await client.fetch(new Request(`${origin}/`, { headers: { 'x-small': 'v' } }))).status).toBe(201);
  });

  it('the server answers 431 to a larger header section and keeps the connection', async () => {
    const { raw, server } = await rawClient();
    const stream = raw.openRaw(true);
    await stream.end(headersFrame([...getFields, ['x-big', 'v'.repeat(70_000)]]));
    const replies: Uint8Array[] = [];
    for (let chunk = await stream.read(); chunk !== null; chunk = await stream.read()) replies.push(chunk);
    // :status 431 is not in the static table: it travels as a literal with the :status name.
    expect(Buffer.concat(replies).toString('latin1')).toContain('431');
    expect(server.closeError).toBeUndefined();
  });

  it('remembered settings bound what the client sends in 0-RTT, before SETTINGS arrive', async () => {
    const { client: clientTransport } = fakeTransportPair();
    const client = new Http3Connection(clientTransport, {
      rememberedPeerSettings: { maxFieldSectionSize: 1500, qpackMaxTableCapacity: 0, qpackBlockedStreams: 0 },
    });
    expect(client.effectivePeerSettings.maxFieldSectionSize).toBe(1500);
    await expect(client.fetch(new Request(`${origin}/`, { headers: { 'x-big': 'v'.repeat(2000) } }))).rejects.toBeInstanceOf(
      Http3FieldSectionTooLargeError,
    );
  });

  it('a server that lowers a remembered limit after accepting 0-RTT: H3_SETTINGS_ERROR', async () => {
    const { client: clientTransport, server: raw } = fakeTransportPair({ chunked: true, earlyDataAccepted: true });
    raw.setStreamHandler(() => undefined);
    const client = new Http3Connection(clientTransport, {
      rememberedPeerSettings: { maxFieldSectionSize: 65_536, qpackMaxTableCapacity: 0, qpackBlockedStreams: 0 },
    });
    await raw.openRaw(false).write(Buffer.concat([encodeStreamType(0), encodeSettingsFrame(new Map([[0x06, 1024]]))]));
    expect(await closeCode(raw)).toBe(h3ErrorCodes.H3_SETTINGS_ERROR);
    expect(await client.closed).toMatchObject({ errorName: 'H3_SETTINGS_ERROR' });
  });
});

describe('GOAWAY and shutdown', () => {
  it('requests in progress finish; new ones are refused with Http3GoawayError', async () => {
    let release: (() => void) | undefined;
    const { client, server } = pair({
      chunked: true,
      handler: async () => {
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        return new Response('finished');
      },
    });
    const inFlight = client.fetch(new Request(`${origin}/slow`));
    await settle();
    const shutdown = server.shutdown({ timeoutMs: 5000 });
    await client.whenGoaway();
    await expect(client.fetch(new Request(`${origin}/new`))).rejects.toBeInstanceOf(Http3GoawayError);
    release?.();
    expect(await (await inFlight).text()).toBe('finished');
    await shutdown;
    expect(await client.closed).toMatchObject({ errorName: 'H3_NO_ERROR', initiator: 'peer' });
  });

  it('a request stream above the GOAWAY identifier is rejected with H3_REQUEST_REJECTED, unprocessed', async () => {
    let handled = 0;
    let release: (() => void) | undefined;
    const { raw, server } = await rawClient(async () => {
      handled++;
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      return new Response('x');
    });
    const first = raw.openRaw(true);
    await first.end(headersFrame(getFields));
    await settle();
    const shutdown = server.shutdown({ timeoutMs: 5000 });
    await settle();
    const late = raw.openRaw(true);
    await late.end(headersFrame(getFields));
    await settle();
    expect(late.resetByPeer).toBe(h3ErrorCodes.H3_REQUEST_REJECTED);
    expect(handled).toBe(1);
    release?.();
    await shutdown;
    expect(await closeCode(raw)).toBe(h3ErrorCodes.H3_NO_ERROR);
  });
});
