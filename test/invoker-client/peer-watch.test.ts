import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PeerWatch, type WatchedConnection } from '../../src/invoker-client/peer-watch.js';

/** A connection whose peer answers each PING after `answerMs`, or never once it is dead. */
function fakeConnection(answerMs: number) {
  let packets = 0;
  let dead = false;
  let pings = 0;
  const connection: WatchedConnection = {
    sample: () => ({ packetsReceived: packets, rttMs: 1 }),
    ping: () => {
      pings++;
      if (!dead) setTimeout(() => packets++, answerMs);
    },
  };
  return {
    connection,
    kill: () => {
      dead = true;
    },
    get pings() {
      return pings;
    },
  };
}

describe('PeerWatch (sans-I/O, fake clock)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a busy connection whose peer answers PINGs is never declared dead, however long the function runs silently', () => {
    const peer = fakeConnection(5);
    const onDead = vi.fn();
    const watch = new PeerWatch(peer.connection, { deadPeerTimeoutMs: 1000, keepAliveMs: 0, busy: () => true, onDead, now: () => Date.now() });
    vi.advanceTimersByTime(60_000);
    expect(onDead).not.toHaveBeenCalled();
    expect(peer.pings).toBeGreaterThan(50);
    watch.stop();
  });

  it('a busy connection whose peer went silent is declared dead after the timeout, not before', () => {
    const peer = fakeConnection(5);
    const onDead = vi.fn();
    new PeerWatch(peer.connection, { deadPeerTimeoutMs: 1000, keepAliveMs: 0, busy: () => true, onDead, now: () => Date.now() });
    vi.advanceTimersByTime(3000);
    peer.kill();
    vi.advanceTimersByTime(999);
    expect(onDead).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1000);
    expect(onDead).toHaveBeenCalledTimes(1);
    expect(onDead.mock.calls[0]?.[0]).toBeGreaterThanOrEqual(1000);
  });

  it('an idle connection is PINGed every keepAliveMs of silence and declared dead when the PING goes unanswered', () => {
    const peer = fakeConnection(5);
    let busy = false;
    const onDead = vi.fn();
    const watch = new PeerWatch(peer.connection, { deadPeerTimeoutMs: 1000, keepAliveMs: 5000, busy: () => busy, onDead, now: () => Date.now() });
    vi.advanceTimersByTime(20_000);
    expect(peer.pings).toBeGreaterThanOrEqual(3);
    expect(peer.pings).toBeLessThanOrEqual(5);
    expect(onDead).not.toHaveBeenCalled();
    peer.kill();
    vi.advanceTimersByTime(7_000);
    expect(onDead).toHaveBeenCalledTimes(1);
    // A request on a long-idle connection is watched closely at once.
    busy = true;
    watch.wake();
  });

  it('with keep-alive off an idle connection sends nothing', () => {
    const peer = fakeConnection(5);
    new PeerWatch(peer.connection, { deadPeerTimeoutMs: 1000, keepAliveMs: 0, busy: () => false, onDead: () => undefined, now: () => Date.now() });
    vi.advanceTimersByTime(60_000);
    expect(peer.pings).toBe(0);
  });
});
