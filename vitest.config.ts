import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = fileURLToPath(new URL('./src/', import.meta.url));

export default defineConfig({
  resolve: {
    // Examples import the package by name, as users do; in tests that name is the source tree.
    alias: [
      { find: /^qfaas\/(.+)$/, replacement: `${src}$1/index.ts` },
      { find: /^qfaas$/, replacement: `${src}index.ts` },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Builds the batched UDP addon, the endpoints' default I/O, if it is missing or stale.
    globalSetup: ['test/native-build.setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // UDP tests on 2 cores: a few files at a time keep timing-sensitive handshakes honest.
    maxWorkers: 2,
    minWorkers: 1,
    // The soak test collects garbage before it reads memory, so that GC timing is not mistaken for growth.
    poolOptions: { forks: { execArgv: ['--expose-gc'] } },
  },
});
