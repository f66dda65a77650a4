/**
 * Every code sample in README.md and docs/*.md is checked (issue 15). A fenced block is one of:
 *
 *   - a TypeScript sample (```ts, no marker): a complete module. It is extracted into
 *     test/doc-samples/, which `tsc --noEmit` type-checks with the project's strict settings
 *     (`qfaas/*` maps to src/), and test/doc-samples.test.ts runs it: it must finish without an
 *     error and close every server, client and socket it opened (scripts/doc-samples-runner.ts runs
 *     the samples one after another in one process, which then must exit by itself).
 *     `<!-- sample: compile-only (why) -->` before the block: type-checked, not run.
 *   - a block tied to a file, `<!-- sample: examples/x.ts -->` or `<!-- sample: examples/x.ts#name -->`:
 *     the block must equal that file, or its region between `// #region name` and `// #endregion`.
 *     The file must be one tsc checks; the test runs it (unless the marker ends in `compile-only (why)`).
 *   - `<!-- sample: signatures -->`: a listing of signatures, not code: not compiled, but every name
 *     a statement of it starts with (`createPlatformCA(…)`, `new ZeroRttGenerator(…)`,
 *     `MemoryTicketStore, RedisTicketStore`, `QuicEndpoint.bind(…)`) must be a public export.
 *   - a shell block (```sh): every `npm run X` names a script of package.json, every `npx tsx F`
 *     an existing file, and the test runs the document's `qfaas` CLI commands, in order, in one
 *     scratch folder per document (a later block may use the files an earlier one wrote). Other
 *     commands (kubectl, curl, …) are not checked. `<!-- sample: not run (why) -->` before a
 *     block: its `qfaas` commands are not run (e.g. they need files the docs do not make).
 *   - anything else (output, diagrams: no language, or ```text): not checked.
 *
 * Everywhere in the Markdown, `npm run X` and `bench:…`-style script names must exist.
 *
 *   npm run docs:samples               check, and count the blocks of each kind
 *   npm run docs:samples -- --write    rewrite test/doc-samples/ from the Markdown, and tied blocks from their files
 *   npm run docs:samples -- --run      check, then run every sample as the test does
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import type { SampleRunResult } from './doc-samples-runner.js';

export const root = fileURLToPath(new URL('..', import.meta.url));

/** Where extracted samples go; tsconfig.json includes test/, so `tsc --noEmit` checks them. */
export const extractedDir = 'test/doc-samples';

const codeLanguages = new Set(['ts', 'typescript']);
const unsupportedCodeLanguages = new Set(['js', 'javascript', 'mjs', 'cjs', 'jsx', 'tsx']);
const shellLanguages = new Set(['sh', 'bash', 'shell', 'console']);

