import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'transport/index': 'src/transport/index.ts',
    'zero-rtt/index': 'src/zero-rtt/index.ts',
    'invoker-client/index': 'src/invoker-client/index.ts',
    'handler-server/index': 'src/handler-server/index.ts',
    'replay-guard/index': 'src/replay-guard/index.ts',
    'chain/index': 'src/chain/index.ts',
    'cli/qfaas': 'src/cli/qfaas.ts',
    'cli/qfaas-watchdog': 'src/cli/qfaas-watchdog.ts',
  },
  format: ['esm'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  splitting: true,
});
