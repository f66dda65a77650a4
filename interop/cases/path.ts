/** handshakeloss, transferloss, blackhole, amplificationlimit: what the path does to a connection. */
import { check, checkClientRun, tail, type CaseContext } from '../context.js';
import { qfaasDownload } from '../qfaas-side.js';
import { mulberry32 } from '../prng.js';
import type { UdpRelay } from '../udp-relay.js';
import type { WireConnection } from '../wire/analyze.js';
import { bytes, mib, type InteropCase } from './case.js';
import { checkHashes, peerClientDownload, qfaasClientDownload, startCaseFileServer, wireConnections } from './common.js';

const handshakeLossRate = 0.3;

/** Added to every loss seed (`npm run interop -- --seed N`): another run's losses, reproducibly. */
const seedOffset = (): number => Number(process.env.QFAAS_INTEROP_SEED ?? 0) || 0;

/**
 * Drops `rate` of the datagrams that carry long-header (handshake) packets, both ways. Each flow
 * (client socket) draws from its own generator, seeded by the order in which flows appear, so a
 * connection's losses do not depend on how the others interleave: a run can be reproduced.
 */
function handshakeLoss(seed: number) {
  const generators = new Map<string, () => number>();
  return (_direction: string, _index: number, datagram: Uint8Array, flow: string) => {
    let random = generators.get(flow);
    if (random === undefined) generators.set(flow, (random = mulberry32(seed + seedOffset() + generators.size)));
    return ((datagram[0] ?? 0) & 0x80) !== 0 && random() < handshakeLossRate;
  };
}

function lossSummary(relay: UdpRelay, onlyHandshake: boolean): string {
  const captured = relay.captured().filter((datagram) => !onlyHandshake || ((datagram.data[0] ?? 0) & 0x80) !== 0);
  const dropped = captured.filter((datagram) => datagram.dropped).length;
  return `${dropped} of ${captured.length} ${onlyHandshake ? 'handshake ' : ''}datagrams dropped (${((100 * dropped) / Math.max(1, captured.length)).toFixed(0)}%)`;
}

const handshakeLossConnections = { 'qfaas-client': 12, 'peer-client': 8 } as const;
/**
 * How long the qfaas ends (and the peer client) keep trying a handshake in this case. At 30% loss
 * a handshake can need five probe rounds, and PTO doubling makes them cost 1 + 2 + 4 + 8 + 16 s:
 * more than both the server's handshake deadline (5 s from the first Initial, a flood defence:
 * docs/security.md; with it 5 of 8 peer clients were cut off, "handshake timeout") and the 30 s
 * idle timeout (a qfaas client gave up after its ClientHello was lost four times in a row). A
 * deployment on such a path raises them the same way.
 */
const lossyHandshakeMs = 60_000;

export const handshakeloss: InteropCase = {
  name: 'handshakeloss',
  proves: `Handshakes complete through a relay that drops ${handshakeLossRate * 100}% of the datagrams carrying handshake (long-header) packets in both directions: several concurrent connections, each its own handshake and a 1 KiB file, all intact.`,
  setup: {
    'qfaas-client': `peer server behind the lossy relay; ${handshakeLossConnections['qfaas-client']} qfaas clients (maxIdleTimeoutMs ${lossyHandshakeMs}) connect at once, each GETs its own file`,
    'peer-client': `qfaas server (handshakeTimeoutMs and maxIdleTimeoutMs ${lossyHandshakeMs}: the 5 s and 30 s defaults cut off handshakes at this loss rate) behind the lossy relay; ${handshakeLossConnections['peer-client']} peer client processes at once (timeoutMs ${lossyHandshakeMs}), each GETs its own file`,
  },
  run: {
    async 'qfaas-client'(context) {
      const count = handshakeLossConnections['qfaas-client'];
      const files = await context.makeFiles(Array.from({ length: count }, (_, i) => ({ name: `hs-${i}.bin`, size: 1024 })));
      const { relay, server } = await context.startPeerServer({}, { drop: handshakeLoss(16) });
      const downloads = await Promise.all(
        files.map((file) =>
          qfaasDownload({
            port: relay.port,
            serverName: context.pki.serverName,
            caPem: context.pki.ca.certPem,
            paths: [file.path],
            transport: { maxIdleTimeoutMs: lossyHandshakeMs },
          }).then(
            (download) => {
              checkHashes(download, [file]);
              return download;
            },
            (error: Error) => {
              throw new Error(`${file.name}: ${error.message}; peer server: ${tail(server.log())}`);
            },
          ),
        ),
      );
      wireConnections(context, relay, count);
      const slowest = Math.max(...downloads.map((download) => download.handshake.handshakeMs));
      return `${count} connections, all intact; ${lossSummary(relay, true)}; slowest handshake ${(slowest / 1000).toFixed(1)} s`;
    },
    async 'peer-client'(context) {
      const count = handshakeLossConnections['peer-client'];
      const files = await context.makeFiles(Array.from({ length: count }, (_, i) => ({ name: `hs-${i}.bin`, size: 1024 })));
      const qfaas = await startCaseFileServer(context, { handshakeTimeoutMs: lossyHandshakeMs, transport: { maxIdleTimeoutMs: lossyHandshakeMs } });
      const relay = await context.relay(qfaas.port, { drop: handshakeLoss(16) });
      const runs = await Promise.all(
        files.map((file) => context.runPeerClient(relay.port, { paths: [file.path], serverName: context.pki.serverName, timeoutMs: lossyHandshakeMs })),
      );
      runs.forEach((run, i) => checkClientRun(run, `peer client ${i + 1} of ${count}`));
      const damaged = await context.checkDownloads(files);
      check(damaged === undefined, damaged ?? '');
      wireConnections(context, relay, count);
      check(qfaas.requests.length === count, `the handler ran ${qfaas.requests.length} times for ${count} clients`);
      return `${count} connections, all intact; ${lossSummary(relay, true)}`;
    },
  },
};

