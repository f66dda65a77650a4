/**
 * npm run bench:quick — a reduced run of every paper-figure benchmark and of bench:path
 * (bench/lib/suite.ts), for a smoke check (CI runs it): it prints, writes nothing, and does not gate on
 * numbers. A benchmark that crashes fails it.
 */
import { runPaperFigureScripts } from './lib/suite.js';

const started = performance.now();
runPaperFigureScripts(['--quick']);
console.log(`\nbench:quick finished in ${((performance.now() - started) / 1000).toFixed(1)} s`);
