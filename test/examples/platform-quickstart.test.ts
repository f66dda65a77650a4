import { describe, expect, it } from 'vitest';
import { runToEnd, spawnTs } from '../helpers/processes.js';

describe('examples/platform-quickstart.ts (the README\'s platform quickstart)', () => {
  it('runs as written: CA, gateway, generator, worker processes, a 0-RTT first request through a chain, clean shutdown', async () => {
    // runToEnd resolves only on exit code 0: the workers exited on SIGTERM and nothing held the platform open.
    const out = await runToEnd(spawnTs('examples/platform-quickstart.ts', []), 30_000);
    expect(out.trim().split('\n').at(-1)).toBe('hello, WORLD! (early data: true)');
  }, 40_000);
});