const transferLossRate = 0.02;
const transferLossFiles = [
  { name: 'lossy-1.bin', size: 4 * mib },
  { name: 'lossy-2.bin', size: 1 * mib },
];

export const transferloss: InteropCase = {
  name: 'transferloss',
  proves: `${bytes(5 * mib)} in two files arrive intact (SHA-256) through a relay that drops ${transferLossRate * 100}% of all datagrams in both directions.`,
  setup: {
    'qfaas-client': `peer server behind a relay dropping ${transferLossRate * 100}% both ways; the qfaas client GETs 4 MiB and 1 MiB`,
    'peer-client': `qfaas server behind a relay dropping ${transferLossRate * 100}% both ways; the peer client GETs 4 MiB and 1 MiB`,
  },
  run: {
    async 'qfaas-client'(context) {
      const files = await context.makeFiles(transferLossFiles);
      const { relay } = await qfaasClientDownload(context, files, { relay: { lossRate: transferLossRate, seed: 7 + seedOffset() } });
      check(relay.stats.toClient.dropped + relay.stats.toServer.dropped > 0, 'the relay dropped nothing');
      return `bodies intact; ${lossSummary(relay, false)}`;
    },
    async 'peer-client'(context) {
      const files = await context.makeFiles(transferLossFiles);
      const { relay } = await peerClientDownload(context, files, { relay: { lossRate: transferLossRate, seed: 7 + seedOffset() } });
      check(relay.stats.toClient.dropped + relay.stats.toServer.dropped > 0, 'the relay dropped nothing');
      return `bodies intact; ${lossSummary(relay, false)}`;
    },
  },
};

/** The idle timeout the qfaas end advertises; the negotiated one is the smaller of both ends'. */
const blackholeIdleMs = 2000;
/** The path goes silent once this much has reached the client. */
const blackholeAfter = 1 * mib;
/**
 * How long after the blackhole either end may still send: its idle timeout is at least three
 * probe timeouts (RFC 9000 section 10.1), and with a congested queue a PTO can exceed a second, so
 * the bound is 3x the advertised idle timeout plus slack.
 */
const silenceLimitMs = 3 * blackholeIdleMs + 1500;
/** How long the path is watched after the blackhole: a still-probing end would show by then. */
const watchMs = silenceLimitMs + 3000;

