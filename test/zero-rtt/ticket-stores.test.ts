import { describe, expect, it } from 'vitest';
import { decodeStoredSession, encodeStoredSession, FailSafeTicketStore, MemoryTicketStore, type TicketStore } from '../../src/zero-rtt/index.js';
import { label, session } from '../helpers/sessions.js';

describe('MemoryTicketStore', () => {
  it('keeps the most recently used entries up to maxEntries', () => {
    const store = new MemoryTicketStore({ maxEntries: 2 });
    store.set('a', session('A'));
    store.set('b', session('B'));
    expect(label(store.get('a'))).toBe('A'); // a is now the most recent
    store.set('c', session('C'));
    expect(store.get('b')).toBeUndefined();
    expect(label(store.get('a'))).toBe('A');
    expect(label(store.get('c'))).toBe('C');
    expect(store.size).toBe(2);
  });

  it('forgets sessions at their own expiry or the TTL, whichever comes first', () => {
    let now = 1_000_000;
    const store = new MemoryTicketStore({ ttlMs: 10_000, now: () => now });
    store.set('short', session('S', now + 5_000));
    store.set('long', session('L', now + 60_000));
    now += 6_000;
    expect(store.get('short')).toBeUndefined();
    expect(label(store.get('long'))).toBe('L');
    now += 5_000;
    expect(store.get('long')).toBeUndefined();
  });

  it('a newer session replaces the stored one; delete removes it; maxEntries 0 stores nothing', () => {
    const store = new MemoryTicketStore();
    store.set('w', session('old'));
    store.set('w', session('new'));
    expect(label(store.get('w'))).toBe('new');
    store.delete('w');
    expect(store.get('w')).toBeUndefined();
    const disabled = new MemoryTicketStore({ maxEntries: 0 });
    disabled.set('w', session('x'));
    expect(disabled.get('w')).toBeUndefined();
  });
});

describe('FailSafeTicketStore', () => {
  it('turns a throwing or slow store into "no session" and counts the failures', async () => {
    const errors: string[] = [];
    const broken: TicketStore = {
      get: () => {
        throw new Error('disk on fire');
      },
      set: () => Promise.reject(new Error('nope')),
      delete: () => new Promise(() => undefined),
    };
    const store = new FailSafeTicketStore(broken, { timeoutMs: 50, onError: (e) => errors.push(`${e.operation}: ${e.message}`) });
    expect(await store.get('w')).toBeUndefined();
    await store.set('w', session('x'));
    const started = performance.now();
    await store.delete('w');
    expect(performance.now() - started).toBeLessThan(1000);
    expect(store.failures).toBe(3);
    expect(errors[0]).toContain('disk on fire');
    expect(errors[2]).toContain('no answer within 50 ms');
  });

  it('does not return an expired session, and deletes it', async () => {
    const inner = new MemoryTicketStore({ now: () => 0 });
    inner.set('w', session('x', 1_000));
    const store = new FailSafeTicketStore(inner, { now: () => 2_000 });
    expect(await store.get('w')).toBeUndefined();
    await new Promise((resolve) => setImmediate(resolve));
    expect(inner.get('w')).toBeUndefined();
  });
});

describe('encodeStoredSession / decodeStoredSession', () => {
  it('round-trip a session with its HTTP/3 settings, an unlimited header size included (JSON has no Infinity)', () => {
    for (const maxFieldSectionSize of [65_536, Number.POSITIVE_INFINITY]) {
      const stored = { ...session('ticket'), settings: { maxFieldSectionSize, qpackMaxTableCapacity: 0, qpackBlockedStreams: 0 } };
      const text = encodeStoredSession('w1.fn.qfaas.internal', stored);
      expect(text).not.toContain('Infinity');
      const decoded = decodeStoredSession(text);
      expect(decoded.serverName).toBe('w1.fn.qfaas.internal');
      expect(label(decoded.session)).toBe('ticket');
      expect(decoded.session.settings).toEqual(stored.settings);
    }
  });

  it('refuse settings of the wrong shape, naming the field: they would bound what the client sends in 0-RTT', () => {
    const text = encodeStoredSession('w1.fn.qfaas.internal', { ...session('ticket'), settings: { maxFieldSectionSize: 100, qpackMaxTableCapacity: 0, qpackBlockedStreams: 0 } });
    const good = JSON.parse(text) as { settings: Record<string, unknown> };
    const hostile: unknown[] = [
      'big',
      null,
      { ...good.settings, maxFieldSectionSize: -1 },
      { ...good.settings, maxFieldSectionSize: 1.5 },
      { ...good.settings, maxFieldSectionSize: '65536' },
      { ...good.settings, qpackMaxTableCapacity: -4 },
      { maxFieldSectionSize: 100 },
    ];
    for (const settings of hostile) {
      expect(() => decodeStoredSession(JSON.stringify({ ...good, settings }))).toThrowError(expect.objectContaining({ code: 'QFAAS_INVALID_CREDENTIALS', field: 'settings' }));
    }
  });
});
