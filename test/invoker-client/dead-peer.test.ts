import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { isQfaasError } from '../../src/errors.js';
import { createHandlerServer } from '../../src/handler-server/index.js';
import { InvokerError } from '../../src/invoker-client/index.js';
import { credentialsEnvValue, type Provisioned } from '../../src/zero-rtt/index.js';
import { usePlatformTestbed } from '../helpers/platform.js';
import { spawnTs, stopChild, waitForLine } from '../helpers/processes.js';
import { fetchTarget } from '../helpers/fetch-target.js';

/** A handler-server worker in its own process, so it can be SIGKILLed. */
async function startWorker(provisioned: Provisioned, port = 0): Promise<{ child: ChildProcess; port: number }> {
  const env = credentialsEnvValue(provisioned.worker);
  const child = spawnTs('test/fixtures/handler-worker-from-env.ts', [], {
    QFAAS_CREDENTIALS: env,
    QFAAS_PORT: String(port),
  });
  const listening = Number((await waitForLine(child, /LISTENING (\d+)/))[1]);
  return { child, port: listening };
}

async function kill(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}

describe('dead workers (issue 12 item 6)', () => {
  const testbed = usePlatformTestbed();
  const children: ChildProcess[] = [];
  afterAll(async () => {
    await Promise.all(children.map((c) => stopChild(c)));
  });
  const invoker = testbed.invoker;

  it('SIGKILL mid-request: the request fails within seconds with QFAAS_PEER_UNREACHABLE naming host:port; a replacement on the same port serves the next one', async () => {
    const provisioned = await testbed.generator.provision({ functionName: 'fn', instanceId: 'killed-1', hosts: ['127.0.0.1'] });
    const first = await startWorker(provisioned);
    children.push(first.child);
    const target = { serverName: provisioned.serverName, host: '127.0.0.1', port: first.port };
    const client = await invoker(provisioned);
    expect(await (await fetchTarget(client, { ...target, path: '/warm' })).json()).toMatchObject({ path: '/warm' });

    const running = waitForLine(first.child, /RAN GET \/slow/);
    const inFlight = fetchTarget(client, { ...target, path: '/slow' }).then(
      () => undefined,
      (error: unknown) => error,
    );
    await running;
    const killedAt = performance.now();
    await kill(first.child);
    // The replacement starts from the same credentials on the same port while the request hangs.
    const replacement = await startWorker(provisioned, first.port);
    children.push(replacement.child);

    const error = await inFlight;
    const failedAfterMs = performance.now() - killedAt;
    expect(error).toBeInstanceOf(InvokerError);
    expect(error).toMatchObject({ code: 'QFAAS_PEER_UNREACHABLE', retryable: true, mayHaveRun: true });
    expect((error as Error).message).toContain(`${provisioned.serverName} (127.0.0.1:${first.port})`);
    expect(failedAfterMs).toBeLessThan(5_000); // not the 30 s request timeout
    // Either the PINGs went unanswered (a dead peer), or, on a loaded machine, the replacement was up
    // first and its stateless reset ended the connection: both fail the request fast as unreachable.
    const byReset = isQfaasError((error as Error).cause) && ((error as Error).cause as { code: string }).code === 'QFAAS_QUIC_STATELESS_RESET';
    expect(client.metrics().deadPeers).toBe(byReset ? 0 : 1);

    const startedNext = performance.now();
    const next = await fetchTarget(client, { ...target, path: '/next' });
    expect(await next.json()).toMatchObject({ path: '/next', pid: replacement.child.pid });
    expect(performance.now() - startedNext).toBeLessThan(5_000); // not the 32 s idle timeout
  }, 60_000);

  it('an idle pooled connection to a killed worker is noticed by keep-alive PINGs and evicted before it is used', async () => {
    const provisioned = await testbed.generator.provision({ functionName: 'fn', instanceId: 'killed-2', hosts: ['127.0.0.1'] });
    const first = await startWorker(provisioned);
    children.push(first.child);
    const target = { serverName: provisioned.serverName, host: '127.0.0.1', port: first.port };
    const client = await invoker(provisioned, { keepAliveMs: 300 });
    await (await fetchTarget(client, target)).text();
    // A live idle peer answers the PINGs: the connection stays pooled.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(client.metrics()).toMatchObject({ deadPeers: 0, openConnections: 1 });

    await kill(first.child);
    // Nothing answers on that port now (a replacement's stateless reset would end the connection
    // by itself, which the next test covers): only the keep-alive PINGs can notice.
    const deadline = performance.now() + 5_000;
    while (client.metrics().deadPeers === 0 && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(client.metrics()).toMatchObject({ deadPeers: 1, openConnections: 0 });
    const replacement = await startWorker(provisioned, first.port);
    children.push(replacement.child);
    const next = await fetchTarget(client, { ...target, path: '/after' });
    expect(await next.json()).toMatchObject({ path: '/after', pid: replacement.child.pid });
  }, 60_000);

  it('stateless reset: a replacement from the same credentials on the same address ends the dead connection at once (no timer involved)', async () => {
    const provisioned = await testbed.generator.provision({ functionName: 'fn', instanceId: 'killed-3', hosts: ['127.0.0.1'] });
    const first = await startWorker(provisioned);
    children.push(first.child);
    const target = { serverName: provisioned.serverName, host: '127.0.0.1', port: first.port };
    // Probing off: only the replacement's stateless reset can end the dead connection before 30 s.
    const client = await invoker(provisioned, { deadPeerTimeoutMs: 0, keepAliveMs: 0 });
    await (await fetchTarget(client, target)).text();
    await kill(first.child);
    const replacement = await startWorker(provisioned, first.port);
    children.push(replacement.child);

    const started = performance.now();
    const error = await fetchTarget(client, { ...target, path: '/on-dead-connection' }).then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(error).toBeInstanceOf(InvokerError);
    expect(error).toMatchObject({ code: 'QFAAS_PEER_UNREACHABLE', retryable: true });
    expect((error as Error).message).toContain(`(127.0.0.1:${first.port})`);
    expect((error as Error).cause).toMatchObject({ code: 'QFAAS_QUIC_STATELESS_RESET' });
    const next = await fetchTarget(client, { ...target, path: '/after-reset' });
    expect(await next.json()).toMatchObject({ path: '/after-reset', pid: replacement.child.pid });
  }, 60_000);

  it('a live worker running a silent 3 s function is not mistaken for a dead one (PINGs are answered)', async () => {
    const provisioned = await testbed.generator.provision({ functionName: 'fn', instanceId: 'slow-alive', hosts: ['127.0.0.1'] });
    const server = await createHandlerServer({
      credentials: provisioned.worker,
      host: '127.0.0.1',
      handler: async () => {
        await new Promise((resolve) => setTimeout(resolve, 3_000));
        return new Response('worth the wait');
      },
    });
    try {
      const client = await invoker(provisioned, { deadPeerTimeoutMs: 500 });
      const response = await fetchTarget(client, { serverName: provisioned.serverName, host: '127.0.0.1', port: server.address.port });
      expect(await response.text()).toBe('worth the wait');
      expect(client.metrics().deadPeers).toBe(0);
    } finally {
      await server.close({ timeoutMs: 100 });
    }
  }, 30_000);
});
