import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'transport/index': 'src/transport/index.ts',
    'zero-rtt/index': 'src/zero-rtt/index.ts',
    'cli/qfaas': 'src/cli/qfaas.ts',
  },
  format: ['esm'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  splitting: true,
});
