import { afterAll, describe, expect, it } from 'vitest';
import type { GatewayHops } from '../../examples/mini-platform/hops.js';
import type { MiniPlatform } from '../../examples/mini-platform/platform.js';
import { startBenchPlatform } from '../../bench/platform/bench-platform.js';

// connections: 'new' (the benchmark harness, bench/platform) is what bench:fig8 measures as the
// paper's non-continuous chains.
describe("the mini-platform with connections: 'new'", () => {
  const platforms: Array<MiniPlatform<GatewayHops>> = [];
  afterAll(async () => {
    for (const platform of platforms.splice(0)) await platform.stop();
  });

  it('qfaas: every hop of a warm chain opens a new connection and goes in 0-RTT', async () => {
    const platform = await startBenchPlatform({ idleMs: 60_000, hops: 'quic', connections: 'new' });
    platforms.push(platform);
    // The first chain starts the workers; the second runs on warm workers whose connections were dropped.
    expect(await (await platform.invoke('f4')).text()).toBe('f4>f5>f6');
    const invoker = platform.invoker.metrics();
    const gateway = platform.hops.chainGateway.metrics();
    expect(await (await platform.invoke('f4')).text()).toBe('f4>f5>f6');
    const invokerAfter = platform.invoker.metrics();
    const gatewayAfter = platform.hops.chainGateway.metrics();
    // Three gateway→worker requests (f4, f5, f6) and two worker→gateway calls (from f4, f5).
    expect(invokerAfter.requests - invoker.requests).toBe(3);
    expect(invokerAfter.earlyDataRequests - invoker.earlyDataRequests).toBe(3);
    expect(invokerAfter.reusedConnections - invoker.reusedConnections).toBe(0);
    expect(gatewayAfter.calls - gateway.calls).toBe(2);
    expect(gatewayAfter.earlyDataCalls - gateway.earlyDataCalls).toBe(2);
  }, 60_000);

  it('https: dropping idle connections never cuts a nested call in flight: the chain completes', async () => {
    const platform = await startBenchPlatform({ idleMs: 60_000, hops: 'https', connections: 'new' });
    platforms.push(platform);
    for (let i = 0; i < 2; i++) expect(await (await platform.invoke('f4')).text()).toBe('f4>f5>f6');
  }, 60_000);
});
