import { describe, expect, it } from 'vitest';
import { h3ErrorCodes, Http3Connection, type Http3ConnectionOptions } from '../../src/transport/index.js';
import { encodeFieldSection } from '../../src/transport/h3/qpack/field-section.js';
import { encodeFrame, encodeFrameHeader, encodeSettingsFrame, encodeStreamType, frameType, streamType } from '../../src/transport/h3/frames.js';
import { fakeTransportPair, getFields, settle, type FakeStream } from '../helpers/fake-h3-transport.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A HEADERS frame that announces `announced` payload bytes and carries one byte fewer. */
function partialHeaders(announced: number): Uint8Array {
  return Buffer.concat([encodeFrameHeader(frameType.headers, announced), new Uint8Array(announced - 1).fill(0x41)]);
}

async function rawClient(options: Omit<Http3ConnectionOptions, 'handler'> = {}) {
  let handled = 0;
  const { client: raw, server: serverTransport } = fakeTransportPair({ chunked: true });
  const server = new Http3Connection(serverTransport, {
    handler: () => {
      handled++;
      return new Response('ok');
    },
    ...options,
  });
  raw.setStreamHandler(() => undefined);
  const control = raw.openRaw(false);
  await control.write(Buffer.concat([encodeStreamType(streamType.control), encodeSettingsFrame(new Map())]));
  return { raw, server, handled: () => handled };
}

describe('unfinished request header sections are bounded in time and bytes', () => {
  it('streams that never finish their HEADERS frame are reset with H3_REQUEST_INCOMPLETE at headersTimeoutMs, and their bytes are released', async () => {
    const { raw, server, handled } = await rawClient({ headersTimeoutMs: 300, maxUnfinishedHeaderBytes: 0 });
    const streams: FakeStream[] = [];
    for (let i = 0; i < 40; i++) {
      const stream = raw.openRaw(true);
      await stream.write(partialHeaders(130_000));
      streams.push(stream);
    }
    await settle();
    // Counted from the first byte, though no request has reached the handler.
    expect(server.unfinishedHeaderSections.count).toBe(40);
    expect(server.unfinishedHeaderSections.bytes).toBeGreaterThanOrEqual(40 * 129_999);
    expect(server.activeRequests).toBe(40);
    // A complete request is still served meanwhile.
    const good = raw.openRaw(true);
    await good.end(encodeFrame(frameType.headers, encodeFieldSection(getFields)));
    await settle();
    expect(handled()).toBe(1);

    // Generous: the deadline is 300 ms; not the 70 s the attack held memory for.
    for (let i = 0; i < 100 && server.unfinishedHeaderSections.count > 0; i++) await sleep(50);
    await settle();
    expect(streams.map((s) => s.resetByPeer)).toEqual(streams.map(() => h3ErrorCodes.H3_REQUEST_INCOMPLETE));
    expect(server.unfinishedHeaderSections).toEqual({ count: 0, bytes: 0 });
    expect(server.activeRequests).toBe(0);
    expect(server.closeError).toBeUndefined();
    expect(handled()).toBe(1);
  });

  it('a header section that trickles in one byte at a time is cut at the deadline too (the clock does not restart per byte)', async () => {
    const { raw, server } = await rawClient({ headersTimeoutMs: 300 });
    const stream = raw.openRaw(true);
    const bytes = encodeFrame(frameType.headers, encodeFieldSection([...getFields, ['x-pad', 'a'.repeat(200)]]));
    let sent = 0;
    const started = performance.now();
    while (stream.resetByPeer === undefined && sent < bytes.length - 1 && performance.now() - started < 5000) {
      await stream.write(bytes.subarray(sent, sent + 1)).catch(() => undefined);
      sent++;
      await sleep(20);
    }
    expect(stream.resetByPeer).toBe(h3ErrorCodes.H3_REQUEST_INCOMPLETE);
    expect(sent).toBeLessThan(bytes.length - 1);
    expect(server.unfinishedHeaderSections).toEqual({ count: 0, bytes: 0 });
  });

  it('more unfinished header bytes than maxUnfinishedHeaderBytes on one connection closes it with H3_EXCESSIVE_LOAD', async () => {
    const { raw, server } = await rawClient({ headersTimeoutMs: 0, maxUnfinishedHeaderBytes: 300_000 });
    for (let i = 0; i < 2; i++) await raw.openRaw(true).write(partialHeaders(130_000));
    await settle();
    expect(server.closeError).toBeUndefined();
    expect(server.unfinishedHeaderSections.count).toBe(2);
    await raw.openRaw(true).write(partialHeaders(130_000));
    await settle();
    expect(raw.closeCodeReceived).toBe(h3ErrorCodes.H3_EXCESSIVE_LOAD);
    expect(server.unfinishedHeaderSections).toEqual({ count: 0, bytes: 0 });
  });

  it('the byte cap is on by default (1 MiB), and a cap below one HEADERS frame is refused', async () => {
    const { raw, server } = await rawClient();
    // 1 MiB holds eight sections of 130,000 bytes, not nine.
    for (let i = 0; i < 9; i++) await raw.openRaw(true).write(partialHeaders(130_000));
    await settle();
    expect(raw.closeCodeReceived).toBe(h3ErrorCodes.H3_EXCESSIVE_LOAD);
    expect(server.unfinishedHeaderSections.bytes).toBe(0);
    const { server: serverTransport } = fakeTransportPair();
    expect(() => new Http3Connection(serverTransport, { handler: () => new Response(), maxUnfinishedHeaderBytes: 1000 })).toThrow(/maxUnfinishedHeaderBytes/);
  });
});
