import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Http3Error } from '../../src/transport/index.js';
import { encodeCancelPushFrame, encodeFrame, encodeGoawayFrame, encodeMaxPushIdFrame, encodePushPromiseFrame, encodeSettingsFrame, frameType, parsePushPromisePayload, parseSettingsPayload, parseSingleVarintPayload } from '../../src/transport/h3/frames.js';
import { encodeVarint, readVarint } from '../../src/transport/quic/varint.js';
import { FrameReader, type FrameReaderEvent } from '../../src/transport/h3/frame-reader.js';

/** Runs a reader over `chunks` and returns every event, with DATA chunks merged per frame boundary. */
function readAll(chunks: Uint8Array[], maxFramePayload = 1 << 20): FrameReaderEvent[] {
  const reader = new FrameReader({ maxFramePayload });
  const events: FrameReaderEvent[] = [];
  for (const chunk of chunks) {
    reader.push(chunk);
    for (let event = reader.next(); event !== undefined; event = reader.next()) events.push(event);
  }
  return events;
}

function dataBytes(events: FrameReaderEvent[]): Buffer {
  return Buffer.concat(events.filter((e) => e.kind === 'data').map((e) => (e as { chunk: Uint8Array }).chunk));
}

function bytewise(data: Uint8Array): Uint8Array[] {
  return [...data].map((byte) => Uint8Array.of(byte));
}

const h3Code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(Http3Error);
    return (error as Http3Error).errorName;
  }
  throw new Error('expected an Http3Error');
};

describe('QUIC varints (RFC 9000 section 16)', () => {
  it('round-trips the boundaries of every length', () => {
    for (const value of [0, 63, 64, 16_383, 16_384, 2 ** 30 - 1, 2 ** 30, Number.MAX_SAFE_INTEGER]) {
      const encoded = encodeVarint(value);
      expect(readVarint(encoded, 0)).toEqual({ value, next: encoded.length });
    }
    expect(encodeVarint(2 ** 30).length).toBe(8);
  });

  it('decodes the RFC 9000 appendix A.1 examples', () => {
    expect(readVarint(Buffer.from('c2197c5eff14e88c', 'hex'), 0)?.value).toBe(151_288_809_941_952_652);
    expect(readVarint(Buffer.from('9d7f3e7d', 'hex'), 0)?.value).toBe(494_878_333);
    expect(readVarint(Buffer.from('7bbd', 'hex'), 0)?.value).toBe(15_293);
    expect(readVarint(Buffer.from('25', 'hex'), 0)?.value).toBe(37);
    expect(readVarint(Buffer.from('4025', 'hex'), 0)?.value).toBe(37);
  });

  it('asks for more bytes at every cut, never a wrong value', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (value) => {
        const encoded = encodeVarint(value);
        for (let cut = 0; cut < encoded.length; cut++) expect(readVarint(encoded.subarray(0, cut), 0)).toBeUndefined();
        expect(readVarint(encoded, 0)?.value).toBe(value);
      }),
    );
  });
});

