/** The paper-figure benchmarks, in the order `npm run bench` and `npm run bench:quick` run them. */
export const paperFigureScripts: ReadonlyArray<{ script: string; what: string }> = [
  { script: 'bench/link-check.ts', what: 'delay link self-check at every delay' },
  { script: 'bench/fig5.ts', what: 'Fig. 5a, 5b, 5c at 500 µs' },
  { script: 'bench/fig5d.ts', what: 'Fig. 5d (1 MiB) at 500 µs' },
  { script: 'bench/fig7.ts', what: 'Fig. 7, delays 0–3 ms' },
  { script: 'bench/fig8.ts', what: 'Fig. 8, chains of 1–6 at 500 µs' },
];
