/**
 * npm run bench — every paper figure (bench/suite.ts) over the delay link, then the charts and the
 * summary at the head of docs/performance.md. Each benchmark runs in its own process; a failing
 * one stops the run. Took 3.7 minutes on the machine in docs/performance.md.
 */
import { spawnSync } from 'node:child_process';
import { writePaperDocs } from './paper-docs.js';
import { progress } from './report.js';
import { paperFigureScripts } from './suite.js';

const started = performance.now();
for (const [index, { script, what }] of paperFigureScripts.entries()) {
  progress('npm run bench', index, paperFigureScripts.length);
  console.log(`\n[${index + 1}/${paperFigureScripts.length}] ${what} (${script})`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', script], { stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`${script} failed (exit ${result.status ?? result.signal})`);
    process.exit(1);
  }
}
progress('npm run bench', paperFigureScripts.length, paperFigureScripts.length);

await writePaperDocs();
console.log(`\nnpm run bench finished in ${((performance.now() - started) / 60_000).toFixed(1)} min; charts in docs/bench/, summary in docs/performance.md`);
