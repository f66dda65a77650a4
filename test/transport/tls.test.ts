import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createQuicheConfig, QuicTlsError, type QuicEndpoint } from '../../src/transport/index.js';
import {
  clientConfig,
  createImpostor,
  createQuicClient,
  createTestPki,
  request,
  serverName,
  startTestServer,
  type TestPki,
  type TestServer,
} from '../helpers/quic.js';

describe('TLS verification', () => {
  let pki: TestPki;
  const cleanup: Array<TestServer | QuicEndpoint> = [];
  beforeAll(async () => {
    pki = await createTestPki();
  });
  afterEach(async () => {
    await Promise.all(cleanup.splice(0).map((item) => item.close()));
  });

  const endpoints = async (serverPki: TestPki, clientAuth?: 'required' | 'none') => {
    const server = await startTestServer(serverPki, clientAuth === undefined ? {} : { clientAuth });
    const client = await createQuicClient();
    cleanup.push(server, client);
    return { server, client };
  };

  it('refuses a server certificate signed by another CA', async () => {
    const impostor: TestPki = { ...pki, server: (await createImpostor()).server };
    const { server, client } = await endpoints(impostor);
    const connection = client.connect({ host: '127.0.0.1', port: server.port, serverName, config: clientConfig(pki) });
    const error = await connection.handshake.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QuicTlsError);
    expect(error).toMatchObject({ code: 'QUIC_TLS_FAILED', initiator: 'local' });
    expect((error as QuicTlsError).message).toMatch(/could not be verified/);
    expect(server.requests).toHaveLength(0);
  });

  it('refuses a server whose certificate does not carry the expected name', async () => {
    const { server, client } = await endpoints(pki);
    const connection = client.connect({
      host: '127.0.0.1',
      port: server.port,
      serverName: 'someone-else.qfaas.internal',
      config: clientConfig(pki),
    });
    await expect(connection.handshake).rejects.toBeInstanceOf(QuicTlsError);
    await expect(connection.openBidirectionalStream()).rejects.toBeInstanceOf(QuicTlsError);
  });

  it('with mutual TLS, a client without a certificate is refused and its request never runs', async () => {
    const { server, client } = await endpoints(pki, 'required');
    const connection = client.connect({
      host: '127.0.0.1',
      port: server.port,
      serverName,
      config: clientConfig(pki, { withCertificate: false }),
    });
    await expect(request(connection, Buffer.from('let me in'))).rejects.toBeInstanceOf(QuicTlsError);
    const reason = await connection.closed;
    expect(reason).toMatchObject({ initiator: 'peer', alertName: 'certificate_required' });
    expect(server.requests).toHaveLength(0);
  });

  it('with mutual TLS, a client certificate from another CA is refused', async () => {
    const { server, client } = await endpoints(pki, 'required');
    const config = createQuicheConfig({ role: 'client', caPem: pki.ca.certPem, certificate: (await createImpostor()).client });
    const connection = client.connect({ host: '127.0.0.1', port: server.port, serverName, config });
    await expect(request(connection, Buffer.from('let me in'))).rejects.toBeInstanceOf(QuicTlsError);
    expect(server.requests).toHaveLength(0);
  });

  it("clientAuth 'none' serves clients without a certificate", async () => {
    const { server, client } = await endpoints(pki, 'none');
    const connection = client.connect({
      host: '127.0.0.1',
      port: server.port,
      serverName,
      config: clientConfig(pki, { withCertificate: false }),
    });
    expect((await request(connection, Buffer.from('anon'))).toString()).toBe('echo:anon');
  });

  it('insecureSkipVerify is explicit and warns', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const impostor: TestPki = { ...pki, server: (await createImpostor()).server };
    const { server, client } = await endpoints(impostor, 'none');
    const config = createQuicheConfig({ role: 'client', insecureSkipVerify: true });
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('insecureSkipVerify'), expect.anything());
    warn.mockRestore();
    const connection = client.connect({ host: '127.0.0.1', port: server.port, serverName, config });
    expect((await request(connection, Buffer.from('unverified'))).toString()).toBe('echo:unverified');
  });
});
