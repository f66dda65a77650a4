/** retry, resumption, zerortt, chacha20, keyupdate, mtls: the handshake's options. */
import { check, tail, type CaseContext, type TestFile } from '../context.js';
import { qfaasDownload, startQfaasFileServer, type QfaasDownload } from '../qfaas-side.js';
import { Unsupported } from '../types.js';
import type { UdpRelay } from '../udp-relay.js';
import { keyPhases, type KeyPhaseView, type WireConnection } from '../wire/analyze.js';
import { cipherSuiteName } from '../wire/quic-crypto.js';
import { bytes, mib, type InteropCase } from './case.js';
import { checkHashes, negotiatedSuite, peerClientDownload, qfaasClientDownload, wireConnections } from './common.js';

export const retry: InteropCase = {
  name: 'retry',
  proves: 'The server answers the first Initial with a Retry (seen on the wire), the client sends its next Initial with the Retry token, and the handshake and download complete.',
  setup: {
    'qfaas-client': 'peer server with `retry` (a Retry for every new connection); the qfaas client GETs a file',
    'peer-client': 'qfaas server with `retry: { halfOpenThreshold: 0 }` (a Retry for every new client); the peer client GETs a file',
  },
  run: {
    async 'qfaas-client'(context) {
      const files = await context.makeFiles([{ name: 'retry.bin', size: 4096 }]);
      const { relay } = await qfaasClientDownload(context, files, { server: { retry: true } });
      const [connection] = wireConnections(context, relay, 1) as [WireConnection];
      check(connection.retries >= 1, 'the peer server sent no Retry');
      check(connection.initialsWithToken >= 1, "no client Initial carried the Retry's token");
      return `${connection.retries} Retry from the peer server; ${connection.initialsWithToken} client Initial(s) with its token; handshake and download complete`;
    },
    async 'peer-client'(context) {
      const files = await context.makeFiles([{ name: 'retry.bin', size: 4096 }]);
      const { qfaas, relay } = await peerClientDownload(context, files, { server: { retry: { halfOpenThreshold: 0 } } });
      const [connection] = wireConnections(context, relay, 1) as [WireConnection];
      const stats = qfaas.endpointStats();
      check(stats.retriesSent >= 1 && connection.retries >= 1, `the qfaas server sent ${stats.retriesSent} Retries (wire: ${connection.retries})`);
      check(connection.initialsWithToken >= 1, "no peer Initial carried the Retry's token");
      check(stats.invalidRetryTokens === 0, `${stats.invalidRetryTokens} invalid Retry tokens`);
      return `qfaas sent ${stats.retriesSent} Retry; the peer's next Initial carried the token, which qfaas accepted; download complete`;
    },
  },
};

/**
 * The qfaas client downloads the files twice through the peer server's relay: on a first
 * connection that keeps the server's session ticket, then on a new connection from that session
 * (in 0-RTT, or after the handshake with `afterHandshake`). Both downloads are checked by hash.
 */
async function qfaasClientResuming(
  context: CaseContext,
  files: readonly TestFile[],
  options: { afterHandshake?: boolean },
): Promise<{ relay: UdpRelay; second: QfaasDownload }> {
  const { relay, download: first } = await qfaasClientDownload(context, files, { download: { waitForTicketMs: 3000 } });
  check(first.session !== undefined, 'the peer server sent no session ticket within 3 s');
  const second = await qfaasDownload({
    port: relay.port,
    serverName: context.pki.serverName,
    caPem: context.pki.ca.certPem,
    paths: files.map((file) => file.path),
    session: first.session,
    ...options,
  });
  checkHashes(second, files);
  return { relay, second };
}

/** The server's Handshake-level bytes: the certificate travels there, so a resumed handshake carries far less. */
function checkResumedOnWire(context: CaseContext, relay: UdpRelay, certificateBytes: number): string {
  const [first, second] = wireConnections(context, relay, 2) as [WireConnection, WireConnection];
  check(first.serverHello?.pskAccepted === false, 'the first connection already used a PSK');
  check(second.clientHello?.offersPsk === true, 'the second ClientHello offers no session (pre_shared_key)');
  check(second.serverHello?.pskAccepted === true, 'the second ServerHello did not accept the session (no pre_shared_key)');
  const firstBytes = first.sent.toClient.handshake.bytes;
  const secondBytes = second.sent.toClient.handshake.bytes;
  check(firstBytes >= certificateBytes, `the first handshake carried only ${firstBytes} bytes of Handshake packets, less than the ${certificateBytes}-byte certificate`);
  check(secondBytes < certificateBytes, `the second handshake carried ${secondBytes} bytes of Handshake packets: room for the ${certificateBytes}-byte certificate`);
  return `second ClientHello offered the session, ServerHello accepted it (pre_shared_key); server Handshake bytes ${firstBytes} → ${secondBytes} (certificate ${certificateBytes} B not sent)`;
}

