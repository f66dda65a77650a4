import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // UDP tests on 2 cores: a few files at a time keep timing-sensitive handshakes honest.
    maxWorkers: 2,
    minWorkers: 1,
    // The soak test collects garbage before it reads memory, so that GC timing is not mistaken for growth.
    poolOptions: { forks: { execArgv: ['--expose-gc'] } },
  },
});
