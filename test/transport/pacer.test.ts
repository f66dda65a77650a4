import { describe, expect, it } from 'vitest';
import { minBurstDatagrams, Pacer, pacingGranularityMs, pacingMultiplier } from '../../src/transport/quic/pacer.js';

// Powers of two keep the arithmetic exact: 1.25 × 1 MiB / 20 ms = 65 536 bytes per ms.
const mds = 1024;
const cwnd = 1024 * 1024;

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
    const pacer = new Pacer(mds);
    pacer.update(cwnd, 20, 0);
    expect(pacer.rate).toBe(65_536);
    expect(pacer.capacity).toBe(131_072);
  });

  it('lets a full bucket go at once, then one datagram per refill', () => {
    const pacer = new Pacer(mds);
    pacer.update(cwnd, 20, 100);
    let sent = 0;
    while (pacer.canSend(100)) {
      pacer.onSent(mds, 100);
      sent++;
    }
    expect(sent).toBe(128);
    // 1024 bytes at 65 536 bytes per ms: 1/64 ms.
    expect(pacer.nextSendTime(100)).toBe(100 + 1 / 64);
    expect(pacer.canSend(100 + 1 / 128)).toBe(false);
    expect(pacer.canSend(100 + 1 / 64)).toBe(true);
    // A long pause refills no more than the capacity.
    pacer.onSent(mds, 100 + 1 / 64);
    sent = 0;
    while (pacer.canSend(200)) {
      pacer.onSent(mds, 200);
      sent++;
    }
    expect(sent).toBe(128);
  });

  it('never holds less than ten datagrams: a small window on a long path still leaves as its first burst', () => {
    const pacer = new Pacer(1350);
    // 1.25 × 13 500 / 100 ms = 168.75 bytes per ms; two milliseconds of that is below ten datagrams.
    pacer.update(13_500, 100, 0);
    expect(pacer.capacity).toBe(minBurstDatagrams * 1350);
  });

  it('holds a whole congestion window at an RTT up to 2.5 ms: a data-centre path is not paced', () => {
    const pacer = new Pacer(mds);
    for (const rtt of [1, 2]) {
      pacer.update(cwnd, rtt, 0);
      expect(pacer.capacity).toBeGreaterThanOrEqual(cwnd);
    }
    pacer.update(cwnd, 3, 0);
    expect(pacer.capacity).toBeLessThan(cwnd);
  });

  it('an RTT of 0 (below the binding\'s 1 ms resolution) lifts the limit again', () => {
    const pacer = new Pacer(mds);
    pacer.update(cwnd, 20, 0);
    while (pacer.canSend(0)) pacer.onSent(mds, 0);
    pacer.update(cwnd, 0, 0);
    expect(pacer.canSend(0)).toBe(true);
    expect(pacer.nextSendTime(0)).toBe(0);
  });

  it('a smaller window shrinks the bucket at once; a larger one lets it fill further', () => {
    const pacer = new Pacer(mds);
    pacer.update(cwnd, 20, 0);
    pacer.update(cwnd / 4, 20, 0); // 16 384 bytes per ms: capacity 32 768
    let sent = 0;
    while (pacer.canSend(0)) {
      pacer.onSent(mds, 0);
      sent++;
    }
    expect(sent).toBe(32);
    pacer.update(cwnd, 20, 0);
    // Refilled at the new rate, up to the new capacity.
    expect(pacer.nextSendTime(0)).toBe(1 / 64);
    sent = 0;
    while (pacer.canSend(2)) {
      pacer.onSent(mds, 2);
      sent++;
    }
    expect(sent).toBe(128);
  });

  it('wants fresh numbers only after a minimum burst left since the last update', () => {
    const pacer = new Pacer(mds);
    pacer.update(cwnd, 20, 0);
    for (let i = 0; i < minBurstDatagrams - 1; i++) pacer.onSent(mds, 0);
    expect(pacer.wantsUpdate).toBe(false);
    pacer.onSent(mds, 0);
    expect(pacer.wantsUpdate).toBe(true);
    pacer.update(cwnd, 20, 0);
    expect(pacer.wantsUpdate).toBe(false);
  });

  it('a greedy sender never puts more than capacity + rate × T into any window of T ms', () => {
    const pacer = new Pacer(mds);
    pacer.update(cwnd, 20, 0);
    const sentAt: number[] = [];
    let now = 0;
    while (now < 50) {
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
