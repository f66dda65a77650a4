import { X509Certificate } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { QfaasConfigError } from '../../src/errors.js';
import { createPlatformCA, loadPlatformCA } from '../../src/zero-rtt/index.js';

describe('platform CA', () => {
  it('issues a worker certificate for its server name and IPs, chained to the CA', async () => {
    const ca = await createPlatformCA();
    const issued = await ca.issue({ role: 'worker', name: 'i-1.echo.qfaas.internal', hosts: ['127.0.0.1', '::1'] });
    const leaf = new X509Certificate(issued.certPem);
    const root = new X509Certificate(ca.certPem);
    expect(leaf.verify(root.publicKey)).toBe(true);
    expect(leaf.checkIssued(root)).toBe(true);
    expect(leaf.checkHost('i-1.echo.qfaas.internal')).toBe('i-1.echo.qfaas.internal');
    expect(leaf.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(leaf.checkHost('other.echo.qfaas.internal')).toBeUndefined();
    expect(leaf.subject).toContain('OU=worker');
    expect(leaf.keyUsage).toContain('1.3.6.1.5.5.7.3.1');
    expect(root.ca).toBe(true);
  });

  it('issues client certificates (invoker, chain) for client authentication only', async () => {
    const ca = await createPlatformCA();
    const leaf = new X509Certificate((await ca.issue({ role: 'invoker', name: 'gateway-1' })).certPem);
    expect(leaf.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(leaf.subject).toContain('OU=invoker');
  });

  it('loads a CA from PEM and keeps issuing under the same root', async () => {
    const original = await createPlatformCA();
    const loaded = await loadPlatformCA({ certPem: original.certPem, keyPem: original.exportKeyPem() });
    const leaf = new X509Certificate((await loaded.issue({ role: 'chain', name: 'fn-a' })).certPem);
    expect(leaf.verify(new X509Certificate(original.certPem).publicKey)).toBe(true);
  });

  it('refuses a key that is not the CA certificate\'s, a leaf as CA, and bad names', async () => {
    const a = await createPlatformCA();
    const b = await createPlatformCA();
    await expect(loadPlatformCA({ certPem: a.certPem, keyPem: b.exportKeyPem() })).rejects.toMatchObject({ field: 'keyPem' });
    const leaf = await a.issue({ role: 'worker', name: 'w.qfaas.internal' });
    await expect(loadPlatformCA(leaf)).rejects.toMatchObject({ field: 'certPem' });
    await expect(a.issue({ role: 'worker', name: 'not a dns name!' })).rejects.toBeInstanceOf(QfaasConfigError);
    await expect(a.issue({ role: 'boss' as never, name: 'x' })).rejects.toMatchObject({ field: 'role' });
  });

  it('never shows its private key through inspect or JSON', async () => {
    const ca = await createPlatformCA();
    const key = ca.exportKeyPem();
    expect(inspect(ca)).not.toContain('PRIVATE KEY');
    expect(JSON.stringify(ca)).not.toContain('PRIVATE KEY');
    expect(key).toContain('PRIVATE KEY');
  });
});