export const resumption: InteropCase = {
  name: 'resumption',
  proves:
    "A second connection resumes the first one's session: the ClientHello offers it, the ServerHello accepts it (pre_shared_key, read from the Initial packets), and the server's Handshake packets are smaller than its certificate (no Certificate message); the resuming endpoint reports the resumption; both downloads intact.",
  setup: {
    'qfaas-client': "peer server; the qfaas client GETs a file, keeps the session ticket (onSessionTicket), and on a new connection with that session waits for the handshake before its GET",
    'peer-client': 'qfaas server; the peer client with `resumption: resume` GETs the file on two connections',
  },
  run: {
    async 'qfaas-client'(context) {
      const files = await context.makeFiles([{ name: 'resume.bin', size: 8192 }]);
      const { relay, second } = await qfaasClientResuming(context, files, { afterHandshake: true });
      check(second.handshake.resumed, 'qfaas reports the second connection as not resumed');
      return `qfaas: resumed; ${checkResumedOnWire(context, relay, context.pki.server.derBytes)}`;
    },
    async 'peer-client'(context) {
      const files = await context.makeFiles([{ name: 'resume.bin', size: 8192 }]);
      const { qfaas, relay, run } = await peerClientDownload(context, files, { client: { resumption: 'resume' } });
      check(qfaas.connections.length === 2, `the qfaas server saw ${qfaas.connections.length} connections, expected 2`);
      check(qfaas.connections[0]?.handshake?.resumed === false, 'the first connection is reported resumed');
      check(qfaas.connections[1]?.handshake?.resumed === true, "the qfaas server's own view: the second connection was not resumed");
      check(run.connections[1]?.resumed !== false, 'the peer reports the second connection as not resumed');
      check(qfaas.requests.length === 2, `the handler ran ${qfaas.requests.length} times, expected 2`);
      return `qfaas server: second connection resumed; ${checkResumedOnWire(context, relay, context.pki.server.derBytes)}`;
    },
  },
};

export const zerortt: InteropCase = {
  name: 'zerortt',
  proves:
    "The request of a resumed connection leaves in 0-RTT packets (counted on the wire) and the server accepts it as early data. For a qfaas server this is the worker's own view (createHandlerServer): the request arrived in early data, and its replay guard, seeing a GET without qfaas's early-data nonce (a peer cannot know it), deferred it until the handshake completed, then ran it exactly once.",
  setup: {
    'qfaas-client': 'peer server; the qfaas client GETs a file and keeps the session; on a new connection with it the GET is written at once (in the first flight)',
    'peer-client':
      "qfaas handler server (createHandlerServer from the 0-RTT generator's credentials, default replay guard, clientAuth 'none'); the peer client with `resumption: early-data` GETs the file on two connections, the second in 0-RTT",
  },
  run: {
    async 'qfaas-client'(context) {
      const files = await context.makeFiles([{ name: 'early.bin', size: 8192 }]);
      const { relay, second } = await qfaasClientResuming(context, files, {});
      check(second.earlyDataAttempted, "qfaas did not send 0-RTT (the session's ticket may not allow early data)");
      check(second.handshake.earlyDataAccepted, 'the peer server rejected the 0-RTT data');
      check(second.earlyData.get(files[0]!.path) === true, 'the response says the request did not go in accepted early data');
      const [, connection] = wireConnections(context, relay, 2) as [WireConnection, WireConnection];
      const early = connection.sent.toServer['0rtt'];
      check(early.packets > 0, 'no 0-RTT packet on the wire');
      check(connection.clientHello?.offersEarlyData === true, 'the ClientHello has no early_data extension');
      return `request in ${early.packets} 0-RTT packet(s) (${early.bytes} B); the peer server accepted early data (EncryptedExtensions, as quiche reports it); body intact`;
    },
    async 'peer-client'(context) {
      const files = await context.makeFiles([{ name: 'early.bin', size: 8192 }]);
      const qfaas = await startQfaasFileServer({
        kind: 'handler',
        wwwDir: context.wwwDir,
        caPem: context.pki.ca.certPem,
        serverName: context.pki.worker.serverName,
        credentials: context.pki.worker,
        clientAuth: 'none',
      });
      context.defer(() => qfaas.close());
      const { relay, run } = await peerClientDownload(context, files, { qfaas, client: { resumption: 'early-data' } });
      const metrics = qfaas.handlerMetrics();
      check(metrics !== undefined, 'no handler metrics');
      const [, connection] = wireConnections(context, relay, 2) as [WireConnection, WireConnection];
      const early = connection.sent.toServer['0rtt'];
      check(early.packets > 0, 'the peer sent no 0-RTT packet on the second connection');
      check(metrics.earlyDataRequests >= 1, "the qfaas server's own view: no request arrived in early data");
      check(qfaas.requests.length === 2, `the handler ran ${qfaas.requests.length} times for 2 requests`);
      const guard = metrics.replayGuard;
      check(guard !== undefined && guard.earlyDeferred >= 1, 'the replay guard did not defer the unmarked early request');
      check(qfaas.requests[1]?.earlyData === false, 'the handler ran the early request before the handshake completed');
      check(run.connections[1]?.earlyDataAccepted !== false, 'the peer reports its 0-RTT as rejected');
      return `${early.packets} 0-RTT packet(s); qfaas: ${metrics.earlyDataRequests} request arrived in early data, the replay guard deferred it (unmarked GET: earlyDeferred ${guard.earlyDeferred}) and the handler ran it once, after the handshake`;
    },
  },
};

