import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';
import { longTestFiles, systemTestFiles } from './test/scope.js';

/** `npm run test:unit`: what needs nothing beyond `npm install` and runs in seconds (test/scope.ts). */
export default mergeConfig(
  base,
  defineConfig({
    test: {
      exclude: [...systemTestFiles, ...longTestFiles, '**/node_modules/**'],
    },
  }),
);
