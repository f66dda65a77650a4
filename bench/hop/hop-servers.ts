/**
 * Benchmark servers for the hop and paper-figure benchmarks, in their own process: node:http,
 * node:https with TLS 1.3 and with TLS 1.2 (same certificate), and a qfaas handler server. Every
 * one answers with the same 100 bytes (1 MiB at `/1mib`). Listens on the host it is told (loopback,
 * or the delay link's inside address) and reports the ports over IPC.
 *
 * `{ launch }` starts a new set of the four servers from new credentials, as a newly launched
 * worker would be (new certificate, new ticket key, nothing cached anywhere); `{ retire }` stops a
 * set. The paper's Fig. 5c times the first request to such a worker. `{ profile }` starts and stops
 * V8's CPU profiler here (bench/hop/profile.ts) and answers with the summary. `{ datagrams }` answers
 * the main qfaas server's datagrams sent and received so far.
 */
import { createHandlerServer, type HandlerServer } from '../../src/handler-server/index.js';
import { loadCredentials } from '../../src/zero-rtt/index.js';
import { startProfiler, summarizeProfile, type CpuProfile } from '../lib/cpu-profile.js';
import { bodyFor, startNodeServers } from '../lib/node-servers.js';
import type { ServerDatagrams } from '../lib/server-process.js';

export interface ServerPorts {
  http: number;
  tls13: number;
  tls12: number;
  qfaas: number;
}

export type HopServerMessage =
  | { credentials: string; host: string }
  | { launch: string; id: number }
  | { retire: number }
  | { profile: 'start' | 'stop' }
  | { datagrams: true }
  | { cpu: true };

/** The main qfaas server's datagram counters (bench:hop counts datagrams per exchange with them). */
interface ServerSet {
  ports: ServerPorts;
  qfaas: HandlerServer;
  close(): Promise<void>;
}

async function startServers(credentialsText: string, host: string): Promise<ServerSet> {
  const credentials = loadCredentials({ text: credentialsText });
  const node = await startNodeServers(credentials, host);
  // QFAAS_BENCH_UDP_PAYLOAD: the rig's udpPayloadSize (jumbo frames over a link that carries them).
  const payload = process.env.QFAAS_BENCH_UDP_PAYLOAD;
  const qfaas: HandlerServer = await createHandlerServer({
    credentials,
    host,
    ...(payload === undefined ? {} : { transport: { maxUdpPayloadSize: Number(payload) } }),
    onRequest: async (request) => {
      await request.body.dump();
      return { statusCode: 200, headers: { 'content-type': 'application/octet-stream' }, body: bodyFor(request.path) };
    },
  });
  return {
    ports: { ...node.ports, qfaas: qfaas.address.port },
    qfaas,
    async close() {
      node.close();
      await qfaas.close({ timeoutMs: 50 });
    },
  };
}

const sets = new Map<number, ServerSet>();
let host = '127.0.0.1';
let stopProfiler: (() => Promise<{ profile: CpuProfile; cpuMs: number }>) | undefined;
process.on('message', (message: HopServerMessage) => {
  void (async () => {
    if ('credentials' in message) {
      host = message.host;
      const main = await startServers(message.credentials, host);
      sets.set(-1, main);
      process.send?.(main.ports);
    } else if ('launch' in message) {
      const launched = await startServers(message.launch, host);
      sets.set(message.id, launched);
      process.send?.(launched.ports);
    } else if ('cpu' in message) {
      const used = process.cpuUsage();
      process.send?.({ cpuUs: used.user + used.system });
    } else if ('datagrams' in message) {
      const quic = sets.get(-1)?.qfaas.metrics().quic;
      process.send?.({ sent: quic?.datagramsSent ?? 0, received: quic?.datagramsReceived ?? 0, batchedIo: quic?.batchedIo } satisfies ServerDatagrams);
    } else if ('profile' in message) {
      if (message.profile === 'start') {
        stopProfiler = await startProfiler();
        process.send?.({ profiling: true });
      } else {
        const profiled = await stopProfiler?.();
        stopProfiler = undefined;
        process.send?.(profiled === undefined ? { summary: null } : { summary: summarizeProfile(profiled, 40) });
      }
    } else {
      await sets.get(message.retire)?.close();
      sets.delete(message.retire);
      process.send?.({ retired: message.retire });
    }
  })();
});
process.once('disconnect', () => {
  void Promise.all([...sets.values()].map((set) => set.close())).then(() => process.exit(0));
});
