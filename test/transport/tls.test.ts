import { describe, expect, it, vi } from 'vitest';
import { createQuicConfig, QuicTlsError } from '../../src/transport/index.js';
import {
  clientConfig,
  createImpostor,
  createQuicClient,
  request,
  serverName,
  startTestServer,
  useQuicTestbed,
  type TestPki,
} from '../helpers/quic.js';

describe('TLS verification', () => {
  const testbed = useQuicTestbed();

  const endpoints = async (serverPki: TestPki, clientAuth?: 'required' | 'none') => {
    const server = await startTestServer(serverPki, clientAuth === undefined ? {} : { clientAuth });
    const client = await createQuicClient();
    testbed.track(server, client);
    return { server, client };
  };

  it('refuses a server certificate signed by another CA', async () => {
    const impostor: TestPki = { ...testbed.pki, server: (await createImpostor()).server };
    const { server, client } = await endpoints(impostor);
    const connection = client.connect({ host: '127.0.0.1', port: server.port, serverName, config: clientConfig(testbed.pki) });
    const error = await connection.handshake.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QuicTlsError);
    expect(error).toMatchObject({ code: 'QFAAS_QUIC_TLS_FAILED', initiator: 'local' });
    expect((error as QuicTlsError).message).toMatch(/could not be verified/);
    // The name matched: nothing is said about names.
    expect((error as QuicTlsError).certificateNames).toBeUndefined();
    expect(server.requests).toHaveLength(0);
  });

  it('refuses a server whose certificate does not carry the expected name', async () => {
    const { server, client } = await endpoints(testbed.pki);
    const connection = client.connect({
      host: '127.0.0.1',
      port: server.port,
      serverName: 'someone-else.qfaas.internal',
      config: clientConfig(testbed.pki),
    });
    const error = (await connection.handshake.catch((e: unknown) => e)) as QuicTlsError;
    expect(error).toBeInstanceOf(QuicTlsError);
    expect(error).toMatchObject({
      code: 'QFAAS_QUIC_TLS_FAILED',
      initiator: 'local',
      serverName: 'someone-else.qfaas.internal',
      certificateNames: [serverName, '127.0.0.1'],
    });
    expect(error.message).toBe(
      `QUIC TLS handshake with 127.0.0.1:${server.port} failed: the server's certificate does not carry the name someone-else.qfaas.internal; it names ${serverName}, 127.0.0.1 (bad_certificate)`,
    );
    await expect(connection.openBidirectionalStream()).rejects.toBeInstanceOf(QuicTlsError);
  });

  it('an IP address as the server name is never matched (only DNS names are), and the error says which name to pass', async () => {
    // The certificate carries 127.0.0.1, but the name check here compares DNS names only.
    const { server, client } = await endpoints(testbed.pki);
    const connection = client.connect({ host: '127.0.0.1', port: server.port, config: clientConfig(testbed.pki) });
    const error = (await connection.handshake.catch((e: unknown) => e)) as QuicTlsError;
    expect(error).toMatchObject({ code: 'QFAAS_QUIC_TLS_FAILED', serverName: '127.0.0.1', certificateNames: [serverName, '127.0.0.1'] });
    expect(error.message).toBe(
      `QUIC TLS handshake with 127.0.0.1:${server.port} failed: the server name 127.0.0.1 is an IP address, and certificates are matched by DNS name only; pass serverName, a DNS name the certificate carries: it names ${serverName}, 127.0.0.1 (bad_certificate)`,
    );
  });

  it('with mutual TLS, a client without a certificate is refused and its request never runs', async () => {
    const { server, client } = await endpoints(testbed.pki, 'required');
    const connection = client.connect({
      host: '127.0.0.1',
      port: server.port,
      serverName,
      config: clientConfig(testbed.pki, { withCertificate: false }),
    });
    await expect(request(connection, Buffer.from('let me in'))).rejects.toBeInstanceOf(QuicTlsError);
    const reason = await connection.closed;
    expect(reason).toMatchObject({ initiator: 'peer', alertName: 'certificate_required' });
    expect(server.requests).toHaveLength(0);
  });

  it('with mutual TLS, a client certificate from another CA is refused', async () => {
    const { server, client } = await endpoints(testbed.pki, 'required');
    const config = createQuicConfig({ role: 'client', caPem: testbed.pki.ca.certPem, certificate: (await createImpostor()).client });
    const connection = client.connect({ host: '127.0.0.1', port: server.port, serverName, config });
    await expect(request(connection, Buffer.from('let me in'))).rejects.toBeInstanceOf(QuicTlsError);
    expect(server.requests).toHaveLength(0);
  });

  it("clientAuth 'none' serves clients without a certificate", async () => {
    const { server, client } = await endpoints(testbed.pki, 'none');
    const connection = client.connect({
      host: '127.0.0.1',
      port: server.port,
      serverName,
      config: clientConfig(testbed.pki, { withCertificate: false }),
    });
    expect((await request(connection, Buffer.from('anon'))).toString()).toBe('echo:anon');
  });

  it('insecureSkipVerify is explicit and warns', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const impostor: TestPki = { ...testbed.pki, server: (await createImpostor()).server };
    const { server, client } = await endpoints(impostor, 'none');
    const config = createQuicConfig({ role: 'client', insecureSkipVerify: true });
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('insecureSkipVerify'), expect.anything());
    warn.mockRestore();
    const connection = client.connect({ host: '127.0.0.1', port: server.port, serverName, config });
    expect((await request(connection, Buffer.from('unverified'))).toString()).toBe('echo:unverified');
  });
});
