import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectHttp3,
  createHttp3Server,
  createQuicClient,
  createQuicConfig,
} from '../../src/transport/index.js';
import { createWorkerQuicConfig, decodeStoredSession, loadCredentials } from '../../src/zero-rtt/index.js';
import { createChainClient, createChainGateway } from '../../src/chain/index.js';
import { createHandlerServer } from '../../src/handler-server/index.js';
import { InvokerClient } from '../../src/invoker-client/index.js';
import { runToEnd, spawnTs } from '../helpers/processes.js';

const cli = (args: string[]) => runToEnd(spawnTs('src/cli/qfaas.ts', args));

describe('qfaas CLI', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qfaas-cli-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('makes a CA, an invoker certificate, and a worker whose first request is 0-RTT', async () => {
    const f = (name: string) => join(dir, name);
    await cli(['ca', '--cert-out', f('ca.pem'), '--key-out', f('ca.key')]);
    await cli(['issue', '--ca-cert', f('ca.pem'), '--ca-key', f('ca.key'), '--role', 'invoker', '--name', 'gateway', '--cert-out', f('inv.pem'), '--key-out', f('inv.key')]);
    await cli([
      'provision', '--ca-cert', f('ca.pem'), '--ca-key', f('ca.key'), '--invoker-cert', f('inv.pem'), '--invoker-key', f('inv.key'),
      '--function', 'echo', '--instance', 'cli-1', '--host', '127.0.0.1', '--format', 'env', '--out', f('worker.env'), '--session-out', f('session.json'),
    ]);
    // Files holding secrets are for their owner only.
    for (const file of ['ca.key', 'inv.key', 'worker.env', 'session.json']) expect((await stat(f(file))).mode & 0o077).toBe(0);

    const credentials = loadCredentials({ file: f('worker.env') });
    const { serverName, session } = decodeStoredSession(await readFile(f('session.json'), 'utf8'));
    expect(serverName).toBe('cli-1.echo.qfaas.internal');
    const worker = await createHttp3Server({ config: createWorkerQuicConfig(credentials), handler: (_r, info) => new Response(`early=${info.earlyData}`) });
    const endpoint = await createQuicClient();
    try {
      const quic = endpoint.connect({
        host: '127.0.0.1',
        port: worker.address.port,
        serverName,
        config: createQuicConfig({
          role: 'client',
          caPem: await readFile(f('ca.pem'), 'utf8'),
          certificate: { certPem: await readFile(f('inv.pem'), 'utf8'), keyPem: await readFile(f('inv.key'), 'utf8') },
        }),
        session: session.session.reveal(),
      });
      const h3 = connectHttp3(quic, { ...(session.settings === undefined ? {} : { rememberedPeerSettings: session.settings }) });
      expect(await (await h3.fetch(new Request(`https://${serverName}/`))).text()).toBe('early=true');
      h3.close();
    } finally {
      await endpoint.close();
      await worker.close({ timeoutMs: 100 });
    }
  }, 60_000);

  it("provisions chain credentials: the function's first call through that gateway goes in 0-RTT", async () => {
    const f = (name: string) => join(dir, name);
    await cli(['ca', '--cert-out', f('c-ca.pem'), '--key-out', f('c-ca.key')]);
    const ca = ['--ca-cert', f('c-ca.pem'), '--ca-key', f('c-ca.key')];
    await cli(['issue', ...ca, '--role', 'invoker', '--name', 'gateway', '--cert-out', f('c-inv.pem'), '--key-out', f('c-inv.key')]);
    const gatewayName = 'chain.gateway.qfaas.internal';
    await cli(['issue', ...ca, '--role', 'gateway', '--name', gatewayName, '--host', '127.0.0.1', '--cert-out', f('gw.pem'), '--key-out', f('gw.key')]);
    await cli(['ticket-key', '--out', f('gw.ticket-key')]);
    expect((await stat(f('gw.ticket-key'))).mode & 0o077).toBe(0);
    const ticketKey = Buffer.from((await readFile(f('gw.ticket-key'), 'utf8')).trim(), 'base64');
    expect(ticketKey.length).toBe(48);
    const caPem = await readFile(f('c-ca.pem'), 'utf8');
    const certificate = { certPem: await readFile(f('gw.pem'), 'utf8'), keyPem: await readFile(f('gw.key'), 'utf8') };
    const calleeRuns: boolean[] = [];
    const invoker = new InvokerClient({ ca: caPem, certificate: { certPem: await readFile(f('c-inv.pem'), 'utf8'), keyPem: await readFile(f('c-inv.key'), 'utf8') } });
    let callee: { serverName: string; port: number } | undefined;
    const gateway = await createChainGateway({
      credentials: { caPem, certificate, ticketKey },
      invoker,
      host: '127.0.0.1',
      resolve: () => ({ ...(callee as { serverName: string; port: number }), host: '127.0.0.1' }),
    });
    const provision = async (name: string, out: string) =>
      cli([
        'provision', ...ca, '--invoker-cert', f('c-inv.pem'), '--invoker-key', f('c-inv.key'), '--function', name, '--instance', 'i-1', '--host', '127.0.0.1',
        '--chain-gateway-name', gatewayName, '--chain-gateway-cert', f('gw.pem'), '--chain-gateway-key', f('gw.key'), '--chain-gateway-ticket-key', f('gw.ticket-key'),
        '--chain-gateway-host', '127.0.0.1', '--chain-gateway-port', String(gateway.address.port), '--out', out,
      ]);
    await provision('callee', f('callee.env'));
    await provision('caller', f('caller.env'));
    const calleeCredentials = loadCredentials({ file: f('callee.env') });
    const calleeServer = await createHandlerServer({ credentials: calleeCredentials, host: '127.0.0.1', onRequest: (_request, info) => (calleeRuns.push(info.earlyData), { statusCode: 200, body: 'callee' }) });
    callee = { serverName: calleeCredentials.serverName, port: calleeServer.address.port };
    const callerCredentials = loadCredentials({ file: f('caller.env') });
    expect(callerCredentials.chain?.gatewayServerName).toBe(gatewayName);
    const client = createChainClient({ credentials: callerCredentials });
    try {
      const response = await client.request('callee');
      expect(await response.body.text()).toBe('callee');
      // The function's first call to the gateway resumed the session the CLI minted.
      expect(response.transport.earlyDataAttempted).toBe(true);
      expect(response.earlyData).toBe(true);
    } finally {
      await client.close();
      await gateway.close({ timeoutMs: 100 });
      await calleeServer.close({ timeoutMs: 100 });
      await invoker.close();
    }
  }, 60_000);

  it('prints usage for --help, per command too, and exits 0', async () => {
    const all = await cli(['--help']);
    for (const command of ['qfaas ca', 'qfaas issue', 'qfaas ticket-key', 'qfaas provision']) expect(all).toContain(command);
    const provision = await cli(['provision', '--help']);
    expect(provision).toContain('--chain-gateway-ticket-key');
    expect(provision).not.toContain('qfaas ca ');
    await expect(cli(['bogus', '--help'])).rejects.toThrow(/exited with 2.*unknown command "bogus"/s);
  }, 30_000);

  it('a Secret manifest it writes (--format k8s-secret) loads with loadCredentials({ file }), and so does its data value', async () => {
    const f = (name: string) => join(dir, name);
    await cli(['ca', '--cert-out', f('k8s-ca.pem'), '--key-out', f('k8s-ca.key')]);
    await cli(['issue', '--ca-cert', f('k8s-ca.pem'), '--ca-key', f('k8s-ca.key'), '--role', 'invoker', '--name', 'gateway', '--cert-out', f('k8s-inv.pem'), '--key-out', f('k8s-inv.key')]);
    await cli([
      'provision', '--ca-cert', f('k8s-ca.pem'), '--ca-key', f('k8s-ca.key'), '--invoker-cert', f('k8s-inv.pem'), '--invoker-key', f('k8s-inv.key'),
      '--function', 'echo', '--instance', 'k8s-1', '--format', 'k8s-secret', '--out', f('secret.yaml'),
    ]);
    expect(loadCredentials({ file: f('secret.yaml') }).serverName).toBe('k8s-1.echo.qfaas.internal');
    const data = /QFAAS_CREDENTIALS: (\S+)/.exec(await readFile(f('secret.yaml'), 'utf8'))?.[1] as string;
    expect(loadCredentials({ text: data }).serverName).toBe('k8s-1.echo.qfaas.internal');
  }, 60_000);

  it('refuses bad usage with exit code 2 and a message', async () => {
    await expect(cli(['provision', '--function', 'echo'])).rejects.toThrow(/exited with 2.*--ca-cert is required/s);
    await expect(cli(['bogus'])).rejects.toThrow(/unknown command "bogus"/);
  }, 30_000);
});
