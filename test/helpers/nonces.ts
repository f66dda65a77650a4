import type { MemoryStrikeRegister } from '../../src/replay-guard/index.js';

/** Fills a register with `count` distinct 16-byte nonces (base64url, as invokers send them). */
export function fillWithNonces(register: MemoryStrikeRegister, count: number, ttlMs: number): void {
  const nonce = Buffer.alloc(16);
  for (let i = 0; i < count; i++) {
    nonce.writeUInt32LE(i, 0);
    nonce.writeUInt32LE(Math.imul(i, 2654435761) >>> 0, 8);
    register.insert(nonce.toString('base64url'), ttlMs);
  }
}
