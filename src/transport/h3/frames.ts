import { ByteWriter } from './byte-writer.js';
import { connectionError } from './protocol-errors.js';
import { writeFieldSection, type Field } from './qpack/field-section.js';
import { readVarint, varintLength, writeVarint } from '../quic/varint.js';

/** HTTP/3 frame types (RFC 9114 section 7.2). */
export const frameType = {
  data: 0x00,
  headers: 0x01,
  cancelPush: 0x03,
  settings: 0x04,
  pushPromise: 0x05,
  goaway: 0x07,
  maxPushId: 0x0d,
} as const;

/** Frame types of HTTP/2 that HTTP/3 reserves: receiving one is H3_FRAME_UNEXPECTED (section 7.2.8). */
export const http2OnlyFrameTypes: ReadonlySet<number> = new Set([0x02, 0x06, 0x08, 0x09]);

/** Unidirectional stream types (RFC 9114 section 6.2, RFC 9204 section 4.2). */
export const streamType = {
  control: 0x00,
  push: 0x01,
  qpackEncoder: 0x02,
  qpackDecoder: 0x03,
} as const;

/** Setting identifiers (RFC 9114 section 7.2.4.1, RFC 9204 section 5). */
export const settingId = {
  qpackMaxTableCapacity: 0x01,
  maxFieldSectionSize: 0x06,
  qpackBlockedStreams: 0x07,
} as const;

/** HTTP/2 settings with no HTTP/3 meaning: receiving one is H3_SETTINGS_ERROR. */
const http2OnlySettings: ReadonlySet<number> = new Set([0x00, 0x02, 0x03, 0x04, 0x05]);

/** A reserved value for greasing, different each time so peers cannot come to depend on one. */
export function greaseValue(): number {
  return 0x1f * Math.floor(Math.random() * 1000) + 0x21;
}

type Settings = ReadonlyMap<number, number>;

// ---- Encoding ---------------------------------------------------------------------------------

/** Frame header (type and length) alone: lets DATA payloads go out without being copied. */
export function encodeFrameHeader(type: number, payloadLength: number): Uint8Array {
  const out = new Uint8Array(varintLength(type) + varintLength(payloadLength));
  writeVarint(out, writeVarint(out, 0, type), payloadLength);
  return out;
}

export function encodeFrame(type: number, payload: Uint8Array): Uint8Array {
  const header = encodeFrameHeader(type, payload.length);
  const out = new Uint8Array(header.length + payload.length);
  out.set(header, 0);
  out.set(payload, header.length);
  return out;
}

/** Field sections are encoded here first, then copied once into their frame. */
const sectionScratch = new ByteWriter(1024);

/**
 * A HEADERS frame carrying `fields`, followed by a DATA frame carrying `data` when given (a small
 * body sent with its headers), in one buffer.
 */
export function encodeHeadersFrame(fields: readonly Field[], data?: Uint8Array): Uint8Array {
  sectionScratch.reset();
  writeFieldSection(sectionScratch, fields);
  const section = sectionScratch.view();
  const dataLength = data === undefined ? 0 : varintLength(frameType.data) + varintLength(data.length) + data.length;
  const out = new Uint8Array(varintLength(frameType.headers) + varintLength(section.length) + section.length + dataLength);
  let offset = writeVarint(out, writeVarint(out, 0, frameType.headers), section.length);
  out.set(section, offset);
  offset += section.length;
  if (data !== undefined) {
    offset = writeVarint(out, writeVarint(out, offset, frameType.data), data.length);
    out.set(data, offset);
  }
  return out;
}

function varintPayload(...values: number[]): Uint8Array {
  const out = new Uint8Array(values.reduce((sum, v) => sum + varintLength(v), 0));
  let offset = 0;
  for (const value of values) offset = writeVarint(out, offset, value);
  return out;
}

export function encodeSettingsFrame(settings: Settings): Uint8Array {
  const values: number[] = [];
  for (const [id, value] of settings) values.push(id, value);
  return encodeFrame(frameType.settings, varintPayload(...values));
}

export function encodeGoawayFrame(id: number): Uint8Array {
  return encodeFrame(frameType.goaway, varintPayload(id));
}

export function encodeMaxPushIdFrame(pushId: number): Uint8Array {
  return encodeFrame(frameType.maxPushId, varintPayload(pushId));
}

export function encodeCancelPushFrame(pushId: number): Uint8Array {
  return encodeFrame(frameType.cancelPush, varintPayload(pushId));
}

export function encodePushPromiseFrame(pushId: number, fieldSection: Uint8Array): Uint8Array {
  const writer = new ByteWriter(fieldSection.length + 8);
  writer.bytes(varintPayload(pushId));
  writer.bytes(fieldSection);
  return encodeFrame(frameType.pushPromise, writer.view());
}

/** A stream-type prefix for a unidirectional stream. */
export function encodeStreamType(type: number): Uint8Array {
  return varintPayload(type);
}

// ---- Payload parsing (the frame reader delivers complete payloads) ------------------------------

export function parseSettingsPayload(payload: Uint8Array): Map<number, number> {
  const settings = new Map<number, number>();
  let offset = 0;
  while (offset < payload.length) {
    const id = readVarint(payload, offset);
    if (id === undefined) throw connectionError('H3_FRAME_ERROR', 'truncated SETTINGS identifier');
    const value = readVarint(payload, id.next);
    if (value === undefined) throw connectionError('H3_FRAME_ERROR', 'truncated SETTINGS value');
    offset = value.next;
    if (http2OnlySettings.has(id.value)) {
      throw connectionError('H3_SETTINGS_ERROR', `setting 0x${id.value.toString(16)} is reserved from HTTP/2`);
    }
    if (settings.has(id.value)) throw connectionError('H3_SETTINGS_ERROR', `setting 0x${id.value.toString(16)} appears twice`);
    settings.set(id.value, value.value);
  }
  return settings;
}

/** GOAWAY, MAX_PUSH_ID and CANCEL_PUSH carry exactly one varint. */
export function parseSingleVarintPayload(payload: Uint8Array, frameName: string): number {
  const value = readVarint(payload, 0);
  if (value === undefined || value.next !== payload.length) {
    throw connectionError('H3_FRAME_ERROR', `${frameName} payload must be exactly one varint`);
  }
  return value.value;
}

export function parsePushPromisePayload(payload: Uint8Array): { pushId: number; fieldSection: Uint8Array } {
  const pushId = readVarint(payload, 0);
  if (pushId === undefined) throw connectionError('H3_FRAME_ERROR', 'truncated PUSH_PROMISE');
  return { pushId: pushId.value, fieldSection: payload.subarray(pushId.next) };
}
