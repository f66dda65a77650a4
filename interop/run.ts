/**
 * `npm run interop`: every case of the matrix in both directions against every peer, printed as a
 * matrix, written to docs/interop.md (date, versions, results), and compared with
 * interop/expected.json: a cell that passed there and does not pass now fails the run.
 *
 *   npm run interop                                  all peers, all cases; writes docs/interop.md
 *   npm run interop -- --peer quic-go --case retry   a selection (docs/interop.md is left alone)
 *   npm run interop -- --direction peer-client
 *   npm run interop -- --update-expected             also record this run as interop/expected.json
 *   npm run interop -- --no-write                    do not touch docs/interop.md
 *   npm run interop -- --list                        the peers and cases
 *   npm run interop -- --dump DIR                    a failed cell leaves its datagram timeline in DIR
 *   npm run interop -- --seed N                      other (reproducible) losses in the lossy cases
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { removeDirectory, runningChildren, trackDirectory } from './cleanup.js';
import { cases, type InteropCase } from './cases/index.js';
import { CaseContext, CaseFailure } from './context.js';
import { compareWithExpected, type Cell, type ExpectedMatrix } from './expected.js';
import { renderDocs, renderMatrix, directionLabels, type RunInfo } from './report.js';
import { createPki, type Pki } from './pki.js';
import { loadPeers, type PeerEntry } from './peers/registry.js';
import { Unsupported, caseNames, type Direction, type Outcome } from './types.js';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const expectedFile = join(repoRoot, 'interop', 'expected.json');
const docsFile = join(repoRoot, 'docs', 'interop.md');
const directions: readonly Direction[] = ['qfaas-client', 'peer-client'];
/** A case that runs longer than this fails (a hang must not stall the run). */
const caseTimeoutMs = 90_000;

const { values: args } = parseArgs({
  options: {
    peer: { type: 'string', multiple: true },
    case: { type: 'string', multiple: true },
    direction: { type: 'string', multiple: true },
    'update-expected': { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    list: { type: 'boolean', default: false },
    dump: { type: 'string' },
    seed: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

const split = (values: string[] | undefined) => values?.flatMap((value) => value.split(',')).filter((value) => value !== '');

async function runCell(entry: PeerEntry, interopCase: InteropCase, direction: Direction, pki: Pki): Promise<Outcome> {
  if (!('peer' in entry)) return { result: 'n/a', reason: entry.absent };
  const never = interopCase.notApplicable?.[direction];
  if (never !== undefined) return { result: 'n/a', reason: never };
  const context = await CaseContext.create(entry.peer, interopCase.name, direction, pki);
  let timer: NodeJS.Timeout | undefined;
  try {
    const detail = await Promise.race([
      interopCase.run[direction](context),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new CaseFailure(`did not finish within ${caseTimeoutMs / 1000} s`)), caseTimeoutMs);
      }),
    ]);
    return { result: 'passed', detail };
  } catch (error) {
    if (error instanceof Unsupported) return { result: 'n/a', reason: error.message };
    const message = error instanceof Error ? error.message : String(error);
    if (args.dump !== undefined) {
      await mkdir(args.dump, { recursive: true });
      await writeFile(join(args.dump, `${entry.name}-${interopCase.name}-${direction}.txt`), `${message}\n\n${context.timeline()}\n`);
    }
    return { result: 'failed', reason: message.replace(/\s+/g, ' ').slice(0, 600) };
  } finally {
    clearTimeout(timer);
    await context.dispose();
  }
}

function versionsOfQfaas(): Promise<string> {
  return (async () => {
    const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    const quicPkg = JSON.parse(await readFile(join(repoRoot, 'node_modules', '@matrixai', 'quic', 'package.json'), 'utf8')) as { version: string };
    let quiche = 'unknown';
    try {
      const lock = await readFile(join(repoRoot, 'node_modules', '@matrixai', 'quic', 'Cargo.lock'), 'utf8');
      quiche = /name = "quiche"\nversion = "([^"]+)"/.exec(lock)?.[1] ?? quiche;
    } catch {
      // The lock file is not always shipped.
    }
    const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).stdout?.trim();
    return `qfaas ${pkg.version}${commit ? ` (${commit})` : ''} on quiche ${quiche} (@matrixai/quic ${quicPkg.version}), Node.js ${process.version}`;
  })();
}

