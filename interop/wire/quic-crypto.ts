/**
 * QUIC packet protection (RFC 9001 section 5) as an observer on the path needs it: Initial keys
 * from the client's destination connection ID, 1-RTT keys from a TLS key log, key updates, header
 * protection removal and AEAD opening. Node's crypto only; nothing here sends anything.
 */
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';

/** The TLS 1.3 cipher suites QUIC uses, by their code point. */
export const cipherSuiteNames: Readonly<Record<number, string>> = {
  0x1301: 'TLS_AES_128_GCM_SHA256',
  0x1302: 'TLS_AES_256_GCM_SHA384',
  0x1303: 'TLS_CHACHA20_POLY1305_SHA256',
  0x1304: 'TLS_AES_128_CCM_SHA256',
};

export function cipherSuiteName(suite: number): string {
  return cipherSuiteNames[suite] ?? `0x${suite.toString(16).padStart(4, '0')}`;
}

interface SuiteParameters {
  hash: 'sha256' | 'sha384';
  hashLength: number;
  keyLength: number;
  aead: 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305';
  headerProtection: 'aes-128-ecb' | 'aes-256-ecb' | 'chacha20';
}

const suites: Readonly<Record<number, SuiteParameters>> = {
  0x1301: { hash: 'sha256', hashLength: 32, keyLength: 16, aead: 'aes-128-gcm', headerProtection: 'aes-128-ecb' },
  0x1302: { hash: 'sha384', hashLength: 48, keyLength: 32, aead: 'aes-256-gcm', headerProtection: 'aes-256-ecb' },
  0x1303: { hash: 'sha256', hashLength: 32, keyLength: 32, aead: 'chacha20-poly1305', headerProtection: 'chacha20' },
};

/** QUIC version 1's Initial salt (RFC 9001 section 5.2). */
const initialSaltV1 = Buffer.from('38762cf7f55934b34d179ae6a4c80cadccbb7f0a', 'hex');

function hkdfExtract(hash: string, salt: Uint8Array, ikm: Uint8Array): Buffer {
  return createHmac(hash, salt).update(ikm).digest();
}

function hkdfExpand(hash: string, prk: Uint8Array, info: Uint8Array, length: number): Buffer {
  const blocks: Buffer[] = [];
  let previous = Buffer.alloc(0);
  for (let counter = 1; Buffer.concat(blocks).length < length; counter++) {
    previous = createHmac(hash, prk)
      .update(Buffer.concat([previous, info, Buffer.from([counter])]))
      .digest();
    blocks.push(previous);
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/** HKDF-Expand-Label of TLS 1.3 (RFC 8446 section 7.1) with an empty context. */
export function hkdfExpandLabel(hash: string, secret: Uint8Array, label: string, length: number): Buffer {
  const fullLabel = Buffer.from(`tls13 ${label}`, 'latin1');
  const info = Buffer.concat([Buffer.from([length >> 8, length & 0xff, fullLabel.length]), fullLabel, Buffer.from([0])]);
  return hkdfExpand(hash, secret, info, length);
}

/** The keys of one direction at one encryption level (and key generation). */
export interface PacketKeys {
  suite: number;
  key: Buffer;
  iv: Buffer;
  hp: Buffer;
}

/** Keys from a traffic secret. Throws for a suite this observer cannot open (e.g. AES-128-CCM). */
export function packetKeys(suite: number, secret: Uint8Array, hp?: Buffer): PacketKeys {
  const parameters = suites[suite];
  if (parameters === undefined) throw new Error(`cannot open packets protected with ${cipherSuiteName(suite)}`);
  return {
    suite,
    key: hkdfExpandLabel(parameters.hash, secret, 'quic key', parameters.keyLength),
    iv: hkdfExpandLabel(parameters.hash, secret, 'quic iv', 12),
    // The header protection key never changes with key updates (RFC 9001 section 6).
    hp: hp ?? hkdfExpandLabel(parameters.hash, secret, 'quic hp', parameters.keyLength),
  };
}

/** The next generation's secret after a key update (RFC 9001 section 6.1). */
export function nextSecret(suite: number, secret: Uint8Array): Buffer {
  const parameters = suites[suite];
  if (parameters === undefined) throw new Error(`cannot update keys of ${cipherSuiteName(suite)}`);
  return hkdfExpandLabel(parameters.hash, secret, 'quic ku', parameters.hashLength);
}

/** Client and server Initial keys for a connection whose client chose `dcid` (RFC 9001 section 5.2). */
export function initialKeys(dcid: Uint8Array): { client: PacketKeys; server: PacketKeys } {
  const initialSecret = hkdfExtract('sha256', initialSaltV1, dcid);
  return {
    client: packetKeys(0x1301, hkdfExpandLabel('sha256', initialSecret, 'client in', 32)),
    server: packetKeys(0x1301, hkdfExpandLabel('sha256', initialSecret, 'server in', 32)),
  };
}

/** The 5-byte header protection mask for a 16-byte sample. */
export function headerProtectionMask(keys: PacketKeys, sample: Uint8Array): Buffer {
  const parameters = suites[keys.suite];
  if (parameters === undefined) throw new Error(`no header protection for ${cipherSuiteName(keys.suite)}`);
  if (parameters.headerProtection === 'chacha20') {
    // OpenSSL's ChaCha20 IV is the 4-byte little-endian counter then the 12-byte nonce: the sample as is.
    const cipher = createCipheriv('chacha20', keys.hp, sample);
    return Buffer.concat([cipher.update(Buffer.alloc(5)), cipher.final()]);
  }
  const cipher = createCipheriv(parameters.headerProtection, keys.hp, null);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(sample), cipher.final()]).subarray(0, 5);
}

/** Opens a packet's payload; undefined when authentication fails (wrong keys or damaged packet). */
export function openPayload(keys: PacketKeys, packetNumber: number, header: Uint8Array, sealed: Uint8Array): Buffer | undefined {
  const parameters = suites[keys.suite];
  if (parameters === undefined || sealed.length < 16) return undefined;
  const nonce = Buffer.from(keys.iv);
  let pn = BigInt(packetNumber);
  for (let i = 11; i >= 4 && pn > 0n; i--) {
    nonce[i] = (nonce[i] as number) ^ Number(pn & 0xffn);
    pn >>= 8n;
  }
  try {
    const decipher = createDecipheriv(parameters.aead, keys.key, nonce, { authTagLength: 16 } as never) as ReturnType<typeof createDecipheriv> & {
      setAAD(aad: Uint8Array, options?: unknown): void;
      setAuthTag(tag: Uint8Array): void;
    };
    decipher.setAAD(header, { plaintextLength: sealed.length - 16 });
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
  } catch {
    return undefined;
  }
}

/** Expands a truncated packet number (RFC 9000 appendix A.3). */
export function decodePacketNumber(largest: number, truncated: number, bits: number): number {
  const expected = largest + 1;
  const window = 2 ** bits;
  const half = window / 2;
  const candidate = Math.floor(expected / window) * window + truncated;
  if (candidate <= expected - half && candidate < 2 ** 62 - window) return candidate + window;
  if (candidate > expected + half && candidate >= window) return candidate - window;
  return candidate;
}