/** Every 1-RTT packet opens with the connection's keys (proves the suite beyond the ServerHello). */
async function oneRttOpened(context: CaseContext, connection: WireConnection): Promise<string> {
  const log = await context.keyLog();
  if (log === undefined) return 'no key log from the peer: 1-RTT packets not opened';
  const phases = keyPhases(connection, log);
  if ('missing' in phases) return `1-RTT packets not opened (${phases.missing})`;
  const opened = phases.toServer.packetsByGeneration.reduce((a, b) => a + b, 0) + phases.toClient.packetsByGeneration.reduce((a, b) => a + b, 0);
  const unopened = phases.toServer.unopened + phases.toClient.unopened;
  check(unopened === 0, `${unopened} 1-RTT packets did not open with the negotiated suite's keys`);
  return `all ${opened} 1-RTT packets opened with ${negotiatedSuite(connection)} keys from the peer's key log`;
}

export const chacha20: InteropCase = {
  name: 'chacha20',
  proves:
    'The connection uses TLS_CHACHA20_POLY1305_SHA256: the ServerHello (read from the Initial packets) selects it, and, with the peer\'s key log, every 1-RTT packet opens with ChaCha20-Poly1305. Against a qfaas server the peer client offers ChaCha20 only; qfaas as a client cannot restrict its suites (quiche on BoringSSL has no TLS 1.3 suite setting), so there the peer server allows ChaCha20 only.',
  setup: {
    'qfaas-client': 'peer server with `chacha20Only`; the qfaas client (BoringSSL\'s default suites) GETs a file',
    'peer-client': 'qfaas server; the peer client with `chacha20Only` GETs a file',
  },
  run: {
    async 'qfaas-client'(context) {
      const files = await context.makeFiles([{ name: 'chacha.bin', size: 256 * 1024 }]);
      const { relay } = await qfaasClientDownload(context, files, { server: { chacha20Only: true } });
      const [connection] = wireConnections(context, relay, 1) as [WireConnection];
      check(connection.serverHello?.cipherSuite === 0x1303, `the ServerHello selected ${negotiatedSuite(connection)}`);
      const offered = (connection.clientHello?.cipherSuites ?? []).map(cipherSuiteName).join(', ');
      return `qfaas offered ${offered}; the peer server selected TLS_CHACHA20_POLY1305_SHA256; ${await oneRttOpened(context, connection)}`;
    },
    async 'peer-client'(context) {
      const files = await context.makeFiles([{ name: 'chacha.bin', size: 256 * 1024 }]);
      const { relay } = await peerClientDownload(context, files, { client: { chacha20Only: true } });
      const [connection] = wireConnections(context, relay, 1) as [WireConnection];
      const offered = connection.clientHello?.cipherSuites ?? [];
      check(offered.length === 1 && offered[0] === 0x1303, `the peer client offered ${offered.map(cipherSuiteName).join(', ')}, not ChaCha20 only`);
      check(connection.serverHello?.cipherSuite === 0x1303, `the qfaas server selected ${negotiatedSuite(connection)}`);
      return `the peer offered ChaCha20 only; qfaas selected TLS_CHACHA20_POLY1305_SHA256; ${await oneRttOpened(context, connection)}`;
    },
  },
};

