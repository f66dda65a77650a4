import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';

/** One line describing where a benchmark ran, for every table in docs/performance.md. */
export function machineLine(): string {
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  const memoryGiB = Math.round(os.totalmem() / 2 ** 30);
  return `${os.cpus().length} × ${cpu}, ${memoryGiB} GiB, Linux ${os.release()}, Node.js ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
}

/** Replaces the section between `<!-- name:start -->` and `<!-- name:end -->` in docs/performance.md. */
export function writeSection(name: string, markdown: string, file = new URL('../../docs/performance.md', import.meta.url)): void {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const block = `${start}\n${markdown.trim()}\n${end}`;
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '# Performance\n';
  const from = current.indexOf(start);
  const to = current.indexOf(end);
  const next = from >= 0 && to > from ? current.slice(0, from) + block + current.slice(to + end.length) : `${current.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, next);
}

export type ResultRow = readonly [what: string, measured: string, target: string];

/** A table with its own columns, written after a section's rows (e.g. one column per measure). */
export interface ResultTable {
  columns: readonly string[];
  rows: ReadonlyArray<readonly string[]>;
}

const markdownTable = (columns: readonly string[], rows: ReadonlyArray<readonly string[]>): string[] => [
  `| ${columns.join(' | ')} |`,
  `|${columns.map(() => '---').join('|')}|`,
  ...rows.map((row) => `| ${row.join(' | ')} |`),
];

/** Prints the rows (and any further tables), and unless `quick`, writes them as a docs/performance.md section. */
export function reportResults(options: {
  section: string;
  title: string;
  description: string;
  rows: readonly ResultRow[];
  tables?: readonly ResultTable[];
  quick: boolean;
}): void {
  const tables = options.tables ?? [];
  if (options.rows.length > 0) console.table(options.rows.map(([what, measured, target]) => ({ what, measured, target })));
  for (const table of tables) console.table(table.rows.map((row) => Object.fromEntries(table.columns.map((column, i) => [column, row[i] ?? '']))));
  if (options.quick) return;
  const parts = [
    ...(options.rows.length > 0 ? [markdownTable(['measurement', 'result', 'target'], options.rows)] : []),
    ...tables.map((table) => markdownTable(table.columns, table.rows)),
  ];
  writeSection(
    options.section,
    [`## ${options.title}`, '', `Machine: ${machineLine()}. ${options.description}`, ...parts.flatMap((lines) => ['', ...lines])].join('\n'),
  );
}

/** Writes a benchmark's full results as docs/bench/<name>.json. */
export function writeBenchJson(name: string, data: unknown): void {
  const directory = new URL('../../docs/bench/', import.meta.url);
  mkdirSync(directory, { recursive: true });
  writeFileSync(new URL(`${name}.json`, directory), `${JSON.stringify(data, null, 2)}\n`);
}

/** Draws `label [#####.....] done/total` on one terminal line (nothing when stdout is not a terminal). */
export function progress(label: string, done: number, total: number): void {
  if (!process.stdout.isTTY) return;
  const width = 30;
  const filled = Math.round((done / total) * width);
  process.stdout.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`);
  if (done === total) process.stdout.write('\n');
}
