import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRetryTokenMinter, QfaasConfigError, type QuicEndpoint } from '../../src/index.js';
import {
  clientConfig,
  createQuicClient,
  createTestPki,
  request,
  serverName,
  startTestServer,
  type TestPki,
  type TestServer,
} from '../helpers/quic.js';

describe('Retry tokens (HMAC-SHA256)', () => {
  const key = randomBytes(32);
  const odcid = randomBytes(16);
  const retryId = randomBytes(16);
  const minter = createRetryTokenMinter(key, 10_000);
  const now = 1_000_000;
  const token = minter.mint('127.0.0.1', 4433, odcid, retryId, now);

  it('validates its own token and returns the original destination ID', () => {
    expect(Buffer.from(minter.validate(token, '127.0.0.1', 4433, retryId, now + 5) as Uint8Array)).toEqual(odcid);
  });

  it('refuses a token for another address, port or connection ID, a stale one, or a tampered one', () => {
    expect(minter.validate(token, '127.0.0.2', 4433, retryId, now)).toBeUndefined();
    expect(minter.validate(token, '127.0.0.1', 4434, retryId, now)).toBeUndefined();
    expect(minter.validate(token, '127.0.0.1', 4433, randomBytes(16), now)).toBeUndefined();
    expect(minter.validate(token, '127.0.0.1', 4433, retryId, now + 10_001)).toBeUndefined();
    for (let i = 0; i < token.length; i++) {
      const tampered = Uint8Array.from(token);
      tampered[i] = (tampered[i] as number) ^ 0x01;
      expect(minter.validate(tampered, '127.0.0.1', 4433, retryId, now)).toBeUndefined();
    }
    for (let cut = 0; cut < token.length; cut++) {
      expect(minter.validate(token.subarray(0, cut), '127.0.0.1', 4433, retryId, now)).toBeUndefined();
    }
    const otherKey = createRetryTokenMinter(randomBytes(32), 10_000);
    expect(otherKey.validate(token, '127.0.0.1', 4433, retryId, now)).toBeUndefined();
  });

  it('refuses a short key', () => {
    expect(() => createRetryTokenMinter(randomBytes(16), 1000)).toThrow(QfaasConfigError);
  });
});

describe('stateless Retry on the endpoint', () => {
  let pki: TestPki;
  let server: TestServer;
  let client: QuicEndpoint;
  beforeAll(async () => {
    pki = await createTestPki();
    // Threshold 0: every client gets a Retry, not only under load.
    server = await startTestServer(pki, { retry: { key: randomBytes(32), halfOpenThreshold: 0 } });
    client = await createQuicClient();
  });
  afterAll(async () => {
    await client.close();
    await server.close();
  });

  it('validates the client address with a Retry, then serves it', async () => {
    const connection = client.connect({ host: '127.0.0.1', port: server.port, serverName, config: clientConfig(pki) });
    expect((await request(connection, Buffer.from('validated'))).toString()).toBe('echo:validated');
    const stats = server.endpoint.stats();
    expect(stats.retriesSent).toBe(1);
    expect(stats.invalidRetryTokens).toBe(0);
    await connection.close();
  });
});