/** The Markdown files whose samples are checked, relative to the root. */
export function sampleDocs(): string[] {
  const docs = readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`);
  return ['README.md', ...docs];
}

export interface FencedBlock {
  doc: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The fence's info string's first word, lower case ('' when none). */
  lang: string;
  /** Spaces before the fence (a block inside a list item); removed from every line of `code`. */
  indent: number;
  /** The block's text, without the fences, without a final newline. */
  code: string;
  /** How many lines lie between the fences. */
  contentLines: number;
  /** The nearest heading above the block. */
  heading: string;
  /** The text of a `<!-- sample: … -->` comment on the nearest non-blank line above, if any. */
  marker?: string;
}

export type SampleKind =
  /** (a) a complete module, extracted into `file`. */
  | { kind: 'extracted'; file: string; run: boolean; reason?: string }
  /** (b) equal to `file` or its `region`. */
  | { kind: 'tied'; file: string; region?: string; run: boolean; reason?: string }
  /** (c) a listing of signatures. */
  | { kind: 'signatures' }
  /** `run`: its `qfaas` commands run in the test. */
  | { kind: 'shell'; run: boolean; reason?: string }
  /** Output, diagrams, text. */
  | { kind: 'other' }
  | { kind: 'invalid'; problem: string };

export interface Sample extends FencedBlock {
  sample: SampleKind;
}

const markerPattern = /^<!--\s*sample:\s*(.*?)\s*-->$/;
const fenceOpen = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)/;

/** The fenced blocks of one Markdown text. */
export function fencedBlocks(doc: string, text: string): FencedBlock[] {
  const lines = text.split('\n');
  const blocks: FencedBlock[] = [];
  let heading = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const headingMatch = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (headingMatch !== null) {
      heading = headingMatch[1] as string;
      continue;
    }
    const open = fenceOpen.exec(line);
    if (open === null) continue;
    const indent = (open[1] as string).length;
    const fence = open[2] as string;
    const closing = new RegExp(`^\\s*${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`);
    let end = i + 1;
    while (end < lines.length && !closing.test(lines[end] as string)) end++;
    const code = lines
      .slice(i + 1, end)
      .map((content) => content.slice(Math.min(indent, content.length - content.trimStart().length)))
      .join('\n');
    let previous = i - 1;
    while (previous >= 0 && (lines[previous] as string).trim() === '') previous--;
    const marker = previous >= 0 ? markerPattern.exec((lines[previous] as string).trim())?.[1] : undefined;
    blocks.push({ doc, line: i + 1, lang: (open[3] as string).toLowerCase(), indent, code, contentLines: end - i - 1, heading, ...(marker === undefined ? {} : { marker }) });
    i = end;
  }
  return blocks;
}

/** Lines with a sample marker that no fenced block follows. */
function danglingMarkers(doc: string, text: string, blocks: readonly FencedBlock[]): string[] {
  const lines = text.split('\n');
  const problems: string[] = [];
  const fenced = new Set<number>();
  for (const block of blocks) {
    for (let line = block.line; line <= block.line + block.contentLines + 1; line++) fenced.add(line);
  }
  lines.forEach((line, index) => {
    if (!line.includes('<!-- sample:') || fenced.has(index + 1)) return;
    let next = index + 1;
    while (next < lines.length && (lines[next] as string).trim() === '') next++;
    if (next >= lines.length || !fenceOpen.test(lines[next] as string)) problems.push(`${doc}:${index + 1}: a sample marker with no fenced block after it`);
  });
  return problems;
}

function slug(text: string): string {
  const words = text
    .toLowerCase()
    .replace(/\([^)]*\)/g, '')
    .replace(/`/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return (words.slice(0, 40).replace(/-+$/, '') || 'top');
}

const compileOnlyPattern = /^compile-only \((.+)\)$/;

function classify(block: FencedBlock, name: string): SampleKind {
  const marker = block.marker;
  if (shellLanguages.has(block.lang)) {
    if (marker === undefined) return { kind: 'shell', run: true };
    const notRun = /^not run \((.+)\)$/.exec(marker);
    return notRun === null ? { kind: 'invalid', problem: `a shell block takes no sample marker but "not run (why)", not "${marker}"` } : { kind: 'shell', run: false, reason: notRun[1] as string };
  }
  if (unsupportedCodeLanguages.has(block.lang)) {
    return { kind: 'invalid', problem: `a \`${block.lang}\` block: write samples as \`ts\` (type-checked and run)` };
  }
  if (!codeLanguages.has(block.lang)) {
    return marker === undefined ? { kind: 'other' } : { kind: 'invalid', problem: `a sample marker on a \`${block.lang || 'plain'}\` block, which is not checked` };
  }
  const extracted = `${extractedDir}/${name}.ts`;
  if (marker === undefined) return { kind: 'extracted', file: extracted, run: true };
  if (marker === 'signatures') return { kind: 'signatures' };
  const compileOnly = compileOnlyPattern.exec(marker);
  if (compileOnly !== null) return { kind: 'extracted', file: extracted, run: false, reason: compileOnly[1] as string };
  const tied = /^([\w./-]+\.ts)(?:#([\w-]+))?(?:\s+(.*))?$/.exec(marker);
  if (tied !== null) {
    const [, file, region, rest] = tied as unknown as [string, string, string | undefined, string | undefined];
    const reason = rest === undefined ? undefined : compileOnlyPattern.exec(rest)?.[1];
    if (rest !== undefined && reason === undefined) return { kind: 'invalid', problem: `unknown sample marker "${marker}"` };
    return { kind: 'tied', file, ...(region === undefined ? {} : { region }), run: reason === undefined, ...(reason === undefined ? {} : { reason }) };
  }
  return {
    kind: 'invalid',
    problem: `unknown sample marker "${marker}" (known: a file path with an optional #region, "compile-only (why)", "signatures")`,
  };
}

/** The fenced blocks of one document, classified; extracted samples are named after the document and heading. */
export function samplesOf(doc: string, text: string): Sample[] {
  const docId = doc === 'README.md' ? 'readme' : doc.replace(/^docs\//, '').replace(/\.md$/, '');
  const used = new Map<string, number>();
  return fencedBlocks(doc, text).map((block) => {
    const base = `${docId}.${slug(block.heading)}`;
    const count = (used.get(base) ?? 0) + (codeLanguages.has(block.lang) ? 1 : 0);
    used.set(base, count);
    return { ...block, sample: classify(block, count > 1 ? `${base}.${count}` : base) };
  });
}

/** Every fenced block of the checked docs, classified. */
export function collectSamples(docs: readonly string[] = sampleDocs()): Sample[] {
  return docs.flatMap((doc) => samplesOf(doc, readFileSync(join(root, doc), 'utf8')));
}

/** The file an extracted sample is written to: a header naming its origin, then the block. */
export function extractedText(sample: Sample): string {
  const kind = sample.sample;
  const header = [
    `// Extracted from ${sample.doc} ("${sample.heading}") by \`npm run docs:samples -- --write\`: edit the Markdown, not this file.`,
    ...(kind.kind === 'extracted' && !kind.run ? [`// Type-checked, not run: ${kind.reason}.`] : []),
  ];
  return `${[...header, sample.code].join('\n')}\n`;
}

/** The text a tied block must equal: the file, or the lines between `// #region name` and `// #endregion`. */
export function tiedText(file: string, region: string | undefined): { text: string } | { problem: string } {
  const path = join(root, file);
  if (!existsSync(path)) return { problem: `it is tied to ${file}, which does not exist (add the file, or fix the marker)` };
  const text = readFileSync(path, 'utf8').replace(/\n+$/, '');
  if (region === undefined) return { text };
  const lines = text.split('\n');
  const starts = lines.flatMap((line, index) => (line.trim() === `// #region ${region}` ? [index] : []));
  if (starts.length !== 1) return { problem: `${file} has ${starts.length === 0 ? 'no' : 'more than one'} "// #region ${region}"` };
  const start = starts[0] as number;
  const end = lines.findIndex((line, index) => index > start && line.trim().startsWith('// #endregion'));
  if (end === -1) return { problem: `${file}: "// #region ${region}" has no "// #endregion"` };
  return { text: lines.slice(start + 1, end).join('\n') };
}

/** Where two texts first differ, for a message a person can act on. */
function firstDifference(doc: string, file: string): string {
  const a = doc.split('\n');
  const b = file.split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) return `line ${i + 1} of the block: the doc has ${JSON.stringify(a[i] ?? '(nothing)')}, the file ${JSON.stringify(b[i] ?? '(nothing)')}`;
  }
  return 'no difference';
}

let typeCheckedFiles: Set<string> | undefined;

/** The files `tsc -p .` checks (tsconfig.json's include). */
function isTypeChecked(file: string): boolean {
  if (typeCheckedFiles === undefined) {
    const config = ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile);
    const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
    typeCheckedFiles = new Set(parsed.fileNames.map((name) => relative(root, name)));
  }
  return typeCheckedFiles.has(file);
}

