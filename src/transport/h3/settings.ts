import { connectionError } from './protocol-errors.js';
import { greaseValue, settingId } from './frames.js';

/** The peer's HTTP/3 settings that this implementation acts on (RFC 9114 section 7.2.4.1). */
export interface Http3PeerSettings {
  /** Largest header section the peer accepts; Infinity when it did not say. */
  maxFieldSectionSize: number;
  /** The peer's QPACK dynamic table capacity (this side never uses it). */
  qpackMaxTableCapacity: number;
  qpackBlockedStreams: number;
}

/** What applies before the peer's SETTINGS arrive, when nothing was remembered (RFC 9114 section 7.2.4.2). */
export const defaultPeerSettings: Readonly<Http3PeerSettings> = Object.freeze({
  maxFieldSectionSize: Number.POSITIVE_INFINITY,
  qpackMaxTableCapacity: 0,
  qpackBlockedStreams: 0,
});

/** Default for the largest header section this side accepts and advertises. */
export const defaultMaxFieldSectionSize = 64 * 1024;

export function peerSettingsFrom(settings: ReadonlyMap<number, number>): Http3PeerSettings {
  return {
    maxFieldSectionSize: settings.get(settingId.maxFieldSectionSize) ?? Number.POSITIVE_INFINITY,
    qpackMaxTableCapacity: settings.get(settingId.qpackMaxTableCapacity) ?? 0,
    qpackBlockedStreams: settings.get(settingId.qpackBlockedStreams) ?? 0,
  };
}

/** The SETTINGS this side sends: its field section limit, QPACK capacity 0, and one grease setting. */
export function localSettings(maxFieldSectionSize: number, grease: boolean): Map<number, number> {
  const settings = new Map<number, number>([
    [settingId.maxFieldSectionSize, maxFieldSectionSize],
    [settingId.qpackMaxTableCapacity, 0],
    [settingId.qpackBlockedStreams, 0],
  ]);
  if (grease) settings.set(greaseValue(), Math.floor(Math.random() * 2 ** 20));
  return settings;
}

/**
 * After accepted 0-RTT, the server must not lower a limit the client may already have relied on
 * (RFC 9114 section 7.2.4.2); doing so is H3_SETTINGS_ERROR.
 */
export function checkSettingsAfterZeroRtt(remembered: Http3PeerSettings, received: Http3PeerSettings): void {
  if (received.maxFieldSectionSize < remembered.maxFieldSectionSize) {
    throw connectionError('H3_SETTINGS_ERROR', 'SETTINGS_MAX_FIELD_SECTION_SIZE lowered after 0-RTT was accepted');
  }
}

/** Http3PeerSettings as JSON carries them (Infinity does not survive JSON: it is null there). */
export interface SerializedPeerSettings {
  maxFieldSectionSize: number | null;
  qpackMaxTableCapacity: number;
  qpackBlockedStreams: number;
}

/** For a JSON bundle or a shared store (encodeStoredSession, RedisTicketStore, credentials). */
export function serializePeerSettings(settings: Http3PeerSettings): SerializedPeerSettings {
  return {
    maxFieldSectionSize: Number.isFinite(settings.maxFieldSectionSize) ? settings.maxFieldSectionSize : null,
    qpackMaxTableCapacity: settings.qpackMaxTableCapacity,
    qpackBlockedStreams: settings.qpackBlockedStreams,
  };
}

export function deserializePeerSettings(value: SerializedPeerSettings): Http3PeerSettings {
  return {
    maxFieldSectionSize: value.maxFieldSectionSize ?? Number.POSITIVE_INFINITY,
    qpackMaxTableCapacity: value.qpackMaxTableCapacity,
    qpackBlockedStreams: value.qpackBlockedStreams,
  };
}

/** What {@link isSerializedPeerSettings} demands, for error messages. */
export const serializedPeerSettingsShape =
  'must be { maxFieldSectionSize: a positive integer or null, qpackMaxTableCapacity and qpackBlockedStreams: non-negative integers }';

/**
 * True when a value read back from JSON (a session file, a shared store) has the shape
 * {@link serializePeerSettings} writes. Settings bound what the client sends in 0-RTT, so a
 * tampered or corrupt value must not reach the connection.
 */
export function isSerializedPeerSettings(value: unknown): value is SerializedPeerSettings {
  if (typeof value !== 'object' || value === null) return false;
  const { maxFieldSectionSize, qpackMaxTableCapacity, qpackBlockedStreams } = value as Record<string, unknown>;
  const count = (n: unknown, min: number) => typeof n === 'number' && Number.isSafeInteger(n) && n >= min;
  return (maxFieldSectionSize === null || count(maxFieldSectionSize, 1)) && count(qpackMaxTableCapacity, 0) && count(qpackBlockedStreams, 0);
}
