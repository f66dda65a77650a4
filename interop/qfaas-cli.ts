/**
 * The qfaas side of a case, by hand (docs/interop.md, "Reproducing a case by hand"): the
 * certificates, the qfaas file server, the qfaas downloading client and the relay, each in its own
 * terminal, with the peer's own command line in another.
 *
 *   npx tsx interop/qfaas-cli.ts certs DIR
 *   npx tsx interop/qfaas-cli.ts server --certs DIR --www WWW [--port 4433] [--retry] [--big-cert]
 *                                       [--handler [--client-auth]] [--idle-timeout-ms N] [--handshake-timeout-ms N]
 *   npx tsx interop/qfaas-cli.ts client --certs DIR --port 4433 [--client-cert] [--save-session F] [--session F]
 *                                       [--after-handshake] [--idle-timeout-ms N] PATH...
 *   npx tsx interop/qfaas-cli.ts relay --to 4433 [--port 4444] [--loss 0.02] [--handshake-loss 0.3]
 *                                      [--blackhole-after BYTES] [--seed N]
 *
 * The certificate directory holds private keys: delete it when done.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { encodeCredentials, loadCredentials } from '../src/zero-rtt/index.js';
import { createPki, serverName } from './pki.js';
import { qfaasDownload, startQfaasFileServer } from './qfaas-side.js';
import { mulberry32 } from './prng.js';
import { startUdpRelay } from './udp-relay.js';

const [command, ...rest] = process.argv.slice(2);

async function certs(dir: string | undefined): Promise<void> {
  if (dir === undefined) throw new Error('certs DIR');
  const pki = await createPki(dir);
  await writeFile(join(dir, 'worker.json'), encodeCredentials(pki.worker, 'json'), { mode: 0o600 });
  console.log(`wrote ca.pem, server.pem/.key, big-server.pem/.key (about 9 KB), client.pem/.key, foreign-client.pem/.key, invoker.pem/.key, worker.json to ${dir}`);
  console.log(`server name: ${serverName} (the handler server's: ${pki.worker.serverName})`);
}

async function server(): Promise<void> {
  const { values } = parseArgs({
    args: rest,
    options: {
      certs: { type: 'string' },
      www: { type: 'string' },
      port: { type: 'string', default: '4433' },
      retry: { type: 'boolean', default: false },
      'big-cert': { type: 'boolean', default: false },
      handler: { type: 'boolean', default: false },
      'client-auth': { type: 'boolean', default: false },
      'idle-timeout-ms': { type: 'string' },
      'handshake-timeout-ms': { type: 'string' },
    },
  });
  if (values.certs === undefined || values.www === undefined) throw new Error('server --certs DIR --www DIR');
  const dir = values.certs;
  const read = (name: string) => readFile(join(dir, name), 'utf8');
  const prefix = values['big-cert'] ? 'big-server' : 'server';
  const transport = values['idle-timeout-ms'] === undefined ? undefined : { maxIdleTimeoutMs: Number(values['idle-timeout-ms']) };
  const running = await startQfaasFileServer({
    kind: values.handler ? 'handler' : 'http3',
    wwwDir: values.www,
    caPem: await read('ca.pem'),
    serverName,
    certificate: { certPem: await read(`${prefix}.pem`), keyPem: await read(`${prefix}.key`) },
    ...(values.handler ? { credentials: loadCredentials({ file: join(dir, 'worker.json') }) } : {}),
    clientAuth: values['client-auth'] ? 'required' : 'none',
    retry: values.retry ? { halfOpenThreshold: 0 } : {},
    ...(transport === undefined ? {} : { transport }),
    ...(values['handshake-timeout-ms'] === undefined ? {} : { handshakeTimeoutMs: Number(values['handshake-timeout-ms']) }),
    port: Number(values.port),
  });
  console.log(`qfaas ${values.handler ? 'handler server' : 'HTTP/3 server'} on 127.0.0.1:${running.port} (server name ${running.serverName}); Ctrl-C stops it`);
  let shown = 0;
  const timer = setInterval(() => {
    for (const request of running.requests.slice(shown)) {
      console.log(`${request.method} ${request.path} on connection ${request.connection}${request.earlyData ? ' (ran in early data)' : ''}${request.resumed ? ' (resumed)' : ''}`);
    }
    shown = running.requests.length;
  }, 200);
  process.once('SIGINT', () => {
    clearInterval(timer);
    const metrics = running.handlerMetrics();
    console.log(JSON.stringify({ endpoint: running.endpointStats(), ...(metrics === undefined ? {} : { replayGuard: metrics.replayGuard, earlyDataRequests: metrics.earlyDataRequests }) }, null, 2));
    void running.close().then(() => process.exit(0));
  });
}

async function client(): Promise<void> {
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      certs: { type: 'string' },
      port: { type: 'string', default: '4433' },
      'server-name': { type: 'string', default: serverName },
      'client-cert': { type: 'boolean', default: false },
      'save-session': { type: 'string' },
      session: { type: 'string' },
      'after-handshake': { type: 'boolean', default: false },
      'idle-timeout-ms': { type: 'string' },
    },
  });
  if (values.certs === undefined || positionals.length === 0) throw new Error('client --certs DIR --port N PATH...');
  const dir = values.certs;
  const read = (name: string) => readFile(join(dir, name), 'utf8');
  const download = await qfaasDownload({
    port: Number(values.port),
    serverName: values['server-name'],
    caPem: await read('ca.pem'),
    paths: positionals,
    ...(values['client-cert'] ? { certificate: { certPem: await read('client.pem'), keyPem: await read('client.key') } } : {}),
    ...(values.session === undefined ? {} : { session: new Uint8Array(await readFile(values.session)) }),
    afterHandshake: values['after-handshake'],
    ...(values['idle-timeout-ms'] === undefined ? {} : { transport: { maxIdleTimeoutMs: Number(values['idle-timeout-ms']) } }),
    waitForTicketMs: values['save-session'] === undefined ? 0 : 3000,
  });
  for (const path of positionals) {
    console.log(`${path}: ${String(download.statuses.get(path))} sha256=${download.hashes.get(path) ?? '-'}${download.earlyData.get(path) ? ' (0-RTT, accepted)' : ''}`);
  }
  console.log(`handshake: ${JSON.stringify(download.handshake)}; 0-RTT attempted: ${download.earlyDataAttempted}`);
  if (values['save-session'] !== undefined) {
    if (download.session === undefined) throw new Error('the server sent no session ticket');
    await writeFile(values['save-session'], download.session, { mode: 0o600 });
    console.log(`session ticket saved to ${values['save-session']}`);
  }
}

async function relay(): Promise<void> {
  const { values } = parseArgs({
    args: rest,
    options: {
      to: { type: 'string' },
      port: { type: 'string', default: '4444' },
      loss: { type: 'string', default: '0' },
      'handshake-loss': { type: 'string', default: '0' },
      'blackhole-after': { type: 'string' },
      seed: { type: 'string', default: '1' },
    },
  });
  if (values.to === undefined) throw new Error('relay --to PORT');
  const random = mulberry32(Number(values.seed) + 1);
  const handshakeLoss = Number(values['handshake-loss']);
  const blackholeAfter = values['blackhole-after'] === undefined ? Infinity : Number(values['blackhole-after']);
  let toClient = 0;
  let relayRef: Awaited<ReturnType<typeof startUdpRelay>> | undefined;
  const running = await startUdpRelay({
    targetPort: Number(values.to),
    port: Number(values.port),
    lossRate: Number(values.loss),
    seed: Number(values.seed),
    drop: (direction, _index, datagram) => {
      if (direction === 'toClient') toClient += datagram.length;
      if (toClient >= blackholeAfter && relayRef?.blackholedAt === undefined) {
        relayRef?.blackhole();
        console.log(`blackholed after ${toClient} bytes to the client`);
      }
      return ((datagram[0] ?? 0) & 0x80) !== 0 && random() < handshakeLoss;
    },
  });
  relayRef = running;
  console.log(`relay on 127.0.0.1:${running.port} → 127.0.0.1:${values.to}; Ctrl-C stops it`);
  process.once('SIGINT', () => {
    console.log(JSON.stringify(running.stats));
    void running.close().then(() => process.exit(0));
  });
}

const commands: Record<string, () => Promise<void>> = { certs: () => certs(rest[0]), server, client, relay };
const run = command === undefined ? undefined : commands[command];
if (run === undefined) {
  console.log('usage: npx tsx interop/qfaas-cli.ts certs|server|client|relay … (see the top of interop/qfaas-cli.ts)');
  process.exit(command === undefined || command === '--help' ? 0 : 2);
} else {
  run().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
