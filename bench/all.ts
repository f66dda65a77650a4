/**
 * npm run bench — every paper figure and bench:path (bench/lib/suite.ts) over the delay link, then the
 * charts and the summary at the head of docs/performance.md. Each benchmark runs in its own
 * process; a failing one stops the run. Took 3.7 minutes on the machine in docs/performance.md
 * before bench:path joined it (about 3 more).
 */
import { writePaperDocs } from './paper/paper-docs.js';
import { progress } from './lib/report.js';
import { paperFigureScripts, runPaperFigureScripts } from './lib/suite.js';

const started = performance.now();
runPaperFigureScripts([], (done) => progress('npm run bench', done, paperFigureScripts.length));
await writePaperDocs();
console.log(`\nnpm run bench finished in ${((performance.now() - started) / 60_000).toFixed(1)} min; charts in docs/bench/, summary in docs/performance.md`);