function describeKeyUpdates(direction: string, view: KeyPhaseView): string {
  return `${direction}: generations 0–${view.packetsByGeneration.length - 1}`;
}

/** The key phases on the wire: updates happened, both directions followed, mid-transfer, by `initiator`. */
async function checkKeyUpdates(context: CaseContext, relay: UdpRelay, initiator: 'client' | 'server'): Promise<string> {
  const log = await context.keyLog();
  if (log === undefined) {
    throw new Unsupported("the peer wrote no TLS key log: a key update is invisible on the wire without the 1-RTT secrets, and quiche does not report one");
  }
  const [connection] = wireConnections(context, relay, 1) as [WireConnection];
  const phases = keyPhases(connection, log);
  check(!('missing' in phases), `1-RTT packets could not be opened: ${'missing' in phases ? phases.missing : ''}`);
  if ('missing' in phases) throw new Error('unreachable');
  const { toServer, toClient } = phases;
  check(toServer.unopened === 0 && toClient.unopened === 0, `${toServer.unopened + toClient.unopened} 1-RTT packets opened with no generation's keys`);
  check(toServer.packetsByGeneration.length >= 2 && toClient.packetsByGeneration.length >= 2, `no key update on the wire (${describeKeyUpdates('client', toServer)}, ${describeKeyUpdates('server', toClient)})`);
  const firstByClient = (toServer.firstAt[1] ?? Infinity) <= (toClient.firstAt[1] ?? Infinity);
  check(firstByClient === (initiator === 'client'), `the first key update came from the ${firstByClient ? 'client' : 'server'}, expected the ${initiator}`);
  const before = toClient.bytesBefore[1] ?? 0;
  check(before > 0 && before < toClient.totalBytes * 0.9, `the first update was not in the middle of the transfer (${bytes(before)} of ${bytes(toClient.totalBytes)} sent before it)`);
  const updates = Math.max(toServer.packetsByGeneration.length, toClient.packetsByGeneration.length) - 1;
  return `${updates} key update(s), the first initiated by the ${initiator} after ${((100 * before) / toClient.totalBytes).toFixed(0)}% of the download; every 1-RTT packet of both directions opened with its generation's keys (peer's key log)`;
}

const keyUpdateFile = { name: 'keyupdate.bin', size: 5 * mib };

export const keyupdate: InteropCase = {
  name: 'keyupdate',
  proves:
    'A key update in the middle of a 5 MiB download: with the peer\'s key log the 1-RTT packets are opened on the wire, the key phase flips (generation 1 and later keys, derived by "quic ku"), both directions move to the new keys, the body arrives intact. quiche (hence qfaas) has no API to initiate a key update; it answers one. So the peer initiates in both directions: its client against a qfaas server, its server against the qfaas client.',
  setup: {
    'qfaas-client': 'peer server with `keyUpdateAfterMs` (it initiates); the qfaas client GETs 5 MiB',
    'peer-client': 'qfaas server; the peer client with `keyUpdateAfterMs` (it initiates) GETs 5 MiB',
  },
  run: {
    async 'qfaas-client'(context) {
      const files = await context.makeFiles([keyUpdateFile]);
      const { relay } = await qfaasClientDownload(context, files, { server: { keyUpdateAfterMs: 100 } });
      return `initiated by the peer server (quiche cannot initiate): ${await checkKeyUpdates(context, relay, 'server')}`;
    },
    async 'peer-client'(context) {
      const files = await context.makeFiles([keyUpdateFile]);
      const { relay } = await peerClientDownload(context, files, { client: { keyUpdateAfterMs: 100 } });
      return await checkKeyUpdates(context, relay, 'client');
    },
  },
};

