/**
 * Runs the docs' samples one after another in this process, so that the library loads once
 * (scripts/doc-samples.ts starts it). Each sample is imported, which runs its top-level code to the
 * end; then it must have closed what it opened: the handles keeping the event loop alive must be
 * back to what they were before it (within a grace period), or the sample is reported with what it
 * left open. Environment variables a sample sets are undone before the next one.
 *
 *   node --import tsx scripts/doc-samples-runner.ts <results.json> <sample.ts>...
 *
 * Before each sample a line `##doc-sample## <file>` goes to stdout (to split the output), and
 * results.json is rewritten with every result so far (the sample marked running).
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface SampleRunResult {
  file: string;
  /** The sample threw, or something it started failed later (an unhandled rejection). */
  error?: string;
  /** Handles still keeping the process alive after the grace period, e.g. ['UDPWrap']. */
  leftOpen?: string[];
  /** Written before the sample starts: still there if the process ended while it ran. */
  running?: true;
  ms: number;
}

/** stdout/stderr pipes come and go with output; they are the runner's, not a sample's. */
const ignored = new Set(['PipeWrap', 'TTYWrap']);

function openHandles(): string[] {
  return process
    .getActiveResourcesInfo()
    .filter((type) => !ignored.has(type))
    .sort();
}

/** What `after` holds beyond `before` (as multisets). */
function added(before: readonly string[], after: readonly string[]): string[] {
  const remaining = [...before];
  return after.filter((type) => {
    const index = remaining.indexOf(type);
    if (index === -1) return true;
    remaining.splice(index, 1);
    return false;
  });
}

const graceMs = 2_000;
const [resultsFile, ...files] = process.argv.slice(2);
if (resultsFile === undefined) throw new Error('usage: doc-samples-runner.ts <results.json> <sample.ts>...');

let failure: string | undefined;
const record = (error: unknown) => {
  failure ??= error instanceof Error ? (error.stack ?? error.message) : String(error);
};
process.on('unhandledRejection', record);
process.on('uncaughtException', record);

const results: SampleRunResult[] = [];
for (const file of files) {
  const environment = { ...process.env };
  const before = openHandles();
  failure = undefined;
  writeFileSync(resultsFile, JSON.stringify([...results, { file, running: true, ms: 0 }]));
  process.stdout.write(`##doc-sample## ${file}\n`);
  const started = performance.now();
  try {
    await import(pathToFileURL(resolve(file)).href);
  } catch (error) {
    record(error);
  }
  // A rejection nobody handled surfaces after the sample's last await: wait for it here.
  await new Promise((wake) => setImmediate(wake));
  let leftOpen = added(before, openHandles());
  for (const deadline = performance.now() + graceMs; leftOpen.length > 0 && performance.now() < deadline; leftOpen = added(before, openHandles())) {
    await new Promise((wake) => setTimeout(wake, 20));
  }
  for (const name of Object.keys(process.env)) if (!(name in environment)) delete process.env[name];
  Object.assign(process.env, environment);
  results.push({
    file,
    ms: Math.round(performance.now() - started),
    ...(failure === undefined ? {} : { error: failure }),
    ...(leftOpen.length === 0 ? {} : { leftOpen }),
  });
  writeFileSync(resultsFile, JSON.stringify(results));
}
