import { randomBytes } from 'node:crypto';
import { headerValue, type HeadersLike } from './policy.js';

/**
 * The headers an invoker adds to a request it sends in 0-RTT early data, so that the worker can
 * tell a replayed flight from the original (RFC 8446 section 8 leaves anti-replay to the
 * application): a 16-byte random nonce, and the client's clock when it sent the request.
 */
export const earlyNonceHeader = 'qfaas-early-nonce';
/** The header with the client's clock (ms since the epoch) when it sent an early request. */
export const earlyTimestampHeader = 'qfaas-early-timestamp';

/** The nonce and timestamp that mark a request sent in early data. */
export interface EarlyDataMark {
  nonce: string;
  timestamp: number;
}

/** Random bytes drawn 4 KiB at a time: one system call per 256 nonces, not one per request. */
const nonceBytes = 16;
let randomPool = Buffer.alloc(0);
let randomOffset = 0;

function freshNonce(): string {
  if (randomOffset + nonceBytes > randomPool.length) {
    randomPool = randomBytes(256 * nonceBytes);
    randomOffset = 0;
  }
  const nonce = randomPool.toString('base64url', randomOffset, randomOffset + nonceBytes);
  randomOffset += nonceBytes;
  return nonce;
}

/** A fresh mark: base64url nonce and the current time in milliseconds since the epoch. */
export function newEarlyDataMark(now = Date.now()): EarlyDataMark {
  return { nonce: freshNonce(), timestamp: now };
}

/** Sets a fresh mark on web `Headers`. */
export function markEarlyRequest(headers: Headers, now = Date.now()): EarlyDataMark {
  const mark = newEarlyDataMark(now);
  headers.set(earlyNonceHeader, mark.nonce);
  headers.set(earlyTimestampHeader, String(mark.timestamp));
  return mark;
}

/** The mark on a request, or undefined when it is missing or malformed. */
export function readEarlyRequestMark(headers: HeadersLike): EarlyDataMark | undefined {
  const nonce = headerValue(headers, earlyNonceHeader);
  const timestamp = headerValue(headers, earlyTimestampHeader);
  if (nonce === undefined || timestamp === undefined) return undefined;
  if (!/^[A-Za-z0-9_-]{22}$/.test(nonce) || !/^\d{1,15}$/.test(timestamp)) return undefined;
  return { nonce, timestamp: Number(timestamp) };
}
