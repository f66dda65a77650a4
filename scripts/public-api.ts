/**
 * The public API as the compiler sees it: every name each package entry point exports, with its
 * kind and the first sentence of its TSDoc. `npm run api:list` writes it into docs/api.md between
 * the public-api markers; test/public-api.test.ts fails when the two disagree.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { qfaasErrorCodes, type ErrorCodeFacts } from '../src/errors.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Subpaths of package.json "exports" and their source files. */
export const entryPoints: ReadonlyArray<{ subpath: string; source: string }> = [
  { subpath: 'qfaas/transport', source: 'src/transport/index.ts' },
  { subpath: 'qfaas/zero-rtt', source: 'src/zero-rtt/index.ts' },
  { subpath: 'qfaas/invoker-client', source: 'src/invoker-client/index.ts' },
  { subpath: 'qfaas/handler-server', source: 'src/handler-server/index.ts' },
  { subpath: 'qfaas/replay-guard', source: 'src/replay-guard/index.ts' },
  { subpath: 'qfaas/chain', source: 'src/chain/index.ts' },
  { subpath: 'qfaas', source: 'src/index.ts' },
];

export interface PublicName {
  name: string;
  kind: string;
  summary: string;
}

function kindOf(symbol: ts.Symbol): string {
  const flags = symbol.flags;
  if (flags & ts.SymbolFlags.Class) return 'class';
  if (flags & ts.SymbolFlags.Function) return 'function';
  if (flags & ts.SymbolFlags.Interface) return 'interface';
  if (flags & ts.SymbolFlags.TypeAlias) return 'type';
  if (flags & ts.SymbolFlags.Enum) return 'enum';
  if (flags & ts.SymbolFlags.Variable) return 'const';
  return 'name';
}

function firstSentence(text: string): string {
  const flat = text
    .replace(/\{@link\s+([^}\s]+)\s*\}/g, '`$1`')
    .replace(/\s+/g, ' ')
    .replace(/\b(e\.g|i\.e)\./g, (abbreviation) => abbreviation.replace(/\./g, '\u0000'))
    .trim();
  const end = flat.search(/[.:](\s|$)/);
  return (end === -1 ? flat : flat.slice(0, end + 1)).replace(/[.:]$/, '').replace(/\u0000/g, '.');
}

let program: ts.Program | undefined;

/** One program for every question (building it type-checks the library: seconds). */
function createProgram(): ts.Program {
  program ??= ts.createProgram(
    entryPoints.map((entry) => `${root}${entry.source}`),
    { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, strict: true },
  );
  return program;
}

/** Every entry point's exported names, sorted, each with its kind and TSDoc summary. */
export function publicNames(): Map<string, PublicName[]> {
  const program = createProgram();
  const checker = program.getTypeChecker();
  const result = new Map<string, PublicName[]>();
  for (const entry of entryPoints) {
    const file = program.getSourceFile(`${root}${entry.source}`);
    const module = file === undefined ? undefined : checker.getSymbolAtLocation(file);
    if (module === undefined) throw new Error(`cannot read ${entry.source}`);
    const names = checker.getExportsOfModule(module).map((exported) => {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      return { name: exported.getName(), kind: kindOf(symbol), summary: firstSentence(ts.displayPartsToString(symbol.getDocumentationComment(checker))) };
    });
    result.set(entry.subpath, names.sort((a, b) => a.name.localeCompare(b.name, 'en')));
  }
  return result;
}

/** Every symbol the package root exports, aliases resolved, with the checker that read them. */
function rootExports(): { checker: ts.TypeChecker; symbols: ts.Symbol[] } {
  const program = createProgram();
  const checker = program.getTypeChecker();
  const file = program.getSourceFile(`${root}src/index.ts`);
  const module = file === undefined ? undefined : checker.getSymbolAtLocation(file);
  if (module === undefined) throw new Error('cannot read src/index.ts');
  const symbols = checker.getExportsOfModule(module).map((exported) => (exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported));
  return { checker, symbols };
}

/**
 * Optional properties of public `…Options` and `…Limits` types whose TSDoc has no `@default`:
 * every option says what leaving it out means (the project's rule, as quic-go's Config does).
 */
