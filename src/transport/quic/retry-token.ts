import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { QfaasConfigError } from '../../errors.js';

/**
 * Stateless Retry tokens (RFC 9000 section 8.1.2): the server proves a client owns its address
 * without keeping state. A token binds the client address and port, the original destination
 * connection ID, the connection ID the server chose in its Retry, and an expiry, under an
 * HMAC-SHA256 key.
 *
 * Layout: version (1) | expiry ms, big-endian (8) | odcid length (1) | odcid | HMAC (32).
 */
const tokenVersion = 1;
const macLength = 32;
const minKeyLength = 32;

/** Mints Retry tokens bound to a client address and checks them. */
export interface RetryTokenMinter {
  mint(address: string, port: number, originalDestinationId: Uint8Array, retrySourceId: Uint8Array, now: number): Uint8Array;
  /** Returns the original destination connection ID, or undefined for a forged, stale or foreign token. */
  validate(token: Uint8Array, address: string, port: number, retrySourceId: Uint8Array, now: number): Uint8Array | undefined;
}

/** Mints and checks address-validation tokens for Retry (RFC 9000 section 8.1.2) with a key and a lifetime. */
export function createRetryTokenMinter(key: Uint8Array, lifetimeMs: number): RetryTokenMinter {
  if (!(key instanceof Uint8Array) || key.length < minKeyLength) {
    throw new QfaasConfigError('retry.key', `must be at least ${minKeyLength} bytes`);
  }
  if (!Number.isFinite(lifetimeMs) || lifetimeMs <= 0) {
    throw new QfaasConfigError('retry.tokenLifetimeMs', 'must be a positive number of milliseconds');
  }
  const secret = Uint8Array.from(key);

  const mac = (expiry: Uint8Array, odcid: Uint8Array, address: string, port: number, retrySourceId: Uint8Array) => {
    const peer = Buffer.from(`${address}|${port}`, 'latin1');
    const h = hmac.create(sha256, secret);
    h.update(Uint8Array.of(tokenVersion));
    h.update(expiry);
    h.update(Uint8Array.of(odcid.length));
    h.update(odcid);
    h.update(Uint8Array.of(retrySourceId.length));
    h.update(retrySourceId);
    h.update(peer);
    return h.digest();
  };

  return {
    mint(address, port, originalDestinationId, retrySourceId, now) {
      const expiry = Buffer.alloc(8);
      expiry.writeBigUInt64BE(BigInt(Math.floor(now + lifetimeMs)));
      const tag = mac(expiry, originalDestinationId, address, port, retrySourceId);
      return Buffer.concat([Uint8Array.of(tokenVersion), expiry, Uint8Array.of(originalDestinationId.length), originalDestinationId, tag]);
    },
    validate(token, address, port, retrySourceId, now) {
      if (token.length < 1 + 8 + 1 + macLength || token[0] !== tokenVersion) return undefined;
      const odcidLength = token[9] as number;
      if (odcidLength > 20 || token.length !== 10 + odcidLength + macLength) return undefined;
      const expiry = token.subarray(1, 9);
      const odcid = token.subarray(10, 10 + odcidLength);
      const expected = mac(expiry, odcid, address, port, retrySourceId);
      if (!constantTimeEqual(expected, token.subarray(10 + odcidLength))) return undefined;
      if (Number(Buffer.from(expiry).readBigUInt64BE()) < now) return undefined;
      return Uint8Array.from(odcid);
    },
  };
}

function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}
