import { randomBytes, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectHttp3,
  createHttp3Server,
  createQuicClient,
  createQuicConfig,
  getResponseInfo,
  QuicTlsError,
  type QuicEndpoint,
} from '../../src/transport/index.js';
import { createPlatformCA, credentialsEnvValue, type PlatformCA, ZeroRttGenerator } from '../../src/zero-rtt/index.js';
import { spawnTs, stopChild, waitForLine } from '../helpers/processes.js';

describe('ZeroRttGenerator', () => {
  let ca: PlatformCA;
  let generator: ZeroRttGenerator;
  let client: QuicEndpoint;
  beforeAll(async () => {
    ca = await createPlatformCA();
    generator = new ZeroRttGenerator({ ca });
    client = await createQuicClient();
  });
  afterAll(async () => {
    await client.close();
  });

  it('gives each instance its own name, certificate and 48-byte ticket key', async () => {
    const a = await generator.provision({ functionName: 'echo', instanceId: 'i-1', hosts: ['127.0.0.1'] });
    const b = await generator.provision({ functionName: 'echo', instanceId: 'i-2' });
    expect(a.serverName).toBe('i-1.echo.qfaas.internal');
    expect(a.worker.ticketKey.reveal()).toHaveLength(48);
    expect(Buffer.from(a.worker.ticketKey.reveal()).equals(Buffer.from(b.worker.ticketKey.reveal()))).toBe(false);
    const certificate = new X509Certificate(a.worker.certificate.certPem);
    expect(certificate.checkHost('i-1.echo.qfaas.internal')).toBeDefined();
    expect(certificate.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(certificate.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(a.session.expiresAt).toBeGreaterThan(Date.now());
    expect(a.session.settings?.maxFieldSectionSize).toBe(65_536);
  });

  it('a worker started later in a child process from env credentials answers its very first request in 0-RTT', async () => {
    const provisioned = await generator.provision({ functionName: 'echo', instanceId: 'cold-1', hosts: ['127.0.0.1'] });
    const env = credentialsEnvValue(provisioned.worker);
    const worker = spawnTs('test/fixtures/worker-from-env.ts', [], { QFAAS_CREDENTIALS: env });
    try {
      const port = Number((await waitForLine(worker, /LISTENING (\d+)/))[1]);
      const quic = client.connect({
        host: '127.0.0.1',
        port,
        serverName: provisioned.serverName,
        config: createQuicConfig({ role: 'client', caPem: ca.certPem, certificate: await generator.invokerCertificate() }),
        session: provisioned.session.session.reveal(),
      });
      const h3 = connectHttp3(quic, { ...(provisioned.session.settings === undefined ? {} : { rememberedPeerSettings: provisioned.session.settings }) });
      const response = await h3.fetch(new Request(`https://${provisioned.serverName}/first`));
      // The worker itself says the request arrived as early data.
      expect(await response.json()).toEqual({ earlyData: true, instance: 'cold-1', served: 1, path: '/first' });
      expect(getResponseInfo(response)?.earlyData).toBe(true);
      expect(await quic.handshake).toMatchObject({ resumed: true, earlyDataAccepted: true });
      h3.close();
    } finally {
      await stopChild(worker);
    }
  }, 30_000);

  it("provisions the function code's chain client with a gateway session that resumes in 0-RTT", async () => {
    const gatewayName = 'chain.gateway.qfaas.internal';
    const gatewayCertificate = await ca.issue({ role: 'gateway', name: gatewayName, hosts: ['127.0.0.1'] });
    const gatewayTicketKey = randomBytes(48);
    const withChain = new ZeroRttGenerator({
      ca,
      chainGateway: { serverName: gatewayName, host: '127.0.0.1', port: 1, certificate: gatewayCertificate, ticketKey: gatewayTicketKey },
    });
    const provisioned = await withChain.provision({ functionName: 'caller', instanceId: 'i-9' });
    const chain = provisioned.worker.chain;
    expect(chain?.gatewayServerName).toBe(gatewayName);
    expect(new X509Certificate(chain?.certificate.certPem as string).subject).toContain('OU=chain');
    const gateway = await createHttp3Server({
      config: createQuicConfig({ role: 'server', caPem: ca.certPem, certificate: gatewayCertificate, ticketKey: gatewayTicketKey }),
      handler: (_request, info) => new Response(`early=${info.earlyData}`),
    });
    try {
      const quic = client.connect({
        host: '127.0.0.1',
        port: gateway.address.port,
        serverName: gatewayName,
        config: createQuicConfig({
          role: 'client',
          caPem: ca.certPem,
          certificate: { certPem: chain?.certificate.certPem as string, keyPem: chain?.certificate.keyPem.reveal() as string },
        }),
        session: chain?.session?.reveal() as Uint8Array,
      });
      const h3 = connectHttp3(quic);
      expect(await (await h3.fetch(new Request(`https://${gatewayName}/function/b`))).text()).toBe('early=true');
      h3.close();
    } finally {
      await gateway.close({ timeoutMs: 100 });
    }
  });

  it('a session minted for one instance is worthless at another (its own ticket key), and the request still completes', async () => {
    const one = await generator.provision({ functionName: 'echo', instanceId: 'k-1', hosts: ['127.0.0.1'] });
    const two = await generator.provision({ functionName: 'echo', instanceId: 'k-2', hosts: ['127.0.0.1'] });
    const { createWorkerQuicConfig } = await import('../../src/zero-rtt/index.js');
    const server = await createHttp3Server({ config: createWorkerQuicConfig(two.worker), handler: (_r, info) => new Response(`early=${info.earlyData}`) });
    try {
      // Instance two's certificate names k-2; dial that name, but with instance one's session.
      const quic = client.connect({
        host: '127.0.0.1',
        port: server.address.port,
        serverName: two.serverName,
        config: createQuicConfig({ role: 'client', caPem: ca.certPem, certificate: await generator.invokerCertificate() }),
        session: one.session.session.reveal(),
      });
      const h3 = connectHttp3(quic);
      expect(await (await h3.fetch(new Request(`https://${two.serverName}/`))).text()).toBe('early=false');
      expect((await quic.handshake).earlyDataAccepted).toBe(false);
      h3.close();
      // And dialing the wrong name fails verification outright.
      const wrong = client.connect({
        host: '127.0.0.1',
        port: server.address.port,
        serverName: one.serverName,
        config: createQuicConfig({ role: 'client', caPem: ca.certPem, certificate: await generator.invokerCertificate() }),
      });
      await expect(wrong.handshake).rejects.toBeInstanceOf(QuicTlsError);
    } finally {
      await server.close({ timeoutMs: 100 });
    }
  });

  it('refuses a chain ticket key of the wrong length and a session lifetime beyond 7 days', () => {
    expect(() => new ZeroRttGenerator({ ca, sessionLifetimeMs: 8 * 24 * 3600_000 })).toThrow(/sessionLifetimeMs/);
    expect(
      () =>
        new ZeroRttGenerator({
          ca,
          chainGateway: { serverName: 'g.qfaas.internal', certificate: { certPem: '', keyPem: '' }, ticketKey: randomBytes(16) },
        }),
    ).toThrow(/chainGateway.ticketKey/);
  });
});