export function optionsWithoutDefault(): string[] {
  const { checker, symbols } = rootExports();
  const missing: string[] = [];
  for (const symbol of symbols) {
    if (!/(Options|Limits)$/.test(symbol.getName())) continue;
    for (const property of checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(symbol))) {
      const declaration = property.valueDeclaration ?? property.declarations?.[0];
      if (declaration === undefined || !(property.flags & ts.SymbolFlags.Optional)) continue;
      if (declaration.getSourceFile().fileName.includes('node_modules')) continue;
      if (!property.getJsDocTags(checker).some((tag) => tag.name === 'default')) missing.push(`${symbol.getName()}.${property.getName()}`);
    }
  }
  return missing;
}

export interface ErrorCode {
  code: string;
  errorClass: string;
}

/**
 * Every error code a public error class can carry: the literal type (or union of literals) of
 * its `code` property, from the checker.
 */
export function errorCodes(): ErrorCode[] {
  const { checker, symbols } = rootExports();
  const codes: ErrorCode[] = [];
  for (const symbol of symbols) {
    if (!(symbol.flags & ts.SymbolFlags.Class) || symbol.getName() === 'QfaasError') continue;
    const instance = checker.getDeclaredTypeOfSymbol(symbol);
    const code = instance.getProperty('code');
    if (code === undefined || !checker.getBaseTypes(instance as ts.InterfaceType).length) continue;
    const type = checker.getTypeOfSymbol(code);
    const literals = (type.isUnion() ? type.types : [type]).filter((member): member is ts.StringLiteralType => member.isStringLiteral());
    // A code that is not a literal cannot be listed (test/public-api.test.ts refuses it).
    if (literals.length === 0) codes.push({ code: '(not a literal)', errorClass: symbol.getName() });
    for (const literal of literals) codes.push({ code: literal.value, errorClass: symbol.getName() });
  }
  return codes.sort((a, b) => a.code.localeCompare(b.code, 'en'));
}

const start = '<!-- public-api:start -->';
const end = '<!-- public-api:end -->';

/** The docs/api.md section: each subpath's names once; `qfaas` lists only what no subpath has. */
export function publicApiSection(): string {
  const names = publicNames();
  const inSubpaths = new Set([...names].filter(([subpath]) => subpath !== 'qfaas').flatMap(([, list]) => list.map((item) => item.name)));
  const lines = [start, '## Every public name', '', 'Generated from the sources by `npm run api:list`; `npm test` fails when this list and the exports disagree.', ''];
  for (const [subpath, list] of names) {
    const own = subpath === 'qfaas' ? list.filter((item) => !inSubpaths.has(item.name)) : list;
    lines.push(`### \`${subpath}\``, '');
    if (subpath === 'qfaas') lines.push('Everything the subpaths export, and:', '');
    for (const item of own) lines.push(`- \`${item.name}\` (${item.kind})${item.summary === '' ? '' : `: ${item.summary}`}`);
    lines.push('');
  }
  lines.push(
    '### Error codes',
    '',
    'Every error qfaas throws extends `QfaasError` and carries one of these `code`s (`qfaasErrorCodes` holds this table).',
    '`retryable`: another worker or a later attempt may serve the request. `mayHaveRun`: the worker may have executed it, so',
    'send it again only if it is idempotent. These are the defaults of each code; an error may say otherwise for itself, so',
    'read them on the error.',
    '',
    '| code | class | retryable | mayHaveRun | meaning |',
    '|---|---|---|---|---|',
  );
  const yes = (value: boolean) => (value ? 'yes' : 'no');
  for (const { code, errorClass } of errorCodes()) {
    const facts = (qfaasErrorCodes as Record<string, ErrorCodeFacts | undefined>)[code];
    lines.push(`| \`${code}\` | \`${errorClass}\` | ${facts === undefined ? '?' : `${yes(facts.retryable)} | ${yes(facts.mayHaveRun)} | ${facts.summary}`} |`);
  }
  lines.push('', '`Http3Error` carries the RFC 9114 and RFC 9204 name of its error code in `errorName` (`H3_REQUEST_CANCELLED`, `QPACK_DECOMPRESSION_FAILED`, …, or `H3_UNKNOWN_ERROR`).', '', end);
  return lines.join('\n');
}

/** docs/api.md with its public-api section replaced (or appended). */
export function apiDocWithSection(doc: string): string {
  const section = publicApiSection();
  const from = doc.indexOf(start);
  const to = doc.indexOf(end);
  if (from === -1 || to === -1) return `${doc.trimEnd()}\n\n${section}\n`;
  return `${doc.slice(0, from)}${section}${doc.slice(to + end.length)}`;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const path = `${root}docs/api.md`;
  writeFileSync(path, apiDocWithSection(readFileSync(path, 'utf8')));
  console.log('docs/api.md: public-api section written');
}
