import { describe, expect, it } from 'vitest';
import { minBurstBytes, minPacedRttMs, Pacer, pacingGranularityMs, pacingMultiplier, pacingSettleRtts } from '../../src/transport/quic/pacer.js';

// Powers of two keep the arithmetic exact: 1.25 × 1 MiB / 20 ms = 65 536 bytes per ms.
const mds = 1024;
const cwnd = 1024 * 1024;

/** A pacer that has seen `rtt` for the settling time; returns it and the time it is at. */
function settled(window: number, rtt: number, size = mds): { pacer: Pacer; at: number } {
  const pacer = new Pacer(size);
  pacer.update(window, rtt, 0);
  const at = pacingSettleRtts * rtt;
  pacer.update(window, rtt, at);
  return { pacer, at };
}

const drain = (pacer: Pacer, now: number, size = mds): number => {
  let sent = 0;
  while (pacer.canSend(now)) {
    pacer.onSent(size, now);
    sent++;
  }
  return sent;
};

describe('Pacer (sans-I/O)', () => {
  it('limits nothing before an RTT sample', () => {
    const pacer = new Pacer(mds);
    for (let i = 0; i < 10_000; i++) {
      expect(pacer.canSend(0)).toBe(true);
      pacer.onSent(mds, 0);
    }
    expect(pacer.nextSendTime(0)).toBe(0);
    expect(pacer.rate).toBe(Number.POSITIVE_INFINITY);
  });

  it('fills at 1.25 × cwnd / srtt and holds two milliseconds of that', () => {
    expect(pacingMultiplier).toBe(1.25);
    expect(pacingGranularityMs).toBe(2);
    const { pacer } = settled(cwnd, 20);
    expect(pacer.rate).toBe(65_536);
    expect(pacer.capacity).toBe(131_072);
  });

  it('lets a full bucket go at once, then one datagram per refill', () => {
    const { pacer, at } = settled(cwnd, 20);
    expect(drain(pacer, at)).toBe(128);
    // 1024 bytes at 65 536 bytes per ms: 1/64 ms.
    expect(pacer.nextSendTime(at)).toBe(at + 1 / 64);
    expect(pacer.canSend(at + 1 / 128)).toBe(false);
    expect(pacer.canSend(at + 1 / 64)).toBe(true);
    // A long pause refills no more than the capacity.
    pacer.onSent(mds, at + 1 / 64);
    expect(drain(pacer, at + 100)).toBe(128);
  });

  it('never holds less than 64 KiB (one GSO message)', () => {
    expect(minBurstBytes).toBe(65_536);
    // 1.25 × 200 000 / 100 ms = 2500 bytes per ms; two milliseconds of that is far below 64 KiB.
    const { pacer, at } = settled(200_000, 100, 1350);
    expect(pacer.rate).toBe(2500);
    expect(pacer.capacity).toBe(minBurstBytes);
    expect(drain(pacer, at, 1350)).toBe(48);
  });

  it('limits nothing below a 10 ms RTT, nor while the bucket would hold a whole window', () => {
    const rateAt = (window: number, rtt: number) => settled(window, rtt).pacer.rate;
    expect(minPacedRttMs).toBe(10);
    expect(rateAt(cwnd * 64, 9)).toBe(Number.POSITIVE_INFINITY);
    expect(rateAt(cwnd * 64, 1)).toBe(Number.POSITIVE_INFINITY);
    expect(rateAt(cwnd * 8, 10)).toBe(cwnd);
    // A window up to 64 KiB always fits in the bucket.
    expect(rateAt(64 * 1024, 40)).toBe(Number.POSITIVE_INFINITY);
    expect(rateAt(64 * 1024 + 32, 40)).toBe(2049);
    // At 20 ms two milliseconds of sending is an eighth of a window, so the 64 KiB floor decides.
    expect(rateAt(128 * 1024 + 256, 20)).toBe(8208);
  });

  it('starts limiting only once the RTT has read 10 ms or more for two RTTs; a pause that passes never starts it', () => {
    expect(pacingSettleRtts).toBe(2);
    const pacer = new Pacer(mds);
    pacer.update(cwnd, 20, 0);
    expect(pacer.rate).toBe(Number.POSITIVE_INFINITY);
    pacer.update(cwnd, 20, 39);
    expect(pacer.rate).toBe(Number.POSITIVE_INFINITY);
    pacer.update(cwnd, 20, 40);
    expect(pacer.rate).toBe(65_536);
    // A handshake during a peer's pause: 21 ms at first, then 3 ms as the path's own samples come in.
    const paused = new Pacer(mds);
    paused.update(cwnd, 21, 0);
    paused.update(cwnd, 3, 10);
    paused.update(cwnd, 21, 100);
    expect(paused.rate).toBe(Number.POSITIVE_INFINITY);
  });

  it('paces by the smallest smoothed RTT seen, not the latest (queues in the endpoints raise it)', () => {
    const { pacer, at } = settled(cwnd, 40);
    expect(pacer.rate).toBe(32_768);
    pacer.update(cwnd, 20, at);
    expect(pacer.rate).toBe(65_536);
    pacer.update(cwnd, 80, at);
    expect(pacer.rate).toBe(65_536);
    // A window the bucket now holds whole lifts the limit; a larger one brings a full bucket back.
    pacer.update(cwnd / 16, 20, at);
    expect(pacer.rate).toBe(Number.POSITIVE_INFINITY);
    pacer.update(cwnd, 20, at);
    expect(pacer.capacity).toBe(131_072);
    expect(drain(pacer, at)).toBe(128);
  });

  it("an RTT seen below 10 ms (0: below the binding's 1 ms resolution) lifts the limit for good", () => {
    for (const low of [0, 9]) {
      const { pacer, at } = settled(cwnd, 20);
      drain(pacer, at);
      pacer.update(cwnd, low, at);
      expect(pacer.canSend(at)).toBe(true);
      expect(pacer.nextSendTime(at)).toBe(at);
      pacer.update(cwnd, 20, at + 1000);
      expect(pacer.rate).toBe(Number.POSITIVE_INFINITY);
    }
  });

  it('a smaller window shrinks the bucket at once; a larger one lets it fill further', () => {
    const { pacer, at } = settled(cwnd, 10); // 131 072 bytes per ms: capacity 262 144
    pacer.update(cwnd / 4, 10, at); // 32 768 bytes per ms: capacity 65 536
    expect(drain(pacer, at)).toBe(64);
    pacer.update(cwnd, 10, at);
    // Refilled at the new rate, up to the new capacity.
    expect(pacer.nextSendTime(at)).toBe(at + 1 / 128);
    expect(drain(pacer, at + 2)).toBe(256);
  });

  it('wants numbers at first, then only after a minimum burst left since the last update, and never below 10 ms', () => {
    const pacer = new Pacer(mds);
    expect(pacer.wantsUpdate).toBe(true);
    pacer.update(cwnd, 20, 0);
    for (let i = 0; i < minBurstBytes / mds - 1; i++) pacer.onSent(mds, 0);
    expect(pacer.wantsUpdate).toBe(false);
    pacer.onSent(mds, 0);
    expect(pacer.wantsUpdate).toBe(true);
    pacer.update(cwnd, 20, 0);
    expect(pacer.wantsUpdate).toBe(false);
    pacer.update(cwnd, 1, 0);
    for (let i = 0; i < 1000; i++) pacer.onSent(mds, 0);
    expect(pacer.wantsUpdate).toBe(false);
  });

  it('a greedy sender never puts more than capacity + rate × T into any window of T ms', () => {
    const { pacer, at } = settled(cwnd, 20);
    const sentAt: number[] = [];
    let now = at;
    while (now < at + 50) {
      if (pacer.canSend(now)) {
        pacer.onSent(mds, now);
        sentAt.push(now);
      } else {
        now = pacer.nextSendTime(now);
      }
    }
    for (const windowMs of [0.5, 2, 10]) {
      let first = 0;
      for (let last = 0; last < sentAt.length; last++) {
        while ((sentAt[last] as number) - (sentAt[first] as number) > windowMs) first++;
        expect((last - first + 1) * mds).toBeLessThanOrEqual(pacer.capacity + pacer.rate * windowMs);
      }
    }
    // ... and keeps up with the rate.
    expect(sentAt.length * mds).toBeGreaterThanOrEqual(pacer.rate * 49);
  });
});