export const mtls: InteropCase = {
  name: 'mtls',
  proves:
    "Mutual TLS with the platform CA: a peer client presenting a certificate from the platform CA is accepted by a qfaas worker (and identified by its certificate's CN); one without a certificate, and one with a certificate from another CA, are refused during the handshake and the handler never runs for them. Against a peer server that requires a client certificate, the qfaas client with the platform-CA certificate is served and without one is refused with a typed error (whether the peer server also checks the issuer is reported, not judged).",
  setup: {
    'qfaas-client': 'peer server with `requireClientCertificate`; the qfaas client connects without a certificate, with a foreign one, then with a platform-CA one',
    'peer-client':
      "qfaas handler server (createHandlerServer, the worker's default clientAuth 'required'); the peer client runs with a platform-CA certificate, then without one, then with a foreign one",
  },
  run: {
    async 'qfaas-client'(context) {
      const files = await context.makeFiles([{ name: 'mtls.bin', size: 2048 }]);
      const { server, relay } = await context.startPeerServer({ requireClientCertificate: true });
      const attempt = (certificate: { certPem: string; keyPem: string } | undefined) =>
        qfaasDownload({
          port: relay.port,
          serverName: context.pki.serverName,
          caPem: context.pki.ca.certPem,
          paths: files.map((file) => file.path),
          transport: { maxIdleTimeoutMs: 5000 },
          ...(certificate === undefined ? {} : { certificate }),
        }).then(
          () => undefined,
          (error: unknown) => error as Error & { code?: string },
        );
      const refused = await attempt(undefined);
      check(refused !== undefined, 'the peer server served a client without a certificate');
      check(typeof refused.code === 'string' && refused.code.startsWith('QFAAS_'), `refused with an untyped error: ${String(refused)}`);
      const refusals = [`without a certificate: ${refused.name} (${refused.code})`];
      // Whether the peer server verifies a certificate's issuer is the peer's business (gtlsserver
      // never does); reported, not judged.
      const foreign = await attempt(context.pki.foreignClient);
      if (foreign === undefined) refusals.push('PEER LIMITATION: a certificate from another CA was accepted (the peer server does not verify client certificates)');
      else refusals.push(`with a foreign CA's certificate: ${foreign.name} (${foreign.code ?? 'untyped'})`);
      const accepted = await qfaasDownload({
        port: relay.port,
        serverName: context.pki.serverName,
        caPem: context.pki.ca.certPem,
        paths: files.map((file) => file.path),
        certificate: context.pki.client,
      }).catch((error: Error) => {
        throw new Error(`with a platform-CA certificate: ${error.message}; peer server: ${tail(server.log())}`);
      });
      checkHashes(accepted, files);
      return `platform-CA certificate accepted, body intact; refused ${refusals.join('; ')}`;
    },
    async 'peer-client'(context) {
      const files = await context.makeFiles([{ name: 'mtls.bin', size: 2048 }]);
      const qfaas = await startQfaasFileServer({
        kind: 'handler',
        wwwDir: context.wwwDir,
        caPem: context.pki.ca.certPem,
        serverName: context.pki.worker.serverName,
        credentials: context.pki.worker,
        clientAuth: 'required',
      });
      context.defer(() => qfaas.close());
      await peerClientDownload(context, files, { qfaas, client: { certFile: context.pki.client.certFile, keyFile: context.pki.client.keyFile } });
      check(qfaas.requests.length === 1, `the handler ran ${qfaas.requests.length} times for the accepted client`);
      check(qfaas.requests[0]?.invoker === 'interop-client', `the handler saw invoker ${String(qfaas.requests[0]?.invoker)}`);
      const relay = await context.relay(qfaas.port);
      const refusals: string[] = [];
      for (const [label, certificate] of [
        ['no certificate', undefined],
        ['a foreign CA', context.pki.foreignClient],
      ] as const) {
        const run = await context.runPeerClient(relay.port, {
          paths: files.map((file) => file.path),
          serverName: qfaas.serverName,
          timeoutMs: 15_000,
          ...(certificate === undefined ? {} : { certFile: certificate.certFile, keyFile: certificate.keyFile }),
        });
        check(run.exitCode !== null, `the peer client with ${label} hung instead of being refused`);
        check(run.exitCode !== 0, `the peer client with ${label} succeeded`);
        refusals.push(label);
      }
      check(qfaas.requests.length === 1, `the handler ran for a refused client (${qfaas.requests.length} executions)`);
      return `platform-CA client accepted (handler saw invoker "interop-client"); refused with ${refusals.join(' and with ')}; the handler ran only for the accepted one`;
    },
  },
};