describe('HTTP/3 frames (RFC 9114 section 7.2)', () => {
  const settings = new Map([
    [0x06, 65_536],
    [0x01, 0],
    [0x21, 7],
  ]);
  const fieldSection = Uint8Array.from([0, 0, 0xd1]);
  const frames: Array<{ name: string; bytes: Uint8Array; check: (events: FrameReaderEvent[]) => void }> = [
    {
      name: 'DATA',
      bytes: encodeFrame(frameType.data, Buffer.from('hello, world')),
      check: (events) => expect(dataBytes(events).toString()).toBe('hello, world'),
    },
    {
      name: 'HEADERS',
      bytes: encodeFrame(frameType.headers, fieldSection),
      check: (events) => expect(events).toEqual([{ kind: 'frame', type: frameType.headers, payload: fieldSection }]),
    },
    {
      name: 'CANCEL_PUSH',
      bytes: encodeCancelPushFrame(7),
      check: (events) => expect(parseSingleVarintPayload((events[0] as { payload: Uint8Array }).payload, 'CANCEL_PUSH')).toBe(7),
    },
    {
      name: 'SETTINGS',
      bytes: encodeSettingsFrame(settings),
      check: (events) => expect(parseSettingsPayload((events[0] as { payload: Uint8Array }).payload)).toEqual(settings),
    },
    {
      name: 'PUSH_PROMISE',
      bytes: encodePushPromiseFrame(3, fieldSection),
      check: (events) =>
        expect(parsePushPromisePayload((events[0] as { payload: Uint8Array }).payload)).toEqual({ pushId: 3, fieldSection }),
    },
    {
      name: 'GOAWAY',
      bytes: encodeGoawayFrame(400),
      check: (events) => expect(parseSingleVarintPayload((events[0] as { payload: Uint8Array }).payload, 'GOAWAY')).toBe(400),
    },
    {
      name: 'MAX_PUSH_ID',
      bytes: encodeMaxPushIdFrame(16_384),
      check: (events) => expect(parseSingleVarintPayload((events[0] as { payload: Uint8Array }).payload, 'MAX_PUSH_ID')).toBe(16_384),
    },
  ];

  for (const frame of frames) {
    it(`${frame.name}: round trip whole and one byte at a time`, () => {
      frame.check(readAll([frame.bytes]));
      frame.check(readAll(bytewise(frame.bytes)));
    });

    it(`${frame.name}: every prefix is "need more bytes", never a wrong parse`, () => {
      for (let cut = 0; cut < frame.bytes.length; cut++) {
        const events = readAll([frame.bytes.subarray(0, cut)]);
        if (frame.name === 'DATA') {
          // DATA streams out as it arrives: what came out is a prefix of the payload.
          expect(Buffer.from('hello, world').subarray(0, dataBytes(events).length)).toEqual(dataBytes(events));
          expect(events.every((event) => event.kind === 'data')).toBe(true);
        } else {
          expect(events).toEqual([]);
        }
      }
    });
  }

  it('skips unknown and reserved frame types of any size without buffering them', () => {
    const grease = encodeFrame(0x21 + 0x1f * 5, new Uint8Array(100_000));
    const unknown = encodeFrame(0x3f_ff, Buffer.from('whatever'));
    const events = readAll([grease, unknown, frames[0]?.bytes as Uint8Array], 1024);
    expect(dataBytes(events).toString()).toBe('hello, world');
    expect(events.some((event) => event.kind === 'frame')).toBe(false);
  });

  it('refuses a known frame larger than the limit before buffering it (H3_EXCESSIVE_LOAD)', () => {
    const reader = new FrameReader({ maxFramePayload: 16 });
    reader.push(encodeFrame(frameType.headers, new Uint8Array(17)).subarray(0, 4));
    expect(h3Code(() => reader.next())).toBe('H3_EXCESSIVE_LOAD');
  });

  it('refuses malformed SETTINGS, GOAWAY and friends with the RFC codes', () => {
    const duplicate = Uint8Array.from([0x06, 0x01, 0x06, 0x02]);
    expect(h3Code(() => parseSettingsPayload(duplicate))).toBe('H3_SETTINGS_ERROR');
    for (const http2Setting of [0x00, 0x02, 0x03, 0x04, 0x05]) {
      expect(h3Code(() => parseSettingsPayload(Uint8Array.from([http2Setting, 0x01])))).toBe('H3_SETTINGS_ERROR');
    }
    expect(h3Code(() => parseSettingsPayload(Uint8Array.from([0x06])))).toBe('H3_FRAME_ERROR');
    expect(h3Code(() => parseSettingsPayload(Uint8Array.from([0x06, 0x40])))).toBe('H3_FRAME_ERROR');
    expect(h3Code(() => parseSingleVarintPayload(Uint8Array.from([0x04, 0x00]), 'GOAWAY'))).toBe('H3_FRAME_ERROR');
    expect(h3Code(() => parseSingleVarintPayload(new Uint8Array(0), 'GOAWAY'))).toBe('H3_FRAME_ERROR');
    expect(h3Code(() => parsePushPromisePayload(new Uint8Array(0)))).toBe('H3_FRAME_ERROR');
  });

  it('property: any sequence of frames, split anywhere, reads back the same', () => {
    const frameArb = fc.oneof(
      fc.uint8Array({ maxLength: 300 }).map((payload) => ({ type: frameType.data, payload })),
      fc.uint8Array({ maxLength: 300 }).map((payload) => ({ type: frameType.headers, payload })),
      fc.uint8Array({ maxLength: 50 }).map((payload) => ({ type: 0x21 + 0x1f * 3, payload })),
    );
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 12 }), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1 }), (list, sizes) => {
        const wire = Buffer.concat(list.map((f) => encodeFrame(f.type, f.payload)));
        const chunks: Uint8Array[] = [];
        for (let offset = 0, i = 0; offset < wire.length; i++) {
          const size = sizes[i % sizes.length] as number;
          chunks.push(wire.subarray(offset, offset + size));
          offset += size;
        }
        const events = readAll(chunks);
        const expectedData = Buffer.concat(list.filter((f) => f.type === frameType.data).map((f) => f.payload));
        expect(dataBytes(events)).toEqual(expectedData);
        const headers = events.filter((e) => e.kind === 'frame').map((e) => Buffer.from((e as { payload: Uint8Array }).payload));
        expect(headers).toEqual(list.filter((f) => f.type === frameType.headers).map((f) => Buffer.from(f.payload)));
      }),
    );
  });
});
