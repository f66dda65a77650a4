/**
 * npm run bench:quick — a reduced run of every paper-figure benchmark, for a smoke check (CI runs
 * it): it prints, writes nothing, and does not gate on numbers. A benchmark that crashes fails it.
 */
import { spawnSync } from 'node:child_process';
import { isRoot } from './link/delay-link.js';

const overLink = isRoot() ? ['--delay-us=500'] : [];
const runs: Array<[string, string[]]> = [
  ['bench/link-check.ts', []],
  ['bench/hop.ts', overLink],
  ['bench/fig5d.ts', overLink],
  ['bench/fig7.ts', []],
];
const started = performance.now();
for (const [index, [script, args]] of runs.entries()) {
  console.log(`\n[${index + 1}/${runs.length}] ${script} --quick ${args.join(' ')}`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', script, '--quick', ...args], { stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`${script} failed (exit ${result.status ?? result.signal})`);
    process.exit(1);
  }
}
console.log(`\nbench:quick finished in ${((performance.now() - started) / 1000).toFixed(1)} s`);