async function main(): Promise<number> {
  if (args.help) {
    console.log(readFileHeader());
    return 0;
  }
  if (args.seed !== undefined) process.env.QFAAS_INTEROP_SEED = String(Number(args.seed) || 0);
  const onlyPeers = split(args.peer);
  const onlyCases = split(args.case);
  const onlyDirections = split(args.direction);
  for (const name of onlyCases ?? []) if (!(caseNames as readonly string[]).includes(name)) throw new Error(`unknown case "${name}" (cases: ${caseNames.join(', ')})`);
  for (const name of onlyDirections ?? []) if (!(directions as readonly string[]).includes(name)) throw new Error(`unknown direction "${name}" (qfaas-client, peer-client)`);
  const peers = await loadPeers(onlyPeers);
  if (onlyPeers !== undefined && peers.length !== onlyPeers.length) throw new Error(`unknown peer among ${onlyPeers.join(', ')}`);
  const selected = cases.filter((c) => onlyCases === undefined || onlyCases.includes(c.name));
  const selectedDirections = directions.filter((d) => onlyDirections === undefined || onlyDirections.includes(d));
  if (args.list) {
    for (const entry of peers) console.log(`peer ${entry.name}${'absent' in entry ? ` (n/a: ${entry.absent})` : ''}`);
    for (const c of cases) console.log(`case ${c.name}: ${c.proves}`);
    return 0;
  }
  const partial = onlyPeers !== undefined || onlyCases !== undefined || onlyDirections !== undefined;

  const started = Date.now();
  const startedAt = performance.now();
  const pkiDir = await mkdtemp(join(tmpdir(), 'qfaas-interop-pki-'));
  trackDirectory(pkiDir);
  const cells: Cell[] = [];
  const versions: Record<string, string> = { qfaas: await versionsOfQfaas() };
  try {
    const pki = await createPki(pkiDir);
    for (const entry of peers) {
      let usable: PeerEntry = entry;
      if ('peer' in entry) {
        process.stdout.write(`${entry.name}: preparing… `);
        const missing = await entry.peer.unavailable();
        if (missing !== undefined) {
          usable = { name: entry.name, absent: `peer unavailable: ${missing}` };
          versions[entry.name] = `unavailable (${missing})`;
        } else {
          versions[entry.name] = await entry.peer.version();
        }
        console.log(versions[entry.name]);
      } else {
        versions[entry.name] = entry.absent;
        console.log(`${entry.name}: n/a (${entry.absent})`);
      }
      for (const interopCase of selected) {
        for (const direction of selectedDirections) {
          const cellStart = performance.now();
          const outcome = await runCell(usable, interopCase, direction, pki);
          const ms = performance.now() - cellStart;
          cells.push({ peer: entry.name, caseName: interopCase.name, direction, outcome, ms });
          const shown = outcome.result === 'passed' ? outcome.detail : outcome.reason;
          console.log(`  ${interopCase.name.padEnd(18)} ${directionLabels[direction].padEnd(13)} ${outcome.result.padEnd(6)} ${(ms / 1000).toFixed(2).padStart(6)} s  ${shown}`);
        }
      }
    }
  } finally {
    removeDirectory(pkiDir);
  }
  const seconds = (performance.now() - startedAt) / 1000;
  const info: RunInfo = { date: new Date(started), seconds, versions, peers: peers.map((p) => p.name), cases: selected, directions: selectedDirections, cells };

  console.log('');
  console.log(renderMatrix(info));
  console.log(`run time: ${seconds.toFixed(0)} s`);

  const expected = JSON.parse(await readFile(expectedFile, 'utf8').catch(() => '{}')) as ExpectedMatrix;
  const { regressions, improvements } = compareWithExpected(expected, cells);
  for (const line of improvements) console.log(`improved: ${line} (record it with --update-expected)`);
  for (const line of regressions) console.log(`REGRESSION: ${line}`);

  if (!args['no-write'] && !partial) {
    const current = await readFile(docsFile, 'utf8').catch(() => '');
    await writeFile(docsFile, renderDocs(current, info));
    console.log(`wrote ${docsFile}`);
  }
  if (args['update-expected']) {
    const updated: ExpectedMatrix = partial ? expected : {};
    for (const cell of cells) {
      updated[cell.peer] ??= {};
      (updated[cell.peer] as Record<string, Record<string, string>>)[cell.caseName] ??= {};
      ((updated[cell.peer] as Record<string, Record<string, string>>)[cell.caseName] as Record<string, string>)[cell.direction] = cell.outcome.result;
    }
    await writeFile(expectedFile, `${JSON.stringify(updated, null, 2)}\n`);
    console.log(`wrote ${expectedFile}`);
  }
  const left = runningChildren();
  if (left > 0) {
    console.log(`${left} peer process(es) still running after the run`);
    return 1;
  }
  return regressions.length > 0 ? 1 : 0;
}

function readFileHeader(): string {
  return `usage: npm run interop -- [--peer quic-go,ngtcp2] [--case NAME,...] [--direction qfaas-client|peer-client] [--update-expected] [--no-write] [--list] [--dump DIR]
cases: ${caseNames.join(', ')}`;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
