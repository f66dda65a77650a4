import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { h3ErrorCodes, Http3Connection, Http3Error, type Field } from '../../src/transport/index.js';
import { encodeFieldSection } from '../../src/transport/h3/qpack/field-section.js';
import { encodeFrame, encodeGoawayFrame, encodeSettingsFrame, encodeStreamType, frameType, streamType } from '../../src/transport/h3/frames.js';
import { fakeTransportPair } from '../helpers/fake-h3-transport.js';
import { mulberry32 } from '../../interop/prng.js';

/**
 * At least 10,000 random and mutated frames and field sections fed to the server side. Each case
 * must end in a response, a typed stream reset or a typed connection close: no uncaught exception,
 * no request left hanging, no runaway memory.
 */

const knownCodes = new Set<number>(Object.values(h3ErrorCodes));
const tick = () => new Promise((resolve) => setImmediate(resolve));

const validRequest: Field[] = [
  [':method', 'POST'],
  [':scheme', 'https'],
  [':authority', 'fn.qfaas.internal'],
  [':path', '/function/echo?x=1'],
  ['content-type', 'application/json'],
  ['x-custom', 'some value that Huffman shortens'],
];

describe('fuzzing the server side of HTTP/3 and QPACK', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  beforeAll(() => {
    process.on('unhandledRejection', onUnhandled);
    process.on('uncaughtException', onUnhandled);
  });
  afterAll(() => {
    process.off('unhandledRejection', onUnhandled);
    process.off('uncaughtException', onUnhandled);
  });

  it('10,000 cases: only typed HTTP/3 and QPACK errors, nothing hangs, memory stays bounded', async () => {
    const random = mulberry32(0x51fa5);
    const int = (n: number) => Math.floor(random() * n);
    const randomBytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
    const mutate = (input: Uint8Array): Uint8Array => {
      const bytes = Array.from(input);
      const edits = 1 + int(4);
      for (let e = 0; e < edits; e++) {
        const op = int(4);
        const at = int(bytes.length + 1);
        if (op === 0 && bytes.length > 0) bytes[at % bytes.length] = int(256);
        else if (op === 1) bytes.splice(at, 0, ...randomBytes(1 + int(4)));
        else if (op === 2 && bytes.length > 0) bytes.splice(at % bytes.length, 1 + int(4));
        else bytes.length = Math.min(bytes.length, at);
      }
      return Uint8Array.from(bytes);
    };
    const validStream = () =>
      Buffer.concat([
        encodeFrame(frameType.headers, encodeFieldSection(validRequest)),
        encodeFrame(frameType.data, Buffer.from('{"hello":"world"}')),
        encodeFrame(frameType.headers, encodeFieldSection([['x-trailer', '1']])),
      ]);

    const heapBefore = process.memoryUsage().heapUsed;
    const outcomes = { responded: 0, streamReset: 0, connectionClosed: 0 };
    const cases = 10_000;
    for (let i = 0; i < cases; i++) {
      const { client: raw, server: serverTransport } = fakeTransportPair({ chunked: random() < 0.9 });
      raw.setStreamHandler(() => undefined);
      const server = new Http3Connection(serverTransport, {
        maxFieldSectionSize: 4096,
        handler: async (request) => new Response(request.body === null ? 'no body' : await request.arrayBuffer()),
      });
      const control = raw.openRaw(false);
      await control.write(Buffer.concat([encodeStreamType(streamType.control), encodeSettingsFrame(new Map([[0x06, 4096]]))]));

      const scenario = i % 6;
      let requestStream: ReturnType<typeof raw.openRaw> | undefined;
      if (scenario === 0) {
        requestStream = raw.openRaw(true);
        await requestStream.end(mutate(validStream()));
      } else if (scenario === 1) {
        requestStream = raw.openRaw(true);
        await requestStream.end(randomBytes(int(200)));
      } else if (scenario === 2) {
        // A valid HEADERS frame around a random or mutated field section.
        const section = random() < 0.5 ? randomBytes(int(100)) : mutate(encodeFieldSection(validRequest));
        requestStream = raw.openRaw(true);
        await requestStream.end(encodeFrame(frameType.headers, section));
      } else if (scenario === 3) {
        await control.write(random() < 0.5 ? randomBytes(1 + int(60)) : mutate(encodeGoawayFrame(4 * int(10))));
      } else if (scenario === 4) {
        const uni = raw.openRaw(false);
        const type = [streamType.qpackEncoder, streamType.qpackDecoder, streamType.push, int(64)][int(4)] as number;
        await uni.write(Buffer.concat([encodeStreamType(type), randomBytes(int(40))]));
      } else {
        // A mutated control stream from its very first byte.
        const { client: raw2, server: serverTransport2 } = fakeTransportPair({ chunked: true });
        raw2.setStreamHandler(() => undefined);
        const server2 = new Http3Connection(serverTransport2, { handler: () => new Response('x') });
        await raw2.openRaw(false).write(mutate(Buffer.concat([encodeStreamType(0), encodeSettingsFrame(new Map([[0x06, 100]]))])));
        for (let t = 0; t < 4; t++) await tick();
        if (server2.closeError !== undefined) {
          expect(server2.closeError).toBeInstanceOf(Http3Error);
          expect(knownCodes.has((server2.closeError as Http3Error).errorCode)).toBe(true);
        }
        server2.close();
      }

      for (let t = 0; t < 6; t++) await tick();
      const closed = server.closeError;
      if (closed !== undefined) {
        outcomes.connectionClosed++;
        expect(closed).toBeInstanceOf(Http3Error);
        expect(knownCodes.has((closed as Http3Error).errorCode)).toBe(true);
        expect(knownCodes.has(raw.closeCodeReceived as number)).toBe(true);
      } else if (requestStream !== undefined) {
        // The stream ended, so the server must be done with it: answered or reset, never waiting.
        expect(server.activeRequests).toBe(0);
        if (requestStream.resetByPeer !== undefined) {
          outcomes.streamReset++;
          expect(knownCodes.has(requestStream.resetByPeer)).toBe(true);
        } else {
          outcomes.responded++;
        }
      }
      server.close();
    }
    expect(unhandled).toEqual([]);
    // Every kind of outcome happened, so the corpus exercised all paths.
    expect(outcomes.responded).toBeGreaterThan(50);
    expect(outcomes.streamReset).toBeGreaterThan(50);
    expect(outcomes.connectionClosed).toBeGreaterThan(50);
    const growth = process.memoryUsage().heapUsed - heapBefore;
    expect(growth).toBeLessThan(200 * 1024 * 1024);
  }, 120_000);
});
