/**
 * The server process of `bench:path` (bench/path/path.ts): one server per layer of the gateway→worker
 * hop, each from its own provisioned worker credentials (so every layer resumes its own sessions in
 * 0-RTT), and node:http / node:https beside them. Every server answers with the same 100 bytes once
 * it has read the request.
 *
 *   transport  createQuicServer, one bidirectional stream per exchange (worker QUIC config)
 *   h3         createHttp3Server with the lean `onRequest`
 *   lean       createHandlerServer({ onRequest }), replay guard off
 *   guarded    createHandlerServer({ onRequest }), the default replay guard
 *   web        createHandlerServer({ handler }) (web Request/Response), the default replay guard
 *
 * Messages, each answered once and in order: `{ setup }` starts the servers and answers the ports;
 * `{ sample: true }` answers this process's CPU time so far and every layer's datagram counters.
 */
import type { HostPort } from '../../src/transport/quic/connection-driver.js';
import { createHttp3Server, createQuicServer, type Http3Server, type QuicEndpoint } from '../../src/transport/index.js';
import { createHandlerServer, type HandlerServer } from '../../src/handler-server/index.js';
import { createWorkerQuicConfig, loadCredentials } from '../../src/zero-rtt/index.js';
import { bodyFor, startNodeServers, type NodeServers } from '../lib/node-servers.js';
import type { ServerDatagrams } from '../lib/server-process.js';

export const pathLayers = ['transport', 'h3', 'lean', 'guarded', 'web'] as const;
export type PathLayer = (typeof pathLayers)[number];

export type PathServerMessage = { setup: { host: string; credentials: Record<PathLayer, string> } } | { sample: true };

export interface PathServerPorts {
  layers: Record<PathLayer, number>;
  http: number;
  tls13: number;
}

/** This process's CPU time (user + system, µs) and each layer's datagrams, at one moment. */
export interface PathServerSample {
  cpuUs: number;
  datagrams: Record<PathLayer, ServerDatagrams>;
}

const headers = { 'content-type': 'application/octet-stream' };

interface Servers {
  ports: PathServerPorts;
  sample(): PathServerSample;
  close(): Promise<void>;
}

async function startServers(host: string, texts: Record<PathLayer, string>): Promise<Servers> {
  const credentials = Object.fromEntries(pathLayers.map((layer) => [layer, loadCredentials({ text: texts[layer] })])) as Record<PathLayer, ReturnType<typeof loadCredentials>>;
  const transport: QuicEndpoint = await createQuicServer({
    host,
    config: createWorkerQuicConfig(credentials.transport),
    onConnection(connection) {
      connection.onStream = (stream) => {
        void (async () => {
          for await (const _chunk of stream) {
            // read the request to its end
          }
          await stream.end(bodyFor('/'));
        })().catch(() => undefined);
      };
    },
  });
  const h3: Http3Server = await createHttp3Server({
    host,
    config: createWorkerQuicConfig(credentials.h3),
    onRequest: async (request) => {
      await request.body.dump();
      return { statusCode: 200, headers, body: bodyFor(request.path) };
    },
  });
  const lean = (replayGuard: false | undefined, layer: 'lean' | 'guarded') =>
    createHandlerServer({
      credentials: credentials[layer],
      host,
      ...(replayGuard === false ? { replayGuard } : {}),
      onRequest: async (request) => {
        await request.body.dump();
        return { statusCode: 200, headers, body: bodyFor(request.path) };
      },
    });
  const handlers: Record<'lean' | 'guarded' | 'web', HandlerServer> = {
    lean: await lean(false, 'lean'),
    guarded: await lean(undefined, 'guarded'),
    web: await createHandlerServer({
      credentials: credentials.web,
      host,
      handler: async (request) => {
        await request.arrayBuffer();
        return new Response(bodyFor(new URL(request.url).pathname), { headers });
      },
    }),
  };
  // node:http and node:https with the lean layer's certificate (clients name that server).
  const node: NodeServers = await startNodeServers(credentials.lean, host);
  const port = (address: HostPort) => address.port;
  const count = (stats: { datagramsSent: number; datagramsReceived: number }): ServerDatagrams => ({ sent: stats.datagramsSent, received: stats.datagramsReceived });
  return {
    ports: {
      layers: { transport: port(transport.address), h3: port(h3.address), lean: port(handlers.lean.address), guarded: port(handlers.guarded.address), web: port(handlers.web.address) },
      http: node.ports.http,
      tls13: node.ports.tls13,
    },
    sample() {
      const cpu = process.cpuUsage();
      return {
        cpuUs: cpu.user + cpu.system,
        datagrams: {
          transport: count(transport.stats()),
          h3: count(h3.endpoint.stats()),
          lean: count(handlers.lean.metrics().quic),
          guarded: count(handlers.guarded.metrics().quic),
          web: count(handlers.web.metrics().quic),
        },
      };
    },
    async close() {
      node.close();
      await Promise.all([
        transport.close({ kind: 'application', code: 0 }),
        h3.close({ timeoutMs: 50 }),
        ...Object.values(handlers).map((server) => server.close({ timeoutMs: 50 })),
      ]);
    },
  };
}

let servers: Servers | undefined;
process.on('message', (message: PathServerMessage) => {
  void (async () => {
    if ('setup' in message) {
      servers = await startServers(message.setup.host, message.setup.credentials);
      process.send?.(servers.ports);
    } else {
      process.send?.(servers?.sample());
    }
  })();
});
process.once('disconnect', () => {
  void (servers?.close() ?? Promise.resolve()).then(() => process.exit(0));
});
