import { randomBytes } from 'node:crypto';

/**
 * The headers an invoker adds to a request it sends in 0-RTT early data, so that the worker can
 * tell a replayed flight from the original (RFC 8446 section 8 leaves anti-replay to the
 * application): a 16-byte random nonce, and the client's clock when it sent the request.
 */
export const earlyNonceHeader = 'qfaas-early-nonce';
export const earlyTimestampHeader = 'qfaas-early-timestamp';

export interface EarlyDataMark {
  nonce: string;
  timestamp: number;
}

/** A fresh mark: base64url nonce and the current time in milliseconds since the epoch. */
export function markEarlyRequest(headers: Headers, now = Date.now()): EarlyDataMark {
  const mark = { nonce: randomBytes(16).toString('base64url'), timestamp: now };
  headers.set(earlyNonceHeader, mark.nonce);
  headers.set(earlyTimestampHeader, String(mark.timestamp));
  return mark;
}

/** The mark on a request, or undefined when it is missing or malformed. */
export function readEarlyRequestMark(headers: Headers): EarlyDataMark | undefined {
  const nonce = headers.get(earlyNonceHeader);
  const timestamp = headers.get(earlyTimestampHeader);
  if (nonce === null || timestamp === null) return undefined;
  if (!/^[A-Za-z0-9_-]{22}$/.test(nonce) || !/^\d{1,15}$/.test(timestamp)) return undefined;
  return { nonce, timestamp: Number(timestamp) };
}