function packageScripts(): Record<string, string> {
  return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
}

/** Script families whose names docs quote bare (`bench:hop`); such a span must name a script. */
const scriptFamilies = /^`((?:bench|demo|test|api|docs):[a-z0-9:-]+)`$/;

/** `npm run X` and `bench:…` spans anywhere in a document. */
function scriptNameProblems(doc: string, text: string, scripts: Record<string, string>): string[] {
  const problems: string[] = [];
  const lineOf = (offset: number) => text.slice(0, offset).split('\n').length;
  for (const match of text.matchAll(/npm run\s+([a-z0-9:_-]+)/g)) {
    if (!(match[1] as string in scripts)) problems.push(`${doc}:${lineOf(match.index)}: \`npm run ${match[1]}\`: package.json has no script "${match[1]}"`);
  }
  for (const match of text.matchAll(/`[^`\n]+`/g)) {
    const name = scriptFamilies.exec(match[0])?.[1];
    if (name !== undefined && !(name in scripts)) problems.push(`${doc}:${lineOf(match.index)}: ${match[0]}: package.json has no script "${name}"`);
  }
  return problems;
}

/** A shell block's commands: continuation lines joined, prompts and comments dropped, split at `&&` and `;`. */
export function shellCommands(code: string): string[][] {
  const joined = code.replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((line) => line.replace(/^\s*\$\s+/, '').replace(/(^|\s)#.*$/, '').trim())
    .filter((line) => line !== '')
    .flatMap((line) => line.split(/\s*(?:&&|;)\s*/))
    .map((command) => command.split(/\s+/).filter((word) => word !== ''))
    .filter((words) => words.length > 0);
}

function shellProblems(sample: Sample, scripts: Record<string, string>): string[] {
  const at = `${sample.doc}:${sample.line}`;
  const problems: string[] = [];
  for (const words of shellCommands(sample.code)) {
    const [command, first, second] = words;
    if (command === 'npm' && (first === 'run' || first === 'run-script')) {
      if (second === undefined || !(second in scripts)) problems.push(`${at}: \`npm run ${second ?? ''}\`: package.json has no such script`);
    } else if (command === 'npx') {
      if (first === 'tsx' && (second === undefined || !existsSync(join(root, second)))) problems.push(`${at}: \`npx tsx ${second ?? ''}\`: no such file`);
    }
  }
  return problems;
}

