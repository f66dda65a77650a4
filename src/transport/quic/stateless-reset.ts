import { createHmac, randomBytes } from 'node:crypto';

/**
 * Stateless reset (RFC 9000 section 10.3): a server that lost a connection's state (crashed,
 * restarted) answers a packet for it with a datagram ending in the connection's reset token, and
 * the client closes the connection at once instead of waiting for its idle timeout. The token is
 * derived from a key and the connection ID (section 10.3.2), so a replacement process started with
 * the same key derives the same token without any shared state.
 */

/** Smallest stateless reset RFC 9000 allows: 5 unpredictable bytes and the 16-byte token. */
const minResetLength = 21;
/** Resets are no longer than this, and always shorter than the packet that triggered them. */
const maxResetLength = 43;
/** Resets sent per second at most, so a flood of stray packets cannot turn the endpoint into a reflector. */
const resetsPerSecond = 200;

/**
 * A reset key derived from a long-lived secret (a worker's ticket key): a replacement started from
 * the same credentials derives the same key, and the secret itself never reaches the endpoint.
 */
export function deriveStatelessResetKey(secret: Uint8Array): Uint8Array {
  return createHmac('sha256', secret).update('qfaas stateless reset key').digest();
}

/** The 16-byte token for a connection ID, as the BigInt quiche's config takes (big-endian). */
export function statelessResetToken(key: Uint8Array, connectionId: Uint8Array): bigint {
  const token = createHmac('sha256', key).update('qfaas stateless reset').update(connectionId).digest().subarray(0, 16);
  return BigInt(`0x${token.toString('hex')}`);
}

function tokenBytes(token: bigint): Buffer {
  return Buffer.from(token.toString(16).padStart(32, '0'), 'hex');
}

/**
 * Writes a stateless reset answering a `triggerLength`-byte packet into `out` and returns its
 * length, or 0 when the trigger is too short to be answered by something smaller (a reset must not
 * provoke a reset in return, section 10.3.3).
 */
export function writeStatelessReset(token: bigint, triggerLength: number, out: Uint8Array): number {
  const length = Math.min(maxResetLength, triggerLength - 1);
  if (length < minResetLength) return 0;
  randomBytes(length - 16).copy(out, 0);
  // Short header form with the fixed bit set; the rest unpredictable (section 10.3).
  out[0] = 0x40 | ((out[0] as number) & 0x3f);
  tokenBytes(token).copy(out, length - 16);
  return length;
}

/** A per-second budget of resets. */
export class StatelessResetLimiter {
  #windowStart = 0;
  #sent = 0;

  take(now: number): boolean {
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#sent = 0;
    }
    if (this.#sent >= resetsPerSecond) return false;
    this.#sent++;
    return true;
  }
}
