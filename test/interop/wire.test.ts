import { X509Certificate } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { compareWithExpected, type Cell } from '../../interop/expected.js';
import { startUdpRelay, type UdpRelay } from '../../interop/udp-relay.js';
import { analyzeCapture } from '../../interop/wire/analyze.js';
import { cryptoFrames, openPacket, parseDatagram } from '../../interop/wire/packets.js';
import { initialKeys, nextSecret, packetKeys } from '../../interop/wire/quic-crypto.js';
import { handshakeMessages, parseServerHello } from '../../interop/wire/tls-messages.js';
import { connectHttp3, createHttp3Server, createQuicClient, createQuicConfig, type Http3Server, type QuicEndpoint } from '../../src/transport/index.js';
import { createPlatformCA } from '../../src/zero-rtt/index.js';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');

describe('interop/wire: packet protection as an observer removes it (RFC 9001 appendix A)', () => {
  it('opens the server Initial of A.3 with keys from the client DCID and reads its ServerHello', () => {
    const packet = hex(`cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a5816b6394100f37a1c69797554780bb38cc5a99f5ede4cf73c3ec2493a1839b3dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bded74b562bfb19fb84022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc42158407dd074ee`);
    const [parsed] = parseDatagram(packet, undefined);
    expect(parsed?.type).toBe('initial');
    const opened = openPacket(parsed!, initialKeys(hex('8394c8f03e515708')).server, -1);
    expect(opened?.packetNumber).toBe(1);
    const [message] = handshakeMessages(Buffer.concat(cryptoFrames(opened!.payload).map((chunk) => chunk.data)));
    expect(message?.type).toBe(2);
    expect(parseServerHello(message!.body)).toEqual({ cipherSuite: 0x1301, pskAccepted: false, helloRetryRequest: false });
  });

  it('opens the ChaCha20-Poly1305 short-header packet of A.5 and derives its key update secret', () => {
    const secret = hex('9ac312a7f877468ebe69422748ad00a15443f18203a07d6060f688f30f21632b');
    const keys = packetKeys(0x1303, secret);
    expect(keys.key.toString('hex')).toBe('c6d98ff3441c3fe1b2182094f69caa2ed4b716b65488960a7a984979fb23e1c8');
    expect(keys.iv.toString('hex')).toBe('e0459b3474bdd0e44a41c144');
    expect(keys.hp.toString('hex')).toBe('25a282b9e82f06f21f488917a4fc8f1b73573685608597d0efcb076b0ab7a7a4');
    expect(nextSecret(0x1303, secret).toString('hex')).toBe('1223504755036d556342ee9361d253421a826c9ecdf3c7148684b36b714881f9');
    const [parsed] = parseDatagram(hex('4cfe4189655e5cd55c41f69080575d7999c25a5bfb'), 0);
    const opened = openPacket(parsed!, keys, 654360563);
    expect(opened).toEqual({ packetNumber: 654360564, keyPhase: 0, payload: Buffer.from([0x01]) });
    // Wrong keys never "open" a packet: the AEAD tag fails.
    expect(openPacket(parsed!, packetKeys(0x1303, nextSecret(0x1303, secret)), 654360563)).toBeUndefined();
  });

  it('a truncated or foreign datagram yields no packet rather than a wrong one', () => {
    const packet = hex('cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a5816b6394100f37a1c6979');
    expect(parseDatagram(packet, undefined)).toEqual([]);
    expect(parseDatagram(Uint8Array.from([0x00, 0x00, 0x00]), 8)).toEqual([]);
  });
});

describe('interop/wire: a relay capture of qfaas connections', () => {
  let server: Http3Server | undefined;
  let client: QuicEndpoint | undefined;
  let relay: UdpRelay | undefined;
  afterEach(async () => {
    await client?.close();
    await relay?.close();
    await server?.close({ timeoutMs: 100 });
  });

  it('reads both hellos, the Retry and its token, and the resumption on the second connection', async () => {
    const ca = await createPlatformCA();
    const certificate = await ca.issue({ role: 'worker', name: 'wire.test', hosts: ['127.0.0.1'] });
    server = await createHttp3Server({
      config: createQuicConfig({ role: 'server', caPem: ca.certPem, certificate, clientAuth: 'none' }),
      retry: { halfOpenThreshold: 0 },
      handler: () => new Response('ok'),
    });
    relay = await startUdpRelay({ targetPort: server.address.port, capture: true });
    client = await createQuicClient();
    const config = createQuicConfig({ role: 'client', caPem: ca.certPem });
    let session: Uint8Array | undefined;
    const first = client.connect({ host: '127.0.0.1', port: relay.port, serverName: 'wire.test', config, onSessionTicket: (ticket) => (session = ticket) });
    const h3 = connectHttp3(first);
    expect(await (await h3.fetch('https://wire.test/')).text()).toBe('ok');
    for (let i = 0; i < 50 && session === undefined; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    h3.close();
    await first.close();
    const second = client.connect({ host: '127.0.0.1', port: relay.port, serverName: 'wire.test', config, session: session! });
    const h3again = connectHttp3(second);
    expect(await (await h3again.fetch('https://wire.test/')).text()).toBe('ok');
    h3again.close();
    await second.close();

    const connections = analyzeCapture(relay.captured());
    expect(connections).toHaveLength(2);
    const [one, two] = connections as [(typeof connections)[0], (typeof connections)[0]];
    expect(one.clientHello?.serverName).toBe('wire.test');
    expect(one.clientHello?.cipherSuites).toContain(0x1303);
    expect(one.serverHello?.cipherSuite).toBe(0x1301);
    expect(one.retries).toBe(1);
    expect(one.initialsWithToken).toBeGreaterThanOrEqual(1);
    expect(one.serverHello?.pskAccepted).toBe(false);
    expect(two.clientHello?.offersPsk).toBe(true);
    expect(two.serverHello?.pskAccepted).toBe(true);
    // The certificate travels in the first handshake only.
    const der = new X509Certificate(certificate.certPem).raw.length;
    expect(one.sent.toClient.handshake.bytes).toBeGreaterThan(der);
    expect(two.sent.toClient.handshake.bytes).toBeLessThan(der);
    expect(one.clientHello?.random).not.toBe(two.clientHello?.random);
  });
});

describe('interop/expected: the CI guard', () => {
  const cell = (result: 'passed' | 'failed' | 'n/a', caseName: Cell['caseName'] = 'handshake'): Cell => ({
    peer: 'quic-go',
    caseName,
    direction: 'peer-client',
    outcome: result === 'passed' ? { result, detail: 'ok' } : { result, reason: 'why' },
    ms: 1,
  });
  const expected = { 'quic-go': { handshake: { 'peer-client': 'passed' as const }, retry: { 'peer-client': 'n/a' as const } } };

  it('a cell that passed before and fails (or is n/a) now is a regression', () => {
    expect(compareWithExpected(expected, [cell('failed')]).regressions).toHaveLength(1);
    expect(compareWithExpected(expected, [cell('n/a')]).regressions).toHaveLength(1);
    expect(compareWithExpected(expected, [cell('passed')])).toEqual({ regressions: [], improvements: [] });
  });

  it('n/a (or failed) to passed is an improvement, not a failure; cells not run are not compared', () => {
    expect(compareWithExpected(expected, [cell('passed', 'retry')])).toEqual({ regressions: [], improvements: ['quic-go retry peer-client: n/a → passed'] });
    expect(compareWithExpected(expected, [])).toEqual({ regressions: [], improvements: [] });
  });
});
