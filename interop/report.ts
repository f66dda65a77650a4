/**
 * The matrix as text: a table for the terminal, and the generated sections of docs/interop.md
 * (between `<!-- interop:…:start -->` and `<!-- interop:…:end -->`; the rest of that file is
 * written by hand and kept).
 */
import { arch, cpus, platform } from 'node:os';
import type { InteropCase } from './cases/index.js';
import type { Cell } from './expected.js';
import type { Direction, Outcome } from './types.js';

export interface RunInfo {
  date: Date;
  seconds: number;
  /** Implementation → version text (or why it is unavailable). */
  versions: Record<string, string>;
  peers: string[];
  cases: readonly InteropCase[];
  directions: readonly Direction[];
  cells: Cell[];
}

export const directionLabels: Record<Direction, string> = { 'qfaas-client': 'qfaas → peer', 'peer-client': 'peer → qfaas' };

function columnTitle(peer: string, direction: Direction): string {
  return direction === 'qfaas-client' ? `qfaas client → ${peer} server` : `${peer} client → qfaas server`;
}

function shortResult(outcome: Outcome | undefined): string {
  if (outcome === undefined) return '';
  return outcome.result === 'failed' ? 'FAILED' : outcome.result;
}

function cellOf(info: RunInfo, peer: string, caseName: string, direction: Direction): Cell | undefined {
  return info.cells.find((cell) => cell.peer === peer && cell.caseName === caseName && cell.direction === direction);
}

/** The matrix for the terminal. */
export function renderMatrix(info: RunInfo): string {
  const columns = info.peers.flatMap((peer) => info.directions.map((direction) => ({ peer, direction, title: `${peer}: ${directionLabels[direction]}` })));
  const rows = info.cases.map((c) => [c.name, ...columns.map((column) => shortResult(cellOf(info, column.peer, c.name, column.direction)?.outcome))]);
  const header = ['case', ...columns.map((column) => column.title)];
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-+-'), ...rows.map(line)].join('\n');
}

const escapeCell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function runSection(info: RunInfo): string {
  const out: string[] = [];
  out.push(`Last full run: ${info.date.toISOString().replace(/\.\d+Z$/, 'Z')}, ${info.seconds.toFixed(0)} s, on ${platform()} ${arch()} with ${cpus().length} CPUs.`);
  out.push('');
  out.push('| implementation | version |');
  out.push('|---|---|');
  for (const [name, version] of Object.entries(info.versions)) out.push(`| ${name} | ${escapeCell(version)} |`);
  out.push('');
  const columns = info.peers.flatMap((peer) => info.directions.map((direction) => ({ peer, direction })));
  out.push(`| case | ${columns.map((column) => columnTitle(column.peer, column.direction)).join(' | ')} |`);
  out.push(`|---|${columns.map(() => '---').join('|')}|`);
  for (const c of info.cases) {
    out.push(`| ${c.name} | ${columns.map((column) => shortResult(cellOf(info, column.peer, c.name, column.direction)?.outcome)).join(' | ')} |`);
  }
  out.push('');
  out.push('What each cell showed (passed: the evidence; failed and n/a: the reason):');
  for (const peer of info.peers) {
    out.push('');
    out.push(`**${peer}**`);
    out.push('');
    const cells = info.cells.filter((cell) => cell.peer === peer);
    const reasons = new Set(cells.map((cell) => (cell.outcome.result === 'n/a' ? cell.outcome.reason : '')));
    const only = [...reasons][0];
    if (cells.length > 0 && reasons.size === 1 && only !== undefined && only !== '') {
      out.push(`- every cell: **n/a**: ${only}`);
      continue;
    }
    for (const c of info.cases) {
      for (const direction of info.directions) {
        const cell = cellOf(info, peer, c.name, direction);
        if (cell === undefined) continue;
        const text = cell.outcome.result === 'passed' ? cell.outcome.detail : cell.outcome.reason;
        out.push(`- ${c.name}, ${columnTitle(peer, direction)}: **${cell.outcome.result}** (${(cell.ms / 1000).toFixed(2)} s): ${text}`);
      }
    }
  }
  return out.join('\n');
}

function casesSection(info: RunInfo): string {
  const out: string[] = [];
  for (const c of info.cases) {
    out.push(`### ${c.name}`);
    out.push('');
    out.push(c.proves);
    out.push('');
    out.push(`- qfaas client → peer server: ${c.setup['qfaas-client']}.`);
    out.push(`- peer client → qfaas server: ${c.setup['peer-client']}.`);
    for (const [direction, reason] of Object.entries(c.notApplicable ?? {})) out.push(`- n/a for ${direction}: ${reason}`);
    out.push('');
  }
  return out.join('\n').trimEnd();
}

/** Replaces the text between a section's markers (appending the section when they are missing). */
function replaceSection(document: string, name: string, body: string): string {
  const start = `<!-- interop:${name}:start -->`;
  const end = `<!-- interop:${name}:end -->`;
  const block = `${start}\n${body}\n${end}`;
  const from = document.indexOf(start);
  const to = document.indexOf(end);
  if (from === -1 || to === -1 || to < from) return `${document.trimEnd()}\n\n${block}\n`;
  return `${document.slice(0, from)}${block}${document.slice(to + end.length)}`;
}

/** docs/interop.md with its generated sections brought up to date. */
export function renderDocs(current: string, info: RunInfo): string {
  const base = current.trim() === '' ? '# Interoperability\n' : current;
  return replaceSection(replaceSection(base, 'run', runSection(info)), 'cases', casesSection(info));
}
