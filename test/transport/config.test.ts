import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { createQuicConfig, isQfaasConfigError, QfaasConfigError, QuicEndpoint } from '../../src/index.js';
import { createTestPki, type TestPki } from '../helpers/quic.js';

describe('config validation names the field and the reason', () => {
  let pki: TestPki;
  beforeAll(async () => {
    pki = await createTestPki();
  });

  const refused = (build: () => unknown): QfaasConfigError => {
    try {
      build();
    } catch (error) {
      expect(isQfaasConfigError(error)).toBe(true);
      return error as QfaasConfigError;
    }
    throw new Error('expected the config to be refused');
  };

  it('a server without a certificate', () => {
    const error = refused(() => createQuicConfig({ role: 'server', caPem: pki.ca.certPem } as never));
    expect(error.field).toBe('certificate');
  });

  it('mutual TLS without a CA', () => {
    expect(refused(() => createQuicConfig({ role: 'server', certificate: pki.server })).field).toBe('caPem');
    expect(refused(() => createQuicConfig({ role: 'client' })).field).toBe('caPem');
  });

  it('a ticket key of the wrong length', () => {
    const error = refused(() =>
      createQuicConfig({ role: 'server', caPem: pki.ca.certPem, certificate: pki.server, ticketKey: randomBytes(32) }),
    );
    expect(error.field).toBe('ticketKey');
    expect(error.message).toContain('48 bytes');
  });

  it('text that is not PEM, and a key that does not match', () => {
    expect(refused(() => createQuicConfig({ role: 'client', caPem: 'not a pem' })).field).toBe('caPem');
    const mismatched = { certPem: pki.server.certPem, keyPem: pki.client.keyPem };
    const error = refused(() => createQuicConfig({ role: 'server', caPem: pki.ca.certPem, certificate: mismatched }));
    expect(error.field).toBe('certificate.keyPem');
    expect(error.message).toContain('does not belong');
    const broken = { certPem: pki.server.certPem, keyPem: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' };
    const keyError = refused(() => createQuicConfig({ role: 'server', caPem: pki.ca.certPem, certificate: broken }));
    expect(keyError.field).toBe('certificate.keyPem');
    expect(keyError.message).not.toContain('AAAA');
  });

  it('an expired certificate', () => {
    // 31 days on, the server certificate (30 days of validity) has expired.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 31 * 24 * 3600_000);
      const error = refused(() => createQuicConfig({ role: 'server', caPem: pki.ca.certPem, certificate: pki.server }));
      expect(error.field).toBe('certificate.certPem');
      expect(error.message).toContain('expired');
    } finally {
      vi.useRealTimers();
    }
  });

  it('transport settings out of range', () => {
    const base = { role: 'client', caPem: pki.ca.certPem } as const;
    expect(refused(() => createQuicConfig({ ...base, transport: { maxUdpPayloadSize: 1000 } })).field).toBe(
      'transport.maxUdpPayloadSize',
    );
    expect(refused(() => createQuicConfig({ ...base, transport: { initialMaxData: -1 } })).field).toBe('transport.initialMaxData');
    expect(refused(() => createQuicConfig({ ...base, transport: { pacing: 'yes' as never } })).field).toBe('transport.pacing');
    expect(refused(() => createQuicConfig({ ...base, transport: { pacing: 1 as never } })).message).toContain('true or false');
    expect(refused(() => createQuicConfig({ ...base, alpn: [] })).field).toBe('alpn');
  });

  it('an endpoint host that is not an IP address', async () => {
    await expect(QuicEndpoint.bind({ host: 'localhost' })).rejects.toMatchObject({ field: 'host' });
  });

  it('a port out of range or not a whole number, to listen on or to connect to (never the binding\'s own error)', async () => {
    for (const port of [70_000, -1, 1.5, Number.NaN, '4433' as never]) {
      const error = await QuicEndpoint.bind({ port }).catch((e: unknown) => e);
      expect(isQfaasConfigError(error)).toBe(true);
      expect(error).toMatchObject({ field: 'port' });
      expect((error as Error).message).toMatch(/0 \(any free port\) to 65535/);
    }
    const client = await QuicEndpoint.bind();
    try {
      const config = createQuicConfig({ role: 'client', caPem: pki.ca.certPem });
      // 70000 used to reach quiche ("Failed to convert u32 to u16"), 1.5 node:dgram's send, which
      // threw ERR_SOCKET_BAD_PORT from a timer and took the process down; 0 is nobody's address.
      for (const port of [70_000, 1.5, 0, -1]) {
        const error = refused(() => client.connect({ host: '127.0.0.1', port, serverName: 'w1.qfaas.internal', config }));
        expect(error.field).toBe('port');
        expect(error.message).toContain('1 to 65535');
        expect(error.message).not.toMatch(/u16|u32|GenericFailure/);
      }
      expect(client.stats().connections).toBe(0);
    } finally {
      await client.close();
    }
  });
});
