import { createHash, randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getResponseInfo, InvokerClient } from '../../src/invoker-client/index.js';
import { parseDuration, readWatchdogConfig, splitCommandLine } from '../../src/handler-server/index.js';
import { createPlatformCA, credentialsEnvValue, loadChainCredentials, MemoryTicketStore, type Provisioned, ZeroRttGenerator } from '../../src/zero-rtt/index.js';
import { freePort } from '../helpers/ports.js';
import { spawnTs, waitForStderr } from '../helpers/processes.js';
import { fetchTarget } from '../helpers/fetch-target.js';

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

describe('watchdog configuration (of-watchdog variables)', () => {
  it('reads durations, numbers and the command line, naming a bad variable', () => {
    expect(parseDuration('1m30s', 'x')).toBe(90_000);
    expect(parseDuration('250ms', 'x')).toBe(250);
    expect(parseDuration('5', 'x')).toBe(5_000);
    expect(splitCommandLine(`node "my server.js" --flag 'a b'`)).toEqual(['node', 'my server.js', '--flag', 'a b']);
    const config = readWatchdogConfig({ fprocess: 'node index.js', exec_timeout: '2s', max_inflight: '8' });
    expect(config).toMatchObject({ port: 8080, upstreamUrl: 'http://127.0.0.1:3000', execTimeoutMs: 2000, maxInflight: 8, writeTimeoutMs: 10_000, healthcheckIntervalMs: 10_000 });
    expect(() => readWatchdogConfig({})).toThrow(/fprocess/);
    expect(() => readWatchdogConfig({ fprocess: 'x', mode: 'streaming' })).toThrow(/mode/);
    expect(() => readWatchdogConfig({ fprocess: 'x', exec_timeout: 'soon' })).toThrow(/exec_timeout/);
    expect(() => readWatchdogConfig({ fprocess: 'x', max_inflight: '-1' })).toThrow(/max_inflight/);
  });
});