/** When each side last sent a datagram after the path went silent, relative to the blackhole. */
function lastSent(relay: UdpRelay): { client: number; server: number } {
  const start = relay.blackholedAt ?? 0;
  const last = { client: 0, server: 0 };
  for (const datagram of relay.captured()) {
    if (datagram.at < start) continue;
    const side = datagram.direction === 'toServer' ? 'client' : 'server';
    last[side] = Math.max(last[side], datagram.at - start);
  }
  return last;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Both ends fell silent within the idle timeout (plus slack) and stayed silent. */
async function checkSilence(relay: UdpRelay): Promise<string> {
  const start = relay.blackholedAt as number;
  await sleep(Math.max(0, start + watchMs - performance.now()));
  const last = lastSent(relay);
  const limit = silenceLimitMs;
  check(last.client <= limit, `the client still sent ${(last.client / 1000).toFixed(1)} s after the path went silent`);
  check(last.server <= limit, `the server still sent ${(last.server / 1000).toFixed(1)} s after the path went silent`);
  return `last datagrams into the silent path: client +${(last.client / 1000).toFixed(1)} s, server +${(last.server / 1000).toFixed(1)} s, then nothing until +${(watchMs / 1000).toFixed(0)} s`;
}

export const blackhole: InteropCase = {
  name: 'blackhole',
  proves: `The path drops everything, both ways, after ${bytes(blackholeAfter)} of a 16 MiB download. Both ends give up on their own at the idle timeout (qfaas advertises ${blackholeIdleMs} ms; the negotiated timeout is the smaller one): the qfaas end fails with a typed QuicIdleTimeoutError (QFAAS_QUIC_IDLE_TIMEOUT), the peer client exits with an error (not killed), neither end sends anything into the path later than ${silenceLimitMs / 1000} s after it went silent (the idle timeout is at least 3 PTOs, RFC 9000 section 10.1), and a peer server still serves new connections afterwards.`,
  setup: {
    'qfaas-client': `peer server; the qfaas client (maxIdleTimeoutMs ${blackholeIdleMs}) GETs 16 MiB; the relay blackholes after ${bytes(blackholeAfter)}`,
    'peer-client': `qfaas server (maxIdleTimeoutMs ${blackholeIdleMs}); the peer client GETs 16 MiB; the relay blackholes after ${bytes(blackholeAfter)}`,
  },
  run: {
    async 'qfaas-client'(context) {
      const [file] = await context.makeFiles([{ name: 'blackhole.bin', size: 16 * mib }]);
      const { relay, port, server } = await context.startPeerServer();
      const outcome = await qfaasDownload({
        port: relay.port,
        serverName: context.pki.serverName,
        caPem: context.pki.ca.certPem,
        paths: [file!.path],
        transport: { maxIdleTimeoutMs: blackholeIdleMs },
        onBodyProgress: (received) => {
          if (received >= blackholeAfter) relay.blackhole();
        },
      }).then(
        () => undefined,
        (error: unknown) => ({ error: error as Error & { code?: string }, at: performance.now() }),
      );
      check(relay.blackholedAt !== undefined, 'the download never reached the blackhole point');
      check(outcome !== undefined, 'the download completed through a silent path');
      check(outcome.error.code === 'QFAAS_QUIC_IDLE_TIMEOUT', `the qfaas client failed with ${outcome.error.name}: ${outcome.error.message}`);
      const after = (outcome.at - (relay.blackholedAt as number)) / 1000;
      const silence = await checkSilence(relay);
      // The peer server is still alive and serving (straight to its port, no relay).
      const [small] = await context.makeFiles([{ name: 'after.bin', size: 1024 }]);
      const fresh = await qfaasDownload({ port, serverName: context.pki.serverName, caPem: context.pki.ca.certPem, paths: [small!.path] }).catch((error: Error) => {
        throw new Error(`the peer server no longer serves after the blackhole: ${error.message}; ${tail(server.log())}`);
      });
      checkHashes(fresh, [small!]);
      return `qfaas client: ${outcome.error.name} (${outcome.error.code}) ${after.toFixed(1)} s after the path went silent; ${silence}; the peer server still serves new connections`;
    },
    async 'peer-client'(context) {
      const [file] = await context.makeFiles([{ name: 'blackhole.bin', size: 16 * mib }]);
      const qfaas = await startCaseFileServer(context, { transport: { maxIdleTimeoutMs: blackholeIdleMs } });
      let toClient = 0;
      let relay: UdpRelay | undefined;
      relay = await context.relay(qfaas.port, {
        drop: (direction, _index, datagram) => {
          if (direction === 'toClient') toClient += datagram.length;
          if (toClient >= blackholeAfter) relay?.blackhole();
          return false;
        },
      });
      const run = await context.runPeerClient(relay.port, { paths: [file!.path], serverName: context.pki.serverName, timeoutMs: 30_000 });
      const endedAt = performance.now();
      check(relay.blackholedAt !== undefined, 'the download never reached the blackhole point');
      // An exit code means the program ended by itself (its own idle timeout; an adapter may call
      // that timedOut too); null means the adapter had to kill it.
      check(run.exitCode !== null, `the peer client hung until it was killed: ${tail(run.log())}`);
      check(run.exitCode !== 0, 'the peer client reports success through a silent path');
      const peerAfter = (endedAt - relay.blackholedAt) / 1000;
      const silence = await checkSilence(relay);
      const closeError = qfaas.connections[0]?.closeError as (Error & { code?: string }) | undefined;
      check(closeError !== undefined, 'the qfaas server connection is still open');
      check(closeError.code === 'QFAAS_QUIC_IDLE_TIMEOUT', `the qfaas server connection ended with ${closeError.name}: ${closeError.message}`);
      const peerSaid = run.log().split('\n').find((line) => /timeout|timed out|idle/i.test(line)) ?? tail(run.log(), 1);
      return `peer client ended by itself (exit ${String(run.exitCode)}) ${peerAfter.toFixed(1)} s after the path went silent (${peerSaid.trim().slice(0, 160)}); qfaas server connection: ${closeError.name} (${closeError.code}); ${silence}`;
    },
  },
};

/** The 3x limit on the wire: it must have held the server back, and (`strict`) the server kept to it. */
function checkAmplification(connection: WireConnection, strict: boolean): string {
  const view = connection.amplification;
  check(view.validatedBy !== 'not-seen', 'the address was never validated on the wire');
  check(view.clientBytes > 0, 'no client bytes before validation');
  check(
    view.serverHandshakeFlight > 3 * view.firstClientDatagram,
    `the server's handshake (${view.serverHandshakeFlight} bytes) fits in 3x the client's first datagram (${view.firstClientDatagram}): the limit was not tested`,
  );
  const over = `before address validation the server sent ${view.serverBytes} B for ${view.clientBytes} B received (${view.peakRatio.toFixed(2)}x, over the 3x limit by ${view.serverBytes - 3 * view.clientBytes} B)`;
  if (strict) check(view.peakRatio <= 3, over);
  const kept = view.peakRatio <= 3 ? `the server sent ${view.serverBytes} B for ${view.clientBytes} B received (peak ${view.peakRatio.toFixed(2)}x ≤ 3)` : `PEER DEVIATION: ${over}`;
  return `server handshake ${bytes(view.serverHandshakeFlight)} vs client's first datagram ${view.firstClientDatagram} B; before validation (by ${view.validatedBy}) ${kept}`;
}

export const amplificationlimit: InteropCase = {
  name: 'amplificationlimit',
  proves:
    "Before the client's address is validated a qfaas server sends at most 3x the bytes it received (RFC 9000 section 8.1), counted per datagram on the wire, with a server certificate of about 9 KB (200 names) so that its handshake does not fit in 3x the client's first datagram and the limit must hold it back (quiche keeps to it; the endpoint adds a guard of its own that counts what it would have to hold back). Against a peer server the subject is the qfaas client: it must complete a handshake that the server's limit holds back; the peer server's own ratio is reported, and a peer over 3x is marked PEER DEVIATION in the detail (see the findings below).",
  setup: {
    'qfaas-client': 'peer server with the large certificate; the qfaas client GETs a file',
    'peer-client': 'qfaas server with the large certificate (retry not triggered); the peer client GETs a file',
  },
  run: {
    async 'qfaas-client'(context) {
      const files = await context.makeFiles([{ name: 'amp.bin', size: 1024 }]);
      const { relay } = await qfaasClientDownload(context, files, { server: { certFile: context.pki.bigServer.certFile, keyFile: context.pki.bigServer.keyFile } });
      const [connection] = wireConnections(context, relay, 1) as [WireConnection];
      // The subject here is the qfaas client: it completes a handshake the server's limit holds
      // back. Whether the peer server keeps to 3x is reported (docs/interop.md), not judged.
      return `qfaas client completed the handshake and download; peer server: ${checkAmplification(connection, false)}`;
    },
    async 'peer-client'(context) {
      const files = await context.makeFiles([{ name: 'amp.bin', size: 1024 }]);
      const { qfaas, relay } = await peerClientDownload(context, files, { server: { certificate: context.pki.bigServer } });
      const [connection] = wireConnections(context, relay, 1) as [WireConnection];
      const detail = checkAmplification(connection, true);
      // quiche keeps to the limit itself; the endpoint's own guard only counts what it had to hold back.
      const held = qfaas.endpointStats().amplificationLimited;
      return `qfaas server: ${detail}; quiche kept to the limit itself (the endpoint's guard held back ${held} datagram(s))`;
    },
  },
};
