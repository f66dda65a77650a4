import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandlerServer, type HandlerServer } from '../../src/handler-server/index.js';
import { getResponseInfo, InvokerClient } from '../../src/invoker-client/index.js';
import { createQuicConfig } from '../../src/transport/index.js';
import { createPlatformCA, MemoryTicketStore, ZeroRttGenerator, type PlatformCA, type Provisioned } from '../../src/zero-rtt/index.js';
import { flood, genuineInitials, openSilentPeer, type SilentPeer } from '../helpers/attack-traffic.js';
import { fetchTarget } from '../helpers/fetch-target.js';

const collect = (globalThis as { gc?: () => void }).gc;
const mib = 1024 * 1024;

async function settledRss(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    collect?.();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return process.memoryUsage().rss;
}

/**
 * The flood of issue 12: genuine Initials (no certificate needed to make them) from one socket that
 * never answers. Before the defences, each held a connection until the idle timeout: 12,000 filled
 * the 10,000-connection limit, locked out the invoker for 30 s and kept 555-825 MiB of RSS.
 * Here the limit is 50 connections and the flood 3,000 Initials, which would lock it out the same way.
 */
describe('a flood of Initials from an address that never answers', () => {
  let ca: PlatformCA;
  let provisioned: Provisioned;
  let worker: HandlerServer;
  let invoker: InvokerClient;
  let attacker: SilentPeer;
  const handshakeTimeoutMs = 1500;

  beforeAll(async () => {
    ca = await createPlatformCA();
    const generator = new ZeroRttGenerator({ ca });
    provisioned = await generator.provision({ functionName: 'victim', instanceId: 'i-1', hosts: ['127.0.0.1'] });
    worker = await createHandlerServer({
      credentials: provisioned.worker,
      host: '127.0.0.1',
      handler: () => new Response('still here'),
      maxConnections: 50,
      handshakeTimeoutMs,
    });
    const ticketStore = new MemoryTicketStore();
    ticketStore.set(provisioned.serverName, provisioned.session);
    invoker = new InvokerClient({ ca, certificate: await generator.invokerCertificate(), ticketStore, idleTimeoutMs: 0 });
    attacker = await openSilentPeer();
  });
  afterAll(async () => {
    await invoker?.close();
    await worker?.close({ timeoutMs: 100 });
    await attacker?.close();
  });

  it('holds few connections, answers with Retry, lets an honest invoker through, and gives its memory back', async () => {
    // The attacker's Initials come from a client config without a certificate: anyone can make them.
    const attackerConfig = createQuicConfig({ role: 'client', caPem: ca.certPem });
    const initials = genuineInitials(3000, attackerConfig, provisioned.serverName);
    const target = { serverName: provisioned.serverName, host: '127.0.0.1', port: worker.address.port };
    // Warm up (one honest request), so that the baseline includes what any served worker holds.
    await (await fetchTarget(invoker, target)).text();
    invoker.closeIdleConnections();
    const baseline = await settledRss();

    let peakHalfOpen = 0;
    let peakConnections = 0;
    const sampler = setInterval(() => {
      const quic = worker.metrics().quic;
      peakHalfOpen = Math.max(peakHalfOpen, quic.halfOpenConnections);
      peakConnections = Math.max(peakConnections, quic.connections);
    }, 20);
    const flooding = flood(attacker, worker.address.port, initials);
    // An honest request in the middle of the flood.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = performance.now();
    const response = await fetchTarget(invoker, target);
    const honestMs = performance.now() - started;
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('still here');
    await flooding;
    const during = process.memoryUsage().rss;
    clearInterval(sampler);

    const quic = worker.metrics().quic;
    expect(attacker.counts.datagramsSent).toBe(3000);
    // Retry took over once 100 handshakes were in progress; the flood held no more than that.
    expect(quic.retriesSent).toBeGreaterThan(1500);
    expect(peakHalfOpen).toBeLessThanOrEqual(101);
    expect(peakConnections).toBeLessThanOrEqual(110);
    // Within seconds, not the 30 s of the lockout (the request went through a Retry or not).
    expect(honestMs).toBeLessThan(5000);
    expect(getResponseInfo(response)?.transport?.earlyDataAttempted).toBe(true);
    // Bytes back per byte of flood: Retries are small, and the 3x limit caps the rest.
    expect(attacker.counts.received).toBeLessThan(0.5 * attacker.counts.sent);

    // After the handshake timeout every half-open connection is gone, and so is its memory.
    await new Promise((resolve) => setTimeout(resolve, handshakeTimeoutMs + 500));
    expect(worker.metrics().quic.halfOpenConnections).toBe(0);
    expect(worker.metrics().quic.connections).toBeLessThanOrEqual(1);
    const after = await settledRss();
    console.log(
      `flood: baseline ${(baseline / mib).toFixed(0)} MiB, during ${(during / mib).toFixed(0)} MiB, after GC ${(after / mib).toFixed(0)} MiB; ` +
        `peak half-open ${peakHalfOpen}, honest request ${honestMs.toFixed(0)} ms, ${attacker.counts.received} bytes back for ${attacker.counts.sent}`,
    );
    expect(after - baseline).toBeLessThan(64 * mib);
  }, 60_000);
});
