import { spawnSync } from 'node:child_process';

/**
 * The paper-figure benchmarks and bench:path (the hop layer by layer), in the order `npm run bench`
 * and `npm run bench:quick` run them; `args` go before the run's own (e.g. `--quick`).
 */
export const paperFigureScripts: ReadonlyArray<{ script: string; what: string; args?: readonly string[] }> = [
  { script: 'bench/link/link-check.ts', what: 'delay link self-check at every delay' },
  { script: 'bench/paper/fig5.ts', what: 'Fig. 5a, 5b, 5c at 500 µs' },
  { script: 'bench/paper/fig5d.ts', what: 'Fig. 5d (1 MiB) at 500 µs' },
  // Issue 17: Fig. 5d on node:dgram and on batched datagram I/O side by side, and 64 MiB over loopback.
  { script: 'bench/paper/fig5d-io.ts', what: 'Fig. 5d (1 MiB) at 500 µs, node:dgram and batched I/O' },
  { script: 'bench/throughput/throughput.ts', what: '64 MiB on one connection over loopback, node:https and qfaas on both I/O paths' },
  { script: 'bench/transport/binding-cost.ts', what: 'one datagram in quiche through its binding, no socket' },
  { script: 'bench/paper/fig7.ts', what: 'Fig. 7, delays 0–3 ms' },
  { script: 'bench/paper/fig8.ts', what: 'Fig. 8, chains of 1–6 at 500 µs' },
  // Without root, --delay-us falls back to loopback (with a message), as the figures do.
  { script: 'bench/path/path.ts', what: 'bench:path, the hop layer by layer at 500 µs', args: ['--delay-us=500'] },
];

/**
 * Runs every paper-figure script in its own process with `args`, one after another; a script that
 * fails ends this process with exit code 1. `onStep(done)` is called before each and after the last.
 */
export function runPaperFigureScripts(args: readonly string[], onStep?: (done: number) => void): void {
  for (const [index, { script, what, args: own = [] }] of paperFigureScripts.entries()) {
    onStep?.(index);
    console.log(`\n[${index + 1}/${paperFigureScripts.length}] ${what} (${[script, ...own, ...args].join(' ')})`);
    const result = spawnSync(process.execPath, ['--import', 'tsx', script, ...own, ...args], { stdio: 'inherit' });
    if (result.status !== 0) {
      console.error(`${script} failed (exit ${result.status ?? result.signal})`);
      process.exit(1);
    }
  }
  onStep?.(paperFigureScripts.length);
}
