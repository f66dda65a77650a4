import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildQgbench, quicGoAvailable, startQuicGoRig, type QuicGoRig } from '../../bench/quic-go/quic-go-rig.js';
import { createPlatformCA } from '../../src/zero-rtt/index.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the quic-go HTTP/3 benchmark transport (qgbench on loopback)', () => {
  let rig: QuicGoRig;

  beforeAll(async () => {
    // No skip: CI installs Go and quic-go, and a missing one must fail with the install hint.
    const missing = quicGoAvailable();
    expect(missing, missing).toBeUndefined();
    buildQgbench();
    const ca = await createPlatformCA();
    const serverName = 'w1.qgbench.qfaas.internal';
    const [server, client] = await Promise.all([
      ca.issue({ role: 'worker', name: serverName, hosts: ['127.0.0.1'] }),
      ca.issue({ role: 'invoker', name: 'qgbench-client' }),
    ]);
    rig = await startQuicGoRig({ caPem: ca.certPem, server, client, serverName });
  }, 300_000);

  afterAll(async () => {
    await rig?.close();
  });

  it('runs every exchange and reports positive times measured in Go', async () => {
    const { zeroRttGet, oneRttPost, warmGet, largeZeroRttGet, coldGet } = rig.exchanges;
    for (const exchange of [zeroRttGet, oneRttPost, warmGet, largeZeroRttGet, coldGet]) {
      for (let i = 0; i < 5; i++) {
        const ms = await exchange();
        expect(Number.isFinite(ms)).toBe(true);
        expect(ms).toBeGreaterThan(0);
      }
    }
  });

  it('sends a GET in 0-RTT once a first connection left a session ticket', async () => {
    await rig.exchanges.zeroRttGet();
    rig.takeNotEarly();
    rig.takeServerNotEarly();
    for (let i = 0; i < 10; i++) await rig.exchanges.zeroRttGet();
    expect(rig.takeNotEarly()).toBe(0);
    // The server's view (the request's first bytes in 0-RTT packets) misses some on a loaded
    // machine: when the server's handshake reply beats the client's goroutine writing the request,
    // quic-go sends it in 1-RTT although the session's 0-RTT was accepted (2 of 5 once in CI). It
    // must still see early data.
    expect(rig.takeServerNotEarly()).toBeLessThan(10);
  });

  it('close() ends both processes', async () => {
    const { server, client } = rig.pids;
    expect(alive(server) && alive(client)).toBe(true);
    await rig.close();
    expect(alive(server)).toBe(false);
    expect(alive(client)).toBe(false);
    await expect(rig.exchanges.warmGet()).rejects.toThrow(/not running/);
  });
});