let publicExports: Set<string> | undefined;

/** The names the entry points (src/index.ts and each src/<folder>/index.ts) export, following `export *`. */
export function exportedNames(): Set<string> {
  if (publicExports !== undefined) return publicExports;
  const names = new Set<string>();
  const seen = new Set<string>();
  const read = (file: string) => {
    if (seen.has(file) || !existsSync(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/export\s*(?:type\s*)?\{([^}]*)\}/g)) {
      for (const part of (match[1] as string).split(',')) {
        const name = part.trim().replace(/^type\s+/, '').split(/\s+as\s+/).pop()?.trim();
        if (name) names.add(name);
      }
    }
    for (const match of text.matchAll(/export\s+(?:declare\s+)?(?:async\s+)?(?:const|let|function|class|interface|type|enum)\s+([\w$]+)/g)) names.add(match[1] as string);
    for (const match of text.matchAll(/export\s*\*\s*from\s*'(\.[^']+)\.js'/g)) read(join(file, '..', `${match[1] as string}.ts`));
  };
  const src = join(root, 'src');
  read(join(src, 'index.ts'));
  for (const entry of readdirSync(src, { withFileTypes: true })) if (entry.isDirectory()) read(join(src, entry.name, 'index.ts'));
  publicExports = names;
  return names;
}

/** Words that start a listing's statement without naming an export. */
const listingKeywords = new Set(['new', 'interface', 'type', 'const', 'let', 'await', 'export', 'import', 'class', 'function', 'Promise', 'Request', 'Response', 'Headers', 'RequestInit', 'AbortSignal']);

/**
 * The names a listing's statements start with, outside brackets (a continuation line inside
 * `{ … }` or `( … )` names options, not exports): `ca.issue(…)` names an instance (lower case before
 * a dot) and `const x = …` a local, neither is checked.
 */
export function listedNames(code: string): string[] {
  const names: string[] = [];
  let depth = 0;
  for (const line of code.split('\n')) {
    const text = line.replace(/\/\/.*$/, '');
    let start = true;
    let declaring = false;
    for (const match of text.matchAll(/[A-Za-z_$][\w$]*|[({[<]|[)}\]>]|[;,]|=>|\S/g)) {
      const token = match[0];
      if ('({[<'.includes(token)) depth++;
      else if (')}]>'.includes(token)) depth = Math.max(0, depth - 1);
      else if (depth === 0 && (token === ';' || token === ',' || token === '=')) {
        start = true; // `=`: what a declared local is made with, e.g. `QuicEndpoint.bind(…)`
        continue;
      } else if (depth === 0 && start && /^[A-Za-z_$]/.test(token)) {
        if (token === 'const' || token === 'let') declaring = true;
        if (listingKeywords.has(token)) continue;
        const dotted = text.slice((match.index ?? 0) + token.length).startsWith('.');
        if (!declaring && !(dotted && /^[a-z]/.test(token))) names.push(token);
      }
      start = false;
      declaring = false;
    }
  }
  return names;
}

