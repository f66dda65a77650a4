/**
 * npm run bench:quick — a reduced run of every paper-figure benchmark (bench/suite.ts), for a
 * smoke check (CI runs it): it prints, writes nothing, and does not gate on numbers. A benchmark
 * that crashes fails it.
 */
import { spawnSync } from 'node:child_process';
import { paperFigureScripts } from './suite.js';

const started = performance.now();
for (const [index, { script, what }] of paperFigureScripts.entries()) {
  console.log(`\n[${index + 1}/${paperFigureScripts.length}] ${what} (${script} --quick)`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', script, '--quick'], { stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`${script} failed (exit ${result.status ?? result.signal})`);
    process.exit(1);
  }
}
console.log(`\nbench:quick finished in ${((performance.now() - started) / 1000).toFixed(1)} s`);
