import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDelayLink, isRoot, type DelayLink } from '../../bench/link/delay-link.js';
import { startBenchPlatform } from '../../bench/platform/bench-platform.js';
import type { GatewayHops } from '../../examples/mini-platform/hops.js';
import type { MiniPlatform } from '../../examples/mini-platform/platform.js';

// Workers in the benchmarks' delay-link namespace, the gateway outside: what bench:fig8 runs, through
// the benchmark harness (bench/platform). Needs root for the namespace and TUN devices, as on the CI
// machine.
describe('the mini-platform with its workers in another network namespace (the benchmark harness’s link option)', () => {
  let link: DelayLink | undefined;
  const platforms: Array<MiniPlatform<GatewayHops>> = [];
  const started = <P extends MiniPlatform<GatewayHops>>(platform: P): P => {
    platforms.push(platform);
    return platform;
  };

  beforeAll(async () => {
    expect(isRoot(), 'these tests create a network namespace and TUN devices: run them as root').toBe(true);
    link = await createDelayLink({ delayUs: 0 });
  });
  afterAll(async () => {
    for (const platform of platforms.splice(0)) await platform.stop();
    await link?.close();
  });

  it('qfaas: a chain of 3 crosses the link; the cold first request and the cold workers’ calls are 0-RTT', async () => {
    const platform = started(await startBenchPlatform({ idleMs: 60_000, hops: 'quic', link: link as DelayLink }));
    const response = await fetch(`${platform.url}/function/f4`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('f4>f5>f6');
    expect(response.headers.get('x-qfaas-early-data')).toBe('true');
    // f4 and f5 called the gateway (outside) from the namespace, each in 0-RTT on its first call.
    expect(platform.hops.chainGateway.metrics().earlyDataCalls).toBeGreaterThanOrEqual(2);
    // The workers listen on the namespace's address, which exists only inside it.
    expect((await platform.instanceFor('f6')).host).toBe(link?.insideAddress);
  }, 60_000);

  it('https (TCP + TLS 1.3): the same chain of 3 crosses the link', async () => {
    const platform = started(await startBenchPlatform({ idleMs: 60_000, hops: 'https', link: link as DelayLink }));
    const response = await platform.invoke('f4');
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('f4>f5>f6');
  }, 60_000);

  it('stopping the platforms and closing the link leaves no namespace, device or worker behind', async () => {
    const current = link as DelayLink;
    for (const platform of platforms.splice(0)) await platform.stop();
    // stop() resolved once every worker exited: nothing runs in the namespace any more.
    expect(execFileSync('ip', ['netns', 'pids', current.namespace]).toString().trim()).toBe('');
    await current.close();
    link = undefined;
    expect(execFileSync('ip', ['netns', 'list']).toString()).not.toContain(current.namespace);
    expect(execFileSync('ip', ['-o', 'link']).toString()).not.toContain(`${current.namespace}o`);
  }, 30_000);
});
