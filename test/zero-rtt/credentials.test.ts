import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { createChainClient } from '../../src/chain/index.js';
import {
  createChainClientQuicConfig,
  createPlatformCA,
  createWorkerQuicConfig,
  credentialsEnvValue,
  CredentialsError,
  encodeChainCredentials,
  encodeCredentials,
  loadChainCredentials,
  loadCredentials,
  ZeroRttGenerator,
  type PlatformCA,
  type WorkerCredentials,
} from '../../src/zero-rtt/index.js';

/** Re-signs an edited wire bundle the way the library computes its digest (sorted-key JSON). */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}
function redigest(wire: Record<string, unknown>): Record<string, unknown> {
  const { digest: _digest, ...body } = wire;
  return { ...body, digest: createHash('sha256').update(canonical(body)).digest('hex') };
}
const refusal = (load: () => unknown): CredentialsError => {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(CredentialsError);
    return error as CredentialsError;
  }
  throw new Error('expected the bundle to be refused');
};

describe('worker credentials', () => {
  let ca: PlatformCA;
  let credentials: WorkerCredentials;
  let wire: Record<string, unknown>;
  const secrets: string[] = [];

  beforeAll(async () => {
    ca = await createPlatformCA();
    const gateway = await ca.issue({ role: 'gateway', name: 'gw.qfaas.internal' });
    const generator = new ZeroRttGenerator({
      ca,
      chainGateway: { serverName: 'gw.qfaas.internal', host: '10.0.0.1', port: 8443, certificate: gateway, ticketKey: new Uint8Array(48).fill(7) },
    });
    credentials = (await generator.provision({ functionName: 'echo', instanceId: 'i-1', hosts: ['127.0.0.1'] })).worker;
    wire = JSON.parse(encodeCredentials(credentials, 'json')) as Record<string, unknown>;
    secrets.push(
      credentials.certificate.keyPem.reveal().split('\n')[1] as string,
      Buffer.from(credentials.ticketKey.reveal()).toString('base64'),
      Buffer.from(credentials.chain?.session?.reveal() as Uint8Array).toString('base64').slice(0, 40),
    );
  });

  it('round-trips through json, env and a Kubernetes Secret manifest', () => {
    const viaJson = loadCredentials({ text: encodeCredentials(credentials, 'json') });
    const envFile = encodeCredentials(credentials, 'env');
    expect(envFile.startsWith('QFAAS_CREDENTIALS=')).toBe(true);
    const viaEnvFile = loadCredentials({ text: envFile });
    const viaEnv = loadCredentials({ env: { QFAAS_CREDENTIALS: envFile.trim().slice('QFAAS_CREDENTIALS='.length) } });
    // The env value alone, with no padding to strip or split on.
    expect(credentialsEnvValue(credentials)).toBe(envFile.trim().slice('QFAAS_CREDENTIALS='.length));
    const viaEnvValue = loadCredentials({ env: { QFAAS_CREDENTIALS: credentialsEnvValue(credentials) } });
    const manifest = encodeCredentials(credentials, 'k8s-secret');
    expect(manifest).toContain('kind: Secret');
    expect(manifest).toContain('name: qfaas-echo-i-1');
    const data = /QFAAS_CREDENTIALS: (\S+)/.exec(manifest)?.[1] as string;
    // A pod maps the Secret key to its environment: Kubernetes base64-decodes data values.
    const viaManifest = loadCredentials({ env: { QFAAS_CREDENTIALS: Buffer.from(data, 'base64').toString() } });
    for (const loaded of [viaJson, viaEnvFile, viaEnv, viaEnvValue, viaManifest]) {
      expect(loaded.serverName).toBe('i-1.echo.qfaas.internal');
      expect(Buffer.from(loaded.ticketKey.reveal())).toEqual(Buffer.from(credentials.ticketKey.reveal()));
      expect(loaded.certificate.keyPem.reveal()).toBe(credentials.certificate.keyPem.reveal());
      expect(loaded.chain?.gatewayPort).toBe(8443);
      expect(Buffer.from(loaded.chain?.session?.reveal() as Uint8Array)).toEqual(Buffer.from(credentials.chain?.session?.reveal() as Uint8Array));
    }
  });

  it("a Kubernetes Secret's data value (base64 of the env value) is recognised and decoded; cut short, it says what it is", () => {
    const manifest = encodeCredentials(credentials, 'k8s-secret');
    const data = /QFAAS_CREDENTIALS: (\S+)/.exec(manifest)?.[1] as string;
    for (const loaded of [loadCredentials({ text: data }), loadCredentials({ env: { QFAAS_CREDENTIALS: data } }), loadCredentials({ text: `QFAAS_CREDENTIALS=${data}\n` })]) {
      expect(loaded.serverName).toBe('i-1.echo.qfaas.internal');
    }
    const cut = refusal(() => loadCredentials({ text: data.slice(0, 2000) }));
    expect(cut.message).toBe(
      'invalid credentials: bundle: this looks like a Kubernetes Secret value (base64 of the QFAAS_CREDENTIALS value), and decoded once it is still not valid JSON (truncated?)',
    );
    for (const secret of secrets) expect(cut.message).not.toContain(secret);
  });

  it('reads a Secret manifest file (what `qfaas provision --format k8s-secret` writes, or kubectl get -o yaml / -o json)', async () => {
    const manifest = encodeCredentials(credentials, 'k8s-secret');
    const data = /QFAAS_CREDENTIALS: (\S+)/.exec(manifest)?.[1] as string;
    const dir = await mkdtemp(join(tmpdir(), 'qfaas-secret-'));
    try {
      const files = {
        'secret.yaml': manifest,
        // kubectl's YAML: more metadata, keys sorted, the value quoted.
        'kubectl.yaml': [
          'apiVersion: v1',
          'data:',
          `  QFAAS_CREDENTIALS: "${data}"`,
          'kind: Secret',
          'metadata:',
          '  creationTimestamp: "2026-01-01T00:00:00Z"',
          '  name: qfaas-echo-i-1',
          '  namespace: default',
          'type: Opaque',
          '',
        ].join('\n'),
        'secret.json': JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'qfaas-echo-i-1' }, type: 'Opaque', data: { QFAAS_CREDENTIALS: data } }, null, 2),
        // stringData holds the env value itself (Kubernetes encodes it on apply).
        'string-data.yaml': `apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\nstringData:\n  QFAAS_CREDENTIALS: ${Buffer.from(data, 'base64').toString()}\n`,
      };
      for (const [name, text] of Object.entries(files)) {
        const file = join(dir, name);
        await writeFile(file, text, { mode: 0o600 });
        expect(loadCredentials({ file }).serverName, name).toBe('i-1.echo.qfaas.internal');
      }
      expect(loadCredentials({ text: manifest }).instanceId).toBe('i-1');

      // A Secret without the key: said to be one, and what to pass instead.
      const other = join(dir, 'other.yaml');
      await writeFile(other, manifest.replace('QFAAS_CREDENTIALS:', 'OTHER_KEY:'), { mode: 0o600 });
      const missing = refusal(() => loadCredentials({ file: other }));
      expect(missing.field).toBe('data.QFAAS_CREDENTIALS');
      expect(missing.message).toBe(
        'invalid credentials: data.QFAAS_CREDENTIALS: is missing: this is a Kubernetes Secret manifest without a QFAAS_CREDENTIALS key (qfaas provision --format k8s-secret writes one)',
      );
      for (const secret of secrets) expect(missing.message).not.toContain(secret);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('loads from a file and from an object', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qfaas-creds-'));
    try {
      const file = join(dir, 'worker.env');
      await writeFile(file, encodeCredentials(credentials, 'env'), { mode: 0o600 });
      expect(loadCredentials({ file }).instanceId).toBe('i-1');
      expect(loadCredentials(credentials).instanceId).toBe('i-1');
      expect(refusal(() => loadCredentials({ file: join(dir, 'missing') })).field).toBe('file');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('never shows a secret through inspect, String, JSON.stringify or an error', () => {
    const shown = [inspect(credentials, { depth: 10 }), String(credentials.ticketKey), JSON.stringify(credentials), `${credentials.certificate.keyPem}`];
    for (const text of shown) {
      for (const secret of secrets) expect(text).not.toContain(secret);
      expect(text).not.toContain('PRIVATE KEY');
    }
    const error = refusal(() => loadCredentials({ text: JSON.stringify({ ...wire, keyPem: 'not a key' }) }));
    expect(error.message).not.toContain('not a key');
  });

  it('refuses an edited bundle (digest), a truncated one, and a missing variable, naming the field', () => {
    expect(refusal(() => loadCredentials({ text: JSON.stringify({ ...wire, instanceId: 'i-2' }) })).field).toBe('digest');
    const text = encodeCredentials(credentials, 'json');
    expect(refusal(() => loadCredentials({ text: text.slice(0, text.length / 2) })).message).toMatch(/truncated/);
    expect(refusal(() => loadCredentials({ env: {} })).field).toBe('QFAAS_CREDENTIALS');
    expect(refusal(() => loadCredentials({ text: JSON.stringify({ ...wire, version: 2 }) })).field).toBe('version');
    expect(refusal(() => loadCredentials({ text: JSON.stringify({ ...wire, functionName: 'Not_A_Label' }) })).field).toBe('functionName');
  });

  it('the digest detects corruption, not tampering: an edited bundle with a recomputed digest is accepted (deliver bundles over a channel with integrity)', () => {
    // Documents the limit stated in docs/security.md: SHA-256 without a key proves nothing about
    // who wrote the bundle. Whoever can rewrite it can turn off client authentication.
    expect(wire.clientAuth).toBe('required');
    const tampered = redigest({ ...wire, clientAuth: 'none' });
    expect(loadCredentials({ text: JSON.stringify(tampered) }).clientAuth).toBe('none');
    // Without recomputing, the same edit is caught, as corruption would be.
    expect(refusal(() => loadCredentials({ text: JSON.stringify({ ...wire, clientAuth: 'none' }) })).field).toBe('digest');
  });

  it('chain credentials alone (QFAAS_CHAIN_CREDENTIALS) carry no worker key and no ticket key, load, and configure a chain client', async () => {
    const value = encodeChainCredentials(credentials);
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    expect(decoded).not.toContain(secrets[0] as string);
    expect(decoded).not.toContain(secrets[1] as string);
    expect(decoded).not.toContain('ticketKey');
    const loaded = loadChainCredentials({ env: { QFAAS_CHAIN_CREDENTIALS: value } });
    expect(loaded.caPem).toBe(credentials.caPem);
    expect(loaded.chain.certificate.certPem).toBe(credentials.chain?.certificate.certPem);
    expect(loaded.chain.session?.reveal()).toEqual(credentials.chain?.session?.reveal());
    expect(refusal(() => loadChainCredentials({ env: {} })).field).toBe('QFAAS_CHAIN_CREDENTIALS');
    const edited = JSON.parse(decoded) as Record<string, unknown>;
    expect(refusal(() => loadChainCredentials({ text: JSON.stringify({ ...edited, caPem: wire.certPem }) })).field).toBe('digest');
    const client = createChainClient({ credentials: loaded });
    await client.close();
  });

  it('chain credentials: hostile values are refused with the field named and nothing secret quoted', async () => {
    const value = encodeChainCredentials(credentials);
    const wireChain = JSON.parse(Buffer.from(value, 'base64').toString('utf8')) as Record<string, unknown>;
    // Truncated in transit (an env value cut short), and not base64 at all.
    expect(refusal(() => loadChainCredentials({ text: value.slice(0, value.length / 2) })).message).toMatch(/JSON/);
    expect(refusal(() => loadChainCredentials({ text: '%%%' })).message).toMatch(/neither JSON nor base64/);
    // The worker's whole bundle where only the chain part belongs.
    expect(refusal(() => loadChainCredentials({ text: JSON.stringify(wire) })).field).toBe('kind');
    // A huge certificate field, with the digest recomputed.
    const huge = redigest({ ...wireChain, caPem: `-----BEGIN CERTIFICATE-----${'A'.repeat(70_000)}-----END CERTIFICATE-----` });
    expect(refusal(() => loadChainCredentials({ text: JSON.stringify(huge) })).field).toBe('caPem');
    // A chain certificate from another CA, with the digest recomputed.
    const other = await createPlatformCA();
    const foreign = await other.issue({ role: 'chain', name: 'i-1.echo' });
    const swapped = redigest({ ...wireChain, chain: { ...(wireChain.chain as Record<string, unknown>), certPem: foreign.certPem, keyPem: foreign.keyPem } });
    const error = refusal(() => loadChainCredentials({ text: JSON.stringify(swapped) }));
    expect(error.field).toBe('chain.certPem');
    expect(error.message).not.toContain('PRIVATE KEY');
    // Settings that are not what the generator writes, with the digest recomputed.
    const badSettings = redigest({ ...wireChain, chain: { ...(wireChain.chain as Record<string, unknown>), settings: { maxFieldSectionSize: 0, qpackMaxTableCapacity: 0, qpackBlockedStreams: 0 } } });
    expect(refusal(() => loadChainCredentials({ text: JSON.stringify(badSettings) })).field).toBe('chain.settings');
  });

  it('refuses a truncated ticket key, even with a recomputed digest', () => {
    const short = redigest({ ...wire, ticketKey: Buffer.alloc(32).toString('base64') });
    const error = refusal(() => loadCredentials({ text: JSON.stringify(short) }));
    expect(error.field).toBe('ticketKey');
    expect(error.message).toContain('48 bytes');
  });

  it('refuses a certificate from another CA, a wrong server name, a foreign key and an expired certificate', async () => {
    const other = await createPlatformCA();
    const foreign = await other.issue({ role: 'worker', name: 'i-1.echo.qfaas.internal' });
    const wrongCa = redigest({ ...wire, certPem: foreign.certPem, keyPem: foreign.keyPem });
    expect(refusal(() => loadCredentials({ text: JSON.stringify(wrongCa) }))).toMatchObject({ field: 'certPem' });
    expect(refusal(() => loadCredentials({ text: JSON.stringify(redigest({ ...wire, serverName: 'i-2.echo.qfaas.internal' })) })).field).toBe(
      'serverName',
    );
    const otherKey = (await ca.issue({ role: 'worker', name: 'x.qfaas.internal' })).keyPem;
    expect(refusal(() => loadCredentials({ text: JSON.stringify(redigest({ ...wire, keyPem: otherKey })) })).field).toBe('keyPem');
    const later = Date.now() + 31 * 24 * 3600_000;
    const expired = refusal(() => loadCredentials({ text: JSON.stringify(wire) }, later));
    expect(expired.field).toBe('certPem');
    expect(expired.message).toContain('expired');
  });

  it('expired credentials: a CredentialsError on certPem (or chain.certPem) that says to re-provision the worker', async () => {
    const later = Date.now() + 31 * 24 * 3600_000;
    const expired = refusal(() => loadCredentials({ env: { QFAAS_CREDENTIALS: encodeCredentials(credentials, 'env').trim().slice('QFAAS_CREDENTIALS='.length) } }, later));
    expect(expired).toMatchObject({ code: 'QFAAS_INVALID_CREDENTIALS', field: 'certPem' });
    expect(expired.message).toMatch(/^invalid credentials: certPem: the worker certificate expired on \d{4}-\d\d-\d\dT[\d:.]+Z; re-provision the worker/);
    // The same from a credentials object.
    expect(refusal(() => loadCredentials(credentials, later)).message).toContain('re-provision the worker');

    // Only the chain certificate expired (issued for one second), with the digest recomputed.
    const shortLived = await ca.issue({ role: 'chain', name: 'i-1.echo', validityMs: 1000 });
    const chainWire = redigest({ ...wire, chain: { ...(wire.chain as Record<string, unknown>), certPem: shortLived.certPem, keyPem: shortLived.keyPem } });
    const chainExpired = refusal(() => loadCredentials({ text: JSON.stringify(chainWire) }, Date.now() + 10_000));
    expect(chainExpired.field).toBe('chain.certPem');
    expect(chainExpired.message).toMatch(/the chain certificate expired on .*; re-provision the worker/);

    // Not valid yet: the clock of this host is behind the control plane's (or the bundle is from the future).
    const earlier = Date.now() - 3600_000;
    const early = refusal(() => loadCredentials({ text: JSON.stringify(wire) }, earlier));
    expect(early.field).toBe('certPem');
    expect(early.message).toMatch(/is not valid until .*Z: is this host's clock behind\? If it is right, re-provision the worker/);
  });

  it('createWorkerQuicConfig refuses credentials that expired since they were loaded with the same CredentialsError, not a QfaasConfigError', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 31 * 24 * 3600_000);
      const error = refusal(() => createWorkerQuicConfig(credentials));
      expect(error).toMatchObject({ code: 'QFAAS_INVALID_CREDENTIALS', field: 'certPem' });
      expect(error.message).toContain('re-provision the worker');
      const chain = refusal(() => createChainClientQuicConfig(credentials));
      expect(chain.field).toBe('chain.certPem');
    } finally {
      vi.useRealTimers();
    }
  });
});
