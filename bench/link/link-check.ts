/**
 * npm run bench:link: builds the delay link and measures it at every delay the paper-figure
 * benchmarks use, with a UDP echo (median of 200). Writes the table to docs/performance.md.
 * `--quick`: fewer samples, nothing written.
 */
import { createDelayLink, isRoot } from './delay-link.js';
import { reportResults, type ResultRow } from '../lib/report.js';

const quick = process.argv.includes('--quick');
const delaysUs = [0, 250, 500, 1000, 2000, 3000];

if (!isRoot()) {
  console.log('The delay link needs root (network namespaces and TUN devices); nothing measured.');
  process.exit(0);
}

const link = await createDelayLink();
const rows: ResultRow[] = [];
let failed = 0;
try {
  for (const delayUs of delaysUs) {
    await link.setDelay(delayUs);
    const check = await link.selfCheck(quick ? 30 : 200);
    if (!check.ok) failed++;
    rows.push([
      `one-way delay ${delayUs} µs`,
      `RTT ${(check.rttUs / 1000).toFixed(3)} ms, no-delay floor ${(check.floorRttUs / 1000).toFixed(3)} ms, added ${(check.addedRttUs / 1000).toFixed(3)} ms${check.ok ? '' : ' (**outside tolerance**)'}`,
      `added ${((2 * delayUs) / 1000).toFixed(3)} ms ± ${(check.toleranceUs / 1000).toFixed(3)} ms`,
    ]);
  }
} finally {
  await link.close();
}
reportResults({
  section: 'link',
  title: 'The benchmarks’ delay link (`npm run bench:link`)',
  description:
    'A network namespace, two TUN devices and the C relay (bench/link/relay.c). Median UDP echo RTT of 200 from the relay binary\'s pinger outside (spinning, not sleeping) to its echo server inside; the floor is the same echo with the relay at zero delay, so "added" is what the link itself adds.',
  rows,
  quick,
});
if (failed > 0 && !quick) {
  console.log(`${failed} delay(s) outside tolerance: runs at those delays would not be trustworthy.`);
  process.exitCode = 1;
}
