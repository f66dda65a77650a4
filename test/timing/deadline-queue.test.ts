import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeadlineQueue } from '../../src/timing/deadline-queue.js';
import { mulberry32 } from '../../interop/prng.js';

/**
 * DeadlineQueue under fake timers: `setTimeout`, `clearTimeout` and `performance.now()` are all
 * driven by the test, so the order and count of firings are exact and nothing depends on load.
 */
describe('DeadlineQueue', () => {
  let queue: DeadlineQueue;

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    queue = new DeadlineQueue();
  });

  afterEach(() => {
    queue.clear();
    // Spies made while the fake timers were installed wrap the fake setTimeout: restore them first.
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  it('fires deadlines in order of due time, whatever order they were added in', () => {
    const fired: string[] = [];
    queue.add(300, () => fired.push('c'));
    queue.add(100, () => fired.push('a'));
    queue.add(200, () => fired.push('b'));
    queue.add(250, () => fired.push('b2'));
    expect(queue.size).toBe(4);
    vi.advanceTimersByTime(99);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual(['a']);
    vi.advanceTimersByTime(150);
    expect(fired).toEqual(['a', 'b', 'b2']);
    vi.advanceTimersByTime(1000);
    expect(fired).toEqual(['a', 'b', 'b2', 'c']);
    expect(queue.size).toBe(0);
  });

  it('calls each callback once, even when the timer fires again later', () => {
    const callback = vi.fn();
    queue.add(10, callback);
    vi.advanceTimersByTime(10_000);
    queue.add(10, () => undefined);
    vi.advanceTimersByTime(10_000);
    expect(callback).toHaveBeenCalledTimes(1);
  });

  it('a cancelled deadline never fires; cancel is idempotent and harmless after firing', () => {
    const fired: string[] = [];
    const a = queue.add(100, () => fired.push('a'));
    const b = queue.add(200, () => fired.push('b'));
    queue.add(300, () => fired.push('c'));
    b.cancel();
    b.cancel();
    expect(queue.size).toBe(2);
    vi.advanceTimersByTime(150);
    expect(fired).toEqual(['a']);
    // Cancelling one that already fired changes nothing (the pending count stays right).
    a.cancel();
    expect(queue.size).toBe(1);
    vi.advanceTimersByTime(1000);
    expect(fired).toEqual(['a', 'c']);
    expect(queue.size).toBe(0);
  });

  it('cancelling the earliest deadline: the next one still fires at its own time', () => {
    const fired: string[] = [];
    const first = queue.add(50, () => fired.push('first'));
    queue.add(500, () => fired.push('second'));
    first.cancel();
    vi.advanceTimersByTime(499);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual(['second']);
  });

  it('re-arms its single timer for an earlier deadline, and for the next one after each firing', () => {
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    const fired: number[] = [];
    queue.add(1000, () => fired.push(1000));
    expect(setTimeoutSpy).toHaveBeenCalledTimes(1);
    // Later deadlines ride on the armed timer: no new timer.
    queue.add(2000, () => fired.push(2000));
    queue.add(3000, () => fired.push(3000));
    expect(setTimeoutSpy).toHaveBeenCalledTimes(1);
    // An earlier one re-arms it.
    queue.add(10, () => fired.push(10));
    expect(setTimeoutSpy).toHaveBeenCalledTimes(2);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(10);
    expect(fired).toEqual([10]);
    // After firing, exactly one timer is armed for what remains.
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(990);
    expect(fired).toEqual([10, 1000]);
    vi.advanceTimersByTime(2000);
    expect(fired).toEqual([10, 1000, 2000, 3000]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a deadline added from inside a callback is scheduled (also one due at once)', () => {
    const fired: string[] = [];
    queue.add(100, () => {
      fired.push('outer');
      queue.add(0, () => fired.push('immediate'));
      queue.add(100, () => fired.push('later'));
    });
    vi.advanceTimersByTime(100);
    vi.advanceTimersByTime(0);
    expect(fired).toEqual(['outer', 'immediate']);
    vi.advanceTimersByTime(100);
    expect(fired).toEqual(['outer', 'immediate', 'later']);
  });

  it('a callback may cancel another pending deadline', () => {
    const fired: string[] = [];
    const victim = queue.add(200, () => fired.push('victim'));
    queue.add(100, () => {
      fired.push('canceller');
      victim.cancel();
    });
    vi.advanceTimersByTime(1000);
    expect(fired).toEqual(['canceller']);
    expect(queue.size).toBe(0);
  });

  it('clear() cancels everything and disarms the timer', () => {
    const callback = vi.fn();
    for (let i = 0; i < 10; i++) queue.add(10 * (i + 1), callback);
    expect(vi.getTimerCount()).toBe(1);
    queue.clear();
    expect(queue.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(10_000);
    expect(callback).not.toHaveBeenCalled();
    // Usable again after clear().
    queue.add(5, callback);
    vi.advanceTimersByTime(5);
    expect(callback).toHaveBeenCalledTimes(1);
  });

  it('10,000 deadlines at random times fire in order; the half cancelled never fire and are swept', () => {
    const random = mulberry32(7);
    const fired: number[] = [];
    const entries = Array.from({ length: 10_000 }, (_, i) => {
      const delay = Math.floor(random() * 5_000);
      return { i, delay, deadline: queue.add(delay, () => fired.push(i)) };
    });
    // One timer for all of them.
    expect(vi.getTimerCount()).toBe(1);
    const cancelled = new Set<number>();
    for (const entry of entries) {
      if (random() < 0.5) {
        entry.deadline.cancel();
        cancelled.add(entry.i);
      }
    }
    expect(queue.size).toBe(10_000 - cancelled.size);
    vi.advanceTimersByTime(5_001);
    expect(queue.size).toBe(0);
    expect(fired).toHaveLength(10_000 - cancelled.size);
    expect(fired.some((i) => cancelled.has(i))).toBe(false);
    const delays = fired.map((i) => (entries[i] as { delay: number }).delay);
    for (let k = 1; k < delays.length; k++) expect(delays[k]).toBeGreaterThanOrEqual(delays[k - 1] as number);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('cancelling every deadline (past the sweep threshold): nothing fires and no timer is left once it ran', () => {
    const callback = vi.fn();
    const deadlines = Array.from({ length: 200 }, (_, i) => queue.add(1000 + i, callback));
    for (const deadline of deadlines) deadline.cancel();
    expect(queue.size).toBe(0);
    // Cancelled entries below the sweep threshold may keep the timer armed; it fires nothing.
    vi.advanceTimersByTime(2000);
    expect(callback).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
    // And new ones still work.
    queue.add(10, callback);
    vi.advanceTimersByTime(10);
    expect(callback).toHaveBeenCalledOnce();
  });

  it('mixed adds and cancels over time keep size exact and fire only live deadlines', () => {
    const random = mulberry32(99);
    const live = new Map<number, { cancel(): void }>();
    const fired = new Set<number>();
    let next = 0;
    for (let round = 0; round < 50; round++) {
      for (let k = 0; k < 40; k++) {
        const id = next++;
        live.set(
          id,
          queue.add(Math.floor(random() * 300), () => {
            fired.add(id);
            live.delete(id);
          }),
        );
      }
      for (const [id, deadline] of [...live]) {
        if (random() < 0.3) {
          deadline.cancel();
          live.delete(id);
        }
      }
      expect(queue.size).toBe(live.size);
      vi.advanceTimersByTime(Math.floor(random() * 100));
      expect(queue.size).toBe(live.size);
    }
    vi.advanceTimersByTime(1000);
    expect(live.size).toBe(0);
    expect(queue.size).toBe(0);
    expect(fired.size).toBeGreaterThan(0);
  });
});

describe('DeadlineQueue timer (real timers)', () => {
  it("its timer is unref'd: a pending deadline does not keep the process alive", async () => {
    const timers: NodeJS.Timeout[] = [];
    const original = globalThis.setTimeout;
    const spy = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((callback: () => void, ms?: number) => {
      const timer = original(callback, ms);
      timers.push(timer);
      return timer;
    }) as typeof setTimeout);
    const queue = new DeadlineQueue();
    try {
      let fired = false;
      queue.add(60_000, () => undefined);
      queue.add(5, () => {
        fired = true;
      });
      expect(timers.length).toBeGreaterThan(0);
      for (const timer of timers) expect(timer.hasRef()).toBe(false);
      spy.mockRestore();
      // Unref'd, yet it still fires while the process is alive for other reasons.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(fired).toBe(true);
    } finally {
      spy.mockRestore();
      queue.clear();
    }
  });
});
