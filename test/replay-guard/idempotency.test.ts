import { describe, expect, it } from 'vitest';
import { keyedPost, runWeb } from '../helpers/web-guard.js';
import { MemoryIdempotencyStore, ReplayGuard } from '../../src/replay-guard/index.js';

const post = keyedPost;

describe('MemoryIdempotencyStore', () => {
  it('claims a key once per window, keeps the response, forgets it after the window, and is bounded', () => {
    let now = 1_000;
    const store = new MemoryIdempotencyStore({ maxEntries: 2, now: () => now });
    expect(store.claim('a', 100)).toBeUndefined();
    expect(store.claim('a', 100)).toEqual({ state: 'running' });
    store.complete('a', { status: 201, headers: [], body: undefined }, 100);
    expect(store.claim('a', 100)).toEqual({ state: 'done', response: { status: 201, headers: [], body: undefined } });
    now += 101;
    expect(store.claim('a', 100)).toBeUndefined();
    store.claim('b', 100);
    store.claim('c', 100);
    expect(store.size).toBe(2);
  });
});

/**
 * Issue: the Idempotency-Key cache lived only in a worker's memory, so a restarted worker, or
 * another replica, ran a repeated key again. With a RedisIdempotencyStore every guard that shares
 * the Redis answers a repeat from the stored response.
 */