describe('qfaas-watchdog in front of a real function process', () => {
  let watchdog: ChildProcess;
  let udpPort: number;
  let healthPort: number;
  let provisioned: Provisioned;
  let client: InvokerClient;
  let exited: Promise<number | null>;

  beforeAll(async () => {
    const ca = await createPlatformCA();
    // With chain credentials, so that the function process has something it may legitimately hold.
    const gatewayCertificate = await ca.issue({ role: 'gateway', name: 'chain.gateway.qfaas.internal', hosts: ['127.0.0.1'] });
    const generator = new ZeroRttGenerator({
      ca,
      chainGateway: { serverName: 'chain.gateway.qfaas.internal', host: '127.0.0.1', port: 9, certificate: gatewayCertificate, ticketKey: randomBytes(48) },
    });
    provisioned = await generator.provision({ functionName: 'node-fn', instanceId: 'w-1', hosts: ['127.0.0.1'] });
    const upstreamPort = await freePort();
    const credentials = credentialsEnvValue(provisioned.worker);
    watchdog = spawnTs('src/cli/qfaas-watchdog.ts', [], {
      fprocess: `${process.execPath} test/fixtures/function-server.mjs`,
      PORT: String(upstreamPort),
      upstream_url: `http://127.0.0.1:${upstreamPort}`,
      port: '0',
      exec_timeout: '5s',
      write_timeout: '3s',
      max_inflight: '16',
      healthcheck_interval: '200ms',
      QFAAS_HOST: '127.0.0.1',
      QFAAS_CREDENTIALS: credentials,
    });
    exited = new Promise((resolve) => watchdog.once('exit', (code) => resolve(code)));
    const match = await waitForStderr(watchdog, /udp\/(\d+) \(HTTP\/3\), health on tcp\/(\d+)/);
    udpPort = Number(match[1]);
    healthPort = Number(match[2]);
    const ticketStore = new MemoryTicketStore();
    ticketStore.set(provisioned.serverName, provisioned.session);
    client = new InvokerClient({ ca, certificate: await generator.invokerCertificate(), ticketStore });
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    if (watchdog !== undefined && watchdog.exitCode === null) {
      watchdog.kill('SIGKILL');
      await exited;
    }
  });

  const target = (path: string) => ({ serverName: provisioned.serverName, host: '127.0.0.1', port: udpPort, path });

  it('the first GET is 0-RTT and the function sees Early-Data: 1 (RFC 8470)', async () => {
    const response = await fetchTarget(client, target('/hello'));
    expect(response.headers.get('x-function')).toBe('node-http');
    expect(await response.json()).toEqual({ method: 'GET', path: '/hello', earlyData: '1', requestId: null });
    expect(getResponseInfo(response)?.transport?.earlyDataAttempted).toBe(true);
    const later = await fetchTarget(client, target('/hello'), { headers: { 'x-request-id': 'r-2' } });
    expect(await later.json()).toMatchObject({ earlyData: null, requestId: 'r-2' });
  });

  it('streams a 10 MiB upload and a 10 MiB download, checked by hash', async () => {
    const body = randomBytes(10 * 1024 * 1024);
    const upload = await fetchTarget(client, target('/sha256'), { method: 'POST', body });
    expect(upload.headers.get('x-body-length')).toBe(String(body.length));
    expect(await upload.text()).toBe(sha256(body));
    const size = 10 * 1024 * 1024;
    const download = new Uint8Array(await (await fetchTarget(client, target(`/bytes?n=${size}`))).arrayBuffer());
    const expected = new Uint8Array(size);
    for (let i = 0; i < size; i++) expected[i] = i % 251;
    expect(download.length).toBe(size);
    expect(sha256(download)).toBe(sha256(expected));
  }, 60_000);

  it('the function process gets only its chain credentials: no worker private key, no ticket key, no QFAAS_CREDENTIALS', async () => {
    const env = (await (await fetchTarget(client, target('/env'))).json()) as Record<string, string>;
    expect(env.QFAAS_CREDENTIALS).toBeUndefined();
    // Look through every value, also base64-decoded (bundles travel as base64 JSON).
    const texts = Object.values(env).flatMap((value) => [value, Buffer.from(value, 'base64').toString('utf8')]);
    const workerKeyLine = provisioned.worker.certificate.keyPem.reveal().split('\n')[2] as string;
    const ticketKey = Buffer.from(provisioned.worker.ticketKey.reveal());
    for (const secret of [workerKeyLine, ticketKey.toString('base64'), ticketKey.toString('hex')]) {
      expect(secret.length).toBeGreaterThan(20);
      expect(texts.some((text) => text.includes(secret))).toBe(false);
    }
    // What chain.invoke() needs is there, and loads.
    const chain = loadChainCredentials({ env });
    expect(chain.chain.certificate.certPem).toBe(provisioned.worker.chain?.certificate.certPem);
    expect(chain.chain.gatewayServerName).toBe('chain.gateway.qfaas.internal');
  });

  it('a path that could leave the function\'s origin gets 400 from the watchdog (SSRF)', async () => {
    for (const path of ['//127.0.0.1:9/latest/meta-data', '/\\127.0.0.1:9/x']) {
      const response = await fetchTarget(client, target(path));
      expect(response.status, path).toBe(400);
      await response.arrayBuffer();
    }
  });

  it('serves /_/health and /_/ready over TCP', async () => {
    expect((await fetch(`http://127.0.0.1:${healthPort}/_/health`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${healthPort}/_/ready`)).status).toBe(200);
  });

  it('SIGTERM drains: a request in flight completes, health turns 503, the process exits 0', async () => {
    const inFlight = fetchTarget(client, target('/slow?ms=800'));
    await new Promise((resolve) => setTimeout(resolve, 150));
    watchdog.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await fetch(`http://127.0.0.1:${healthPort}/_/health`)).status).toBe(503);
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ path: '/slow' });
    expect(await exited).toBe(0);
  }, 30_000);
});

describe('qfaas-watchdog when the function crashes', () => {
  it('the request in flight gets 502 and the watchdog exits 1, as of-watchdog does', async () => {
    const ca = await createPlatformCA();
    const generator = new ZeroRttGenerator({ ca });
    const provisioned = await generator.provision({ functionName: 'crashy', instanceId: 'w-2', hosts: ['127.0.0.1'] });
    const upstreamPort = await freePort();
    const credentials = credentialsEnvValue(provisioned.worker);
    const watchdog = spawnTs('src/cli/qfaas-watchdog.ts', [], {
      fprocess: `${process.execPath} test/fixtures/function-server.mjs`,
      PORT: String(upstreamPort),
      upstream_url: `http://127.0.0.1:${upstreamPort}`,
      port: '0',
      QFAAS_HOST: '127.0.0.1',
      QFAAS_CREDENTIALS: credentials,
    });
    const exited = new Promise<number | null>((resolve) => watchdog.once('exit', (code) => resolve(code)));
    const client = new InvokerClient({ ca, certificate: await generator.invokerCertificate() });
    try {
      const match = await waitForStderr(watchdog, /udp\/(\d+) \(HTTP\/3\)/);
      const target = { serverName: provisioned.serverName, host: '127.0.0.1', port: Number(match[1]), path: '/crash' };
      const response = await fetchTarget(client, target);
      expect(response.status).toBe(502);
      expect(await exited).toBe(1);
    } finally {
      await client.close();
      if (watchdog.exitCode === null) watchdog.kill('SIGKILL');
    }
  }, 60_000);
});
