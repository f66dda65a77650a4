/**
 * npm run bench — every paper figure (bench/suite.ts) over the delay link, then the charts and the
 * summary at the head of docs/performance.md. Each benchmark runs in its own process; a failing
 * one stops the run. Takes about N minutes on the machine in docs/performance.md.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFigureChart } from './charts.js';
import type { FigureJson } from './figure.js';
import { paperSummaryMarkdown } from './paper-summary.js';
import { progress, writeSection } from './report.js';
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

const figures = new Map<string, FigureJson>();
const charts = new Map<string, string>();
for (const name of ['fig5a', 'fig5b', 'fig5c', 'fig5d', 'fig7', 'fig8']) {
  const file = new URL(`../docs/bench/${name}.json`, import.meta.url);
  if (!existsSync(file)) continue;
  const figure = JSON.parse(readFileSync(file, 'utf8')) as FigureJson;
  figures.set(name, figure);
  charts.set(name, await writeFigureChart(figure));
}
writeSection('bench:paper', paperSummaryMarkdown(figures, charts));
console.log(`\nnpm run bench finished in ${((performance.now() - started) / 60_000).toFixed(1)} min; charts in docs/bench/, summary in docs/performance.md`);
