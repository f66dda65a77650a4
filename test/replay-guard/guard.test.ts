import fc from 'fast-check';
import { runWeb } from '../helpers/web-guard.js';
import { describe, expect, it } from 'vitest';
import {
  earlyNonceHeader,
  earlyTimestampHeader,
  isEarlyDataEligible,
  markEarlyRequest,
  MemoryStrikeRegister,
  ReplayGuard,
  StrikeRegisterUnavailableError,
  type StrikeRegister,
  type ZeroRttPolicy,
} from '../../src/replay-guard/index.js';
import { fillWithNonces } from '../helpers/nonces.js';

const methods = ['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE', 'POST', 'PATCH', 'CONNECT', 'PURGE'];

describe('isEarlyDataEligible (RFC 9110 section 9.2)', () => {
  it('property: the policies nest (never ⊂ safe ⊂ idempotent ⊂ always), case-insensitively', () => {
    fc.assert(
      fc.property(fc.constantFrom(...methods), fc.boolean(), fc.boolean(), (method, lower, withKey) => {
        const headers = new Headers(withKey ? { 'idempotency-key': 'k-1' } : {});
        const m = lower ? method.toLowerCase() : method;
        const verdict = (policy: ZeroRttPolicy) => isEarlyDataEligible(m, headers, policy);
        expect(verdict('never')).toBe(false);
        expect(verdict('always')).toBe(true);
        if (verdict('safe')) expect(verdict('idempotent')).toBe(true);
        expect(verdict('safe')).toBe(['GET', 'HEAD', 'OPTIONS'].includes(method));
        expect(verdict('idempotent')).toBe(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE'].includes(method) || withKey);
      }),
    );
  });

  it('reads Idempotency-Key from Headers, records and pairs, and ignores an empty one', () => {
    expect(isEarlyDataEligible('POST', { 'Idempotency-Key': 'abc' })).toBe(true);
    expect(isEarlyDataEligible('POST', [['idempotency-key', 'abc']])).toBe(true);
    expect(isEarlyDataEligible('POST', new Headers({ 'idempotency-key': '  ' }))).toBe(false);
    expect(isEarlyDataEligible('POST', {})).toBe(false);
  });
});

describe('MemoryStrikeRegister', () => {
  it('remembers a nonce for its ttl, then forgets it (time buckets)', () => {
    let now = 1_000_000;
    const register = new MemoryStrikeRegister({ now: () => now, bucketMs: 100 });
    expect(register.insert('n1', 1000)).toBe(true);
    expect(register.insert('n1', 1000)).toBe(false);
    now += 900;
    expect(register.insert('n1', 1000)).toBe(false);
    now += 300;
    expect(register.insert('n1', 1000)).toBe(true);
    expect(register.size).toBe(1);
  });

  it('is bounded: when full it refuses (and the guard falls back to the handshake)', () => {
    const register = new MemoryStrikeRegister({ maxEntries: 3 });
    for (const nonce of ['a', 'b', 'c']) expect(register.insert(nonce, 10_000)).toBe(true);
    expect(() => register.insert('d', 10_000)).toThrow(StrikeRegisterUnavailableError);
    expect(register.insert('a', 10_000)).toBe(false);
  });

  it('holds 1,000,000 live nonces within 100 MB', () => {
    const collect = (globalThis as { gc?: () => void }).gc;
    collect?.();
    const before = process.memoryUsage().heapUsed;
    const register = new MemoryStrikeRegister();
    fillWithNonces(register, 1_000_000, 10_000);
    collect?.();
    const used = process.memoryUsage().heapUsed - before;
    expect(register.size).toBe(1_000_000);
    expect(used).toBeLessThan(100 * 1024 * 1024);
  }, 60_000);
});

describe('ReplayGuard decisions', () => {
  const early = (method = 'GET', headers: Record<string, string> = {}) => {
    const request = new Request('https://w/path', { method, headers, ...(method === 'GET' ? {} : { body: 'b' }) });
    return request;
  };

  it('a fresh marked request runs; the same nonce again is a replay (425); a stale one is refused', async () => {
    let now = 5_000_000;
    const guard = new ReplayGuard({ now: () => now, freshnessWindowMs: 10_000 });
    const first = early();
    markEarlyRequest(first.headers, now);
    expect(await guard.check(first, true)).toEqual({ action: 'execute' });
    const replay = early('GET', { [earlyNonceHeader]: first.headers.get(earlyNonceHeader) as string, [earlyTimestampHeader]: String(now) });
    const verdict = await guard.check(replay, true);
    expect(verdict.action).toBe('respond');
    expect(verdict.action === 'respond' && verdict.response.statusCode).toBe(425);
    const stale = early();
    markEarlyRequest(stale.headers, now - 10_001);
    expect((await guard.check(stale, true)).action).toBe('respond');
    now += 1;
    expect(guard.metrics()).toMatchObject({ earlyAccepted: 1, earlyRejected: 2, replaysDetected: 2 });
  });

  it('early data stamped before the guard was created (before the process started) is a replay: 425', async () => {
    let now = 7_000_000;
    const guard = new ReplayGuard({ now: () => now });
    const captured = early();
    markEarlyRequest(captured.headers, now - 1);
    const verdict = await guard.check(captured, true);
    expect(verdict.action === 'respond' && verdict.response.statusCode).toBe(425);
    const honest = early();
    now += 5;
    markEarlyRequest(honest.headers, now);
    expect(await guard.check(honest, true)).toEqual({ action: 'execute' });
    expect(guard.metrics()).toMatchObject({ replaysDetected: 1, earlyAccepted: 1 });
    // An explicit floor replaces the default.
    const open = new ReplayGuard({ now: () => now, notBefore: 0 });
    const old = early();
    markEarlyRequest(old.headers, now - 1000);
    expect(await open.check(old, true)).toEqual({ action: 'execute' });
  });

  it('requests not in early data always run; unmarked or ineligible early ones wait (or get 425 when configured)', async () => {
    const guard = new ReplayGuard();
    expect(await guard.check(early('POST'), false)).toEqual({ action: 'execute' });
    expect(await guard.check(early('GET'), true)).toEqual({ action: 'defer' });
    const post = early('POST');
    markEarlyRequest(post.headers);
    expect(await guard.check(post, true)).toEqual({ action: 'defer' });
    const strict = new ReplayGuard({ ineligible: 'reject' });
    const verdict = await strict.check(post, true);
    expect(verdict.action === 'respond' && verdict.response.statusCode).toBe(425);
  });

  it('a register that throws makes early requests wait, never run', async () => {
    const broken: StrikeRegister = { insert: () => Promise.reject(new Error('down')) };
    const guard = new ReplayGuard({ strikeRegister: broken });
    const request = early();
    markEarlyRequest(request.headers);
    expect(await guard.check(request, true)).toEqual({ action: 'defer' });
  });

  it('Idempotency-Key: executed once; a repeat gets the stored response, or 409 while the first runs', async () => {
    const guard = new ReplayGuard();
    let executions = 0;
    let release: (() => void) | undefined;
    const execute = async () => {
      executions++;
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      return new Response(`charged #${executions}`, { status: 201, headers: { 'x-order': '7' } });
    };
    const post = () => new Request('https://w/charge', { method: 'POST', body: 'card', headers: { 'idempotency-key': 'order-7' } });
    const first = runWeb(guard, post(), execute);
    await new Promise((resolve) => setImmediate(resolve));
    const whileRunning = await runWeb(guard, post(), execute);
    expect(whileRunning.status).toBe(409);
    release?.();
    const firstResponse = await first;
    expect(await firstResponse.text()).toBe('charged #1');
    const repeat = await runWeb(guard, post(), execute);
    expect(repeat.status).toBe(201);
    expect(repeat.headers.get('idempotent-replayed')).toBe('true');
    expect(repeat.headers.get('x-order')).toBe('7');
    expect(await repeat.text()).toBe('charged #1');
    expect(executions).toBe(1);
    // Safe methods and requests without a key are not cached.
    const get = await runWeb(guard, new Request('https://w/charge', { headers: { 'idempotency-key': 'order-7' } }), async () => new Response('fresh'));
    expect(await get.text()).toBe('fresh');
  });
});
