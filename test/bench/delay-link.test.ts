import { execFileSync, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDelayLink, isRoot, type DelayLink } from '../../bench/link/delay-link.js';
import { waitForLine } from '../helpers/processes.js';

// The benchmarks' link emulator needs root for namespaces and TUN devices, as on the CI machine.
describe('the benchmarks’ delay link (network namespace, two TUN devices, the C relay)', () => {
  let link: DelayLink;
  beforeAll(async () => {
    expect(isRoot(), 'these tests create a network namespace and TUN devices: run them as root').toBe(true);
    link = await createDelayLink({ delayUs: 2000 });
  });
  afterAll(async () => {
    await link?.close();
  });

  it('adds the configured delay to UDP in both directions', async () => {
    const check = await link.selfCheck(20);
    // Lower bound only: the link must never deliver sooner than two one-way delays.
    expect(check.rttUs).toBeGreaterThanOrEqual(4000);
    expect(check.floorRttUs).toBeLessThan(4000);
    expect(check.delayUs).toBe(2000);
  });

  it('carries TCP at packet level: the handshake alone costs a round trip', async () => {
    const server = link.spawnInside(process.execPath, [
      '-e',
      `require('node:net').createServer((s) => s.end('hi')).listen(8080, '${link.insideAddress}', () => console.log('ready'))`,
    ]);
    try {
      await waitForLine(server, /ready/);
      const started = performance.now();
      const reply = await new Promise<string>((resolve, reject) => {
        const socket = connect(8080, link.insideAddress);
        let text = '';
        socket.on('data', (chunk: Buffer) => {
          text += chunk.toString();
        });
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
      expect(reply).toBe('hi');
      // SYN/SYN-ACK, then the data: at least two round trips of 4 ms.
      expect(performance.now() - started).toBeGreaterThanOrEqual(8);
    } finally {
      server.kill('SIGKILL');
    }
  });

  it('drops packets at the configured loss rate', async () => {
    await link.setLoss(1_000_000);
    try {
      await expect(link.selfCheck(1)).rejects.toThrow('no echo');
    } finally {
      await link.setLoss(0);
    }
    expect((await link.selfCheck(5)).rttUs).toBeGreaterThanOrEqual(4000);
  });

  it('removes the namespace and both devices on close', async () => {
    const other = await createDelayLink({ delayUs: 0 });
    const namespace = other.namespace;
    expect(execFileSync('ip', ['netns', 'list']).toString()).toContain(namespace);
    await other.close();
    expect(execFileSync('ip', ['netns', 'list']).toString()).not.toContain(namespace);
    expect(execFileSync('ip', ['-o', 'link']).toString()).not.toContain(`${namespace}o`);
  });

  it('links made at the same moment by several processes each get their own address block', async () => {
    const script = `
      import { createDelayLink } from ${JSON.stringify(new URL('../../bench/link/delay-link.ts', import.meta.url).pathname)};
      const link = await createDelayLink();
      const check = await link.selfCheck(5);
      console.log(JSON.stringify({ inside: link.insideAddress, echoed: check.rttUs > 0 }));
      await new Promise((resolve) => setTimeout(resolve, 500));
      await link.close();`;
    const children = Array.from({ length: 4 }, () =>
      spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] }),
    );
    // allSettled: every child closes its link before the test ends, pass or fail.
    const settled = await Promise.allSettled(
      children.map(
        (child) =>
          new Promise<{ inside: string; echoed: boolean }>((resolve, reject) => {
            let out = '';
            child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
            child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1) as string)) : reject(new Error(`a link process exited with ${code}`))));
          }),
      ),
    );
    expect(settled.map((result) => result.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    const results = settled.map((result) => (result as PromiseFulfilledResult<{ inside: string; echoed: boolean }>).value);
    expect(new Set(results.map((result) => result.inside)).size).toBe(4);
    expect(results.every((result) => result.echoed)).toBe(true);
  }, 60_000);
});
