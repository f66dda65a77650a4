/**
 * npm run bench:charts — redraws the charts and the paper summary at the head of
 * docs/performance.md from the committed docs/bench/*.json, without measuring anything.
 */
import { existsSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { writeFigureChart } from './charts.js';
import type { FigureJson } from './figure.js';
import { paperFigureNames, paperSummaryMarkdown } from './paper-summary.js';
import { writeSection } from '../lib/report.js';

export async function writePaperDocs(): Promise<void> {
  const figures = new Map<string, FigureJson>();
  const charts = new Map<string, string>();
  for (const name of paperFigureNames) {
    const file = new URL(`../../docs/bench/${name}.json`, import.meta.url);
    if (!existsSync(file)) continue;
    const figure = JSON.parse(readFileSync(file, 'utf8')) as FigureJson;
    figures.set(name, figure);
    charts.set(name, await writeFigureChart(figure));
  }
  writeSection('bench:paper', paperSummaryMarkdown(figures, charts));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await writePaperDocs();
  console.log('charts in docs/bench/, summary in docs/performance.md');
}
