import type { ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { credentialsEnvValue, encodeStoredSession } from '../../src/zero-rtt/index.js';
import { useChainTestbed } from '../helpers/chain.js';
import { usePlatformTestbed } from '../helpers/platform.js';
import { spawnTs, waitForLine } from '../helpers/processes.js';

/** How the child ended, or 'still running' after `limitMs` (then it is killed). */
async function endOf(child: ChildProcess, limitMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number } | 'still running'> {
  const started = performance.now();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode, ms: 0 });
    else child.once('exit', (code, signal) => resolve({ code, signal, ms: performance.now() - started }));
  });
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([exited, new Promise<'still running'>((resolve) => (timer = setTimeout(() => resolve('still running'), limitMs)))]);
  clearTimeout(timer);
  if (outcome === 'still running') child.kill('SIGKILL');
  return outcome;
}

describe('a worker whose function code called chain.invoke()', () => {
  const testbed = useChainTestbed();

  it('exits on SIGTERM with the shutdown line of docs/handler-server.md: an idle chain client holds no process', async () => {
    await testbed.deploy('callee', () => () => ({ statusCode: 200, body: 'callee' }));
    const provisioned = await testbed.provision('caller');
    const child = spawnTs('test/fixtures/chain-worker-from-env.ts', [], { QFAAS_CREDENTIALS: credentialsEnvValue(provisioned.worker) });
    try {
      const [, port] = await waitForLine(child, /LISTENING (\d+)/);
      testbed.route('caller', { serverName: provisioned.serverName, port: Number(port) });
      const response = await testbed.invoker.request({ serverName: provisioned.serverName, host: '127.0.0.1', port: Number(port) });
      // The function's chain client opened a connection to the gateway and keeps it pooled.
      expect(await response.body.text()).toBe('caller>callee');
      child.kill('SIGTERM');
      // Before the fix this never ended: the pooled connection's socket held the event loop.
      const end = await endOf(child, 1000);
      expect(end).toMatchObject({ code: 0, signal: null });
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});

describe('an InvokerClient that is never closed', () => {
  const testbed = usePlatformTestbed();

  it('lets a script exit once its requests are done, as Node’s agents do', async () => {
    const { provisioned, target } = await testbed.leanWorker(() => ({ statusCode: 200, body: 'hello' }));
    const child = spawnTs('test/fixtures/invoker-left-open.ts', [], {
      SESSION: encodeStoredSession(provisioned.serverName, provisioned.session),
      TARGET_PORT: String(target.port),
      CA_PEM: testbed.ca.certPem,
      CERT_PEM: testbed.invokerCertificate.certPem,
      KEY_PEM: testbed.invokerCertificate.keyPem,
    });
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    try {
      // Generous: the limit covers the child's start (tsx) and its request; a socket left holding the loop never exits.
      expect(await endOf(child, 20_000)).toMatchObject({ code: 0, signal: null });
      expect(out).toContain('STATUS 200 hello EARLY true');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