/** What is wrong with one block; empty when it is fine or not checked. */
export function sampleProblems(sample: Sample, scripts: Record<string, string> = packageScripts()): string[] {
  const at = `${sample.doc}:${sample.line}`;
  const kind = sample.sample;
  switch (kind.kind) {
    case 'invalid':
      return [`${at}: ${kind.problem}`];
    case 'extracted': {
      const path = join(root, kind.file);
      if (!existsSync(path)) return [`${at}: not extracted yet into ${kind.file} (npm run docs:samples -- --write)`];
      if (readFileSync(path, 'utf8') !== extractedText(sample)) return [`${at}: ${kind.file} is out of date with the Markdown (npm run docs:samples -- --write)`];
      return [];
    }
    case 'tied': {
      const expected = tiedText(kind.file, kind.region);
      if ('problem' in expected) return [`${at}: ${expected.problem}`];
      const problems: string[] = [];
      if (!isTypeChecked(kind.file)) problems.push(`${at}: ${kind.file} is not type-checked (tsconfig.json does not include it)`);
      if (expected.text !== sample.code) {
        const name = kind.region === undefined ? kind.file : `${kind.file}#${kind.region}`;
        problems.push(`${at}: the block differs from ${name}, ${firstDifference(sample.code, expected.text)} (npm run docs:samples -- --write copies the file into the Markdown)`);
      }
      return problems;
    }
    case 'shell':
      return shellProblems(sample, scripts);
    case 'signatures': {
      const unknown = [...new Set(listedNames(sample.code))].filter((name) => !exportedNames().has(name));
      return unknown.length === 0 ? [] : [`${at}: the listing names ${unknown.map((name) => `\`${name}\``).join(', ')}, which no entry point exports`];
    }
    default:
      return [];
  }
}

/** Everything wrong with the docs' samples; empty when all is well. Runs nothing. */
export function checkSamples(samples: readonly Sample[] = collectSamples()): string[] {
  const problems: string[] = [];
  const scripts = packageScripts();
  for (const doc of sampleDocs()) {
    const text = readFileSync(join(root, doc), 'utf8');
    problems.push(...danglingMarkers(doc, text, fencedBlocks(doc, text)), ...scriptNameProblems(doc, text, scripts));
  }
  for (const sample of samples) problems.push(...sampleProblems(sample, scripts));
  const extracted = new Set(samples.flatMap(({ sample }) => (sample.kind === 'extracted' ? [sample.file] : [])));
  const dir = join(root, extractedDir);
  for (const name of existsSync(dir) ? readdirSync(dir) : []) {
    if (!extracted.has(`${extractedDir}/${name}`)) problems.push(`${extractedDir}/${name}: no Markdown block is extracted here any more (npm run docs:samples -- --write removes it)`);
  }
  return problems;
}

/** Rewrites test/doc-samples/ from the Markdown, and tied blocks from their files. Returns what it changed. */
export function writeSamples(): string[] {
  const changed: string[] = [];
  const samples = collectSamples();
  const dir = join(root, extractedDir);
  const wanted = new Map<string, string>();
  for (const sample of samples) if (sample.sample.kind === 'extracted') wanted.set(sample.sample.file, extractedText(sample));
  for (const name of existsSync(dir) ? readdirSync(dir) : []) {
    if (!wanted.has(`${extractedDir}/${name}`)) {
      unlinkSync(join(dir, name));
      changed.push(`removed ${extractedDir}/${name}`);
    }
  }
  for (const [file, text] of wanted) {
    const path = join(root, file);
    if (existsSync(path) && readFileSync(path, 'utf8') === text) continue;
    if (!existsSync(dir)) ts.sys.createDirectory(dir);
    writeFileSync(path, text);
    changed.push(`wrote ${file}`);
  }
  for (const doc of sampleDocs()) {
    const lines = readFileSync(join(root, doc), 'utf8').split('\n');
    let edited = false;
    // Bottom up, so that earlier blocks keep their line numbers.
    for (const sample of samples.filter((item) => item.doc === doc).reverse()) {
      const kind = sample.sample;
      if (kind.kind !== 'tied') continue;
      const expected = tiedText(kind.file, kind.region);
      if ('problem' in expected || expected.text === sample.code) continue;
      const pad = ' '.repeat(sample.indent);
      const body = expected.text.split('\n').map((line) => (line === '' ? '' : pad + line));
      lines.splice(sample.line, sample.contentLines, ...body);
      edited = true;
      changed.push(`${doc}:${sample.line}: copied ${kind.region === undefined ? kind.file : `${kind.file}#${kind.region}`}`);
    }
    if (edited) writeFileSync(join(root, doc), lines.join('\n'));
  }
  return changed;
}

/** How many blocks of each kind, for the summary. */
export function countSamples(samples: readonly Sample[] = collectSamples()): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { sample } of samples) {
    const key =
      sample.kind === 'extracted' || sample.kind === 'tied' ? `${sample.kind}${sample.run ? '' : ' (compile-only)'}` : sample.kind === 'shell' ? `shell${sample.run ? '' : ' (not run)'}` : sample.kind;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

export interface SampleProgram {
  /** What it is, for reports: the file and the blocks it stands for. */
  label: string;
  /** The file to run, relative to the root. */
  file: string;
}

/** Every file to run: each runnable extracted sample, and each tied file (once) unless all its markers say compile-only. */
export function samplePrograms(samples: readonly Sample[] = collectSamples()): SampleProgram[] {
  const programs = new Map<string, { file: string; places: string[]; run: boolean }>();
  for (const sample of samples) {
    const kind = sample.sample;
    if (kind.kind !== 'extracted' && kind.kind !== 'tied') continue;
    const entry = programs.get(kind.file) ?? { file: kind.file, places: [], run: false };
    entry.places.push(`${sample.doc}:${sample.line}`);
    entry.run ||= kind.run;
    programs.set(kind.file, entry);
  }
  return [...programs.values()].filter((entry) => entry.run && existsSync(join(root, entry.file))).map((entry) => ({ label: `${entry.file} (${entry.places.join(', ')})`, file: entry.file }));
}

/** The `qfaas` CLI commands of one document's shell blocks, run in order in one scratch folder. */
export interface ShellSession {
  label: string;
  commands: string[][];
}

export function shellSessions(samples: readonly Sample[] = collectSamples()): ShellSession[] {
  const sessions = new Map<string, ShellSession>();
  for (const sample of samples) {
    if (sample.sample.kind !== 'shell' || !sample.sample.run) continue;
    const commands = shellCommands(sample.code).filter((words) => words[0] === 'qfaas');
    if (commands.length === 0) continue;
    const session = sessions.get(sample.doc) ?? { label: sample.doc, commands: [] };
    session.label += `${session.commands.length === 0 ? ':' : ','}${sample.line}`;
    session.commands.push(...commands);
    sessions.set(sample.doc, session);
  }
  return [...sessions.values()];
}

export interface RunResult {
  /** Exit code, or undefined when it was killed at the timeout. */
  code: number | null | undefined;
  signal: NodeJS.Signals | null;
  output: string;
  ms: number;
}

/** The environment samples run in: this one without qfaas's own variables, so no sample leans on them. */
function sampleEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('QFAAS_')));
}

/** tsx, by URL: a sample may run from a scratch folder, where `--import tsx` would not resolve. */
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** Runs `node --import tsx <file> [...args]` from `cwd`; a process still alive at `timeoutMs` is killed. */
export function runTs(file: string, args: readonly string[] = [], options: { cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', tsxLoader, join(root, file), ...args], { cwd: options.cwd ?? root, env: sampleEnvironment(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 20_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: timedOut ? undefined : code, signal, output, ms: Math.round(performance.now() - started) });
    });
  });
}

/** How one sample program went: `problem` is undefined when it ran to the end and closed what it opened. */
export interface ProgramOutcome {
  program: SampleProgram;
  problem?: string;
  /** What it printed. */
  output: string;
  ms?: number;
}

/**
 * Runs the sample programs one after another in one Node.js process (scripts/doc-samples-runner.ts:
 * the library loads once, the samples' environment changes are undone between them). Each must
 * finish without an error and close what it opened, and the process must then exit by itself.
 */
export async function runPrograms(programs: readonly SampleProgram[], timeoutMs = 60_000): Promise<ProgramOutcome[]> {
  const scratch = mkdtempSync(join(tmpdir(), 'qfaas-doc-samples-'));
  const resultsFile = join(scratch, 'results.json');
  try {
    const run = await runTs('scripts/doc-samples-runner.ts', [resultsFile, ...programs.map((program) => program.file)], { timeoutMs });
    const results = existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as SampleRunResult[]) : [];
    const outputs = new Map<string, string>();
    let runnerOutput = '';
    for (const part of run.output.split(/^##doc-sample## /m)) {
      const newline = part.indexOf('\n');
      const file = part.slice(0, newline);
      if (programs.some((program) => program.file === file)) outputs.set(file, part.slice(newline + 1));
      else runnerOutput += part;
    }
    let pending = `was not run: the runner ended (${run.code ?? run.signal ?? 'killed'}) before it`;
    return programs.map((program) => {
      const output = outputs.get(program.file) ?? '';
      const result = results.find((item) => item.file === program.file);
      if (result === undefined || result.running === true) {
        const problem = result === undefined ? pending : run.code === undefined ? `did not finish within ${timeoutMs / 1000} s (killed)` : `ended the process (${run.code ?? run.signal}) while it ran`;
        pending = 'was not run: an earlier sample did not finish';
        return { program, problem, output: output + runnerOutput };
      }
      const problems = [
        ...(result.error === undefined ? [] : [`failed: ${result.error}`]),
        ...(result.leftOpen === undefined ? [] : [`left open after it finished: ${result.leftOpen.join(', ')} (close every server, client and socket)`]),
      ];
      if (problems.length === 0 && results.length === programs.length && run.code !== 0 && !results.some((item) => item.leftOpen !== undefined || item.running === true)) {
        // Nothing pins it on one sample: every sample finished and closed what the runner could see.
        problems.push(run.code === undefined ? 'the samples finished, but their process did not exit by itself' : `the samples finished, but their process exited ${run.code ?? run.signal}`);
      }
      return { program, output, ms: result.ms, ...(problems.length === 0 ? {} : { problem: problems.join('; ') }) };
    });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Runs a shell block's `qfaas` commands in a fresh scratch folder, stopping at the first failure. */
export async function runShellSession(session: ShellSession, timeoutMs = 20_000): Promise<RunResult & { command: string }> {
  const scratch = mkdtempSync(join(tmpdir(), 'qfaas-doc-sample-'));
  let last: RunResult & { command: string } = { code: 0, signal: null, output: '', ms: 0, command: '' };
  try {
    for (const words of session.commands) {
      const result = await runTs('src/cli/qfaas.ts', words.slice(1), { cwd: scratch, timeoutMs });
      last = { ...result, command: words.join(' ') };
      if (result.code !== 0) break;
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return last;
}

async function main(args: readonly string[]): Promise<void> {
  if (args.includes('--write')) {
    const changed = writeSamples();
    console.log(changed.length === 0 ? 'samples already up to date' : changed.join('\n'));
  }
  const samples = collectSamples();
  const problems = checkSamples(samples);
  const counts = Object.entries(countSamples(samples)).map(([kind, count]) => `${kind}: ${count}`);
  console.log(`${samples.length} fenced blocks in ${sampleDocs().length} files (${counts.join(', ')})`);
  for (const sample of samples) {
    const kind = sample.sample;
    if ((kind.kind === 'extracted' || kind.kind === 'tied' || kind.kind === 'shell') && !kind.run) console.log(`  ${kind.kind === 'shell' ? 'not run' : 'compile-only'}: ${sample.doc}:${sample.line} (${kind.reason})`);
  }
  if (problems.length > 0) {
    console.error(problems.join('\n'));
    process.exitCode = 1;
    return;
  }
  if (!args.includes('--run')) return;
  const programs = samplePrograms(samples);
  const [outcomes, sessions] = await Promise.all([runPrograms(programs), Promise.all(shellSessions(samples).map(async (session) => [session, await runShellSession(session)] as const))]);
  for (const outcome of outcomes) {
    console.log(`${outcome.problem === undefined ? 'ok  ' : 'FAIL'} ${outcome.program.label}${outcome.ms === undefined ? '' : ` (${outcome.ms} ms)`}`);
    if (outcome.problem !== undefined) {
      console.log(`  ${outcome.problem}`);
      console.log(outcome.output.replace(/^/gm, '  | '));
      process.exitCode = 1;
    }
  }
  for (const [session, result] of sessions) {
    const ok = result.code === 0;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${session.label}: ${session.commands.map((words) => words.slice(0, 2).join(' ')).join(', ')}`);
    if (!ok) {
      console.log(`  ${result.command}: ${result.code === undefined ? 'killed at the timeout' : `exit ${result.code ?? result.signal}`}`);
      console.log(result.output.replace(/^/gm, '  | '));
      process.exitCode = 1;
    }
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main(process.argv.slice(2));
}
