import { describe, expect, it } from 'vitest';
import {
  checkSamples,
  collectSamples,
  countSamples,
  fencedBlocks,
  listedNames,
  runPrograms,
  runShellSession,
  sampleProblems,
  samplePrograms,
  samplesOf,
  shellCommands,
  shellSessions,
  type ProgramOutcome,
  type RunResult,
} from '../scripts/doc-samples.js';

/**
 * Every code sample in README.md and docs/*.md (scripts/doc-samples.ts says how each kind is
 * checked). `tsc --noEmit`, which `npm test` runs first, type-checks the extracted samples in
 * test/doc-samples/ and the files blocks are tied to; this file checks that they match the
 * Markdown, and runs every sample (one after another in one process, which loads the library once):
 * each must finish without an error and close what it opened. The `qfaas` commands of shell blocks
 * run in a scratch folder.
 */
const samples = collectSamples();
const programs = samplePrograms(samples);
const sessions = shellSessions(samples);

/** A CLI command's run, as a message that shows what it printed when it failed. */
function outcome(result: RunResult): string {
  if (result.code === 0) return 'exit 0';
  const how = result.code === undefined ? 'did not exit by itself (killed at the timeout: a server or socket left open?)' : `exit ${result.code ?? result.signal}`;
  return `${how}\n${result.output}`;
}

describe('the docs’ samples', () => {
  it('match their extracted or tied files; shell blocks name real scripts and files (npm run docs:samples)', () => {
    expect(checkSamples(samples)).toEqual([]);
  });

  it('every TypeScript block is a sample, tied to a file, or a listing of signatures', () => {
    const counts = countSamples(samples);
    expect(counts.invalid).toBeUndefined();
    expect(counts.extracted).toBeGreaterThan(0);
    expect(counts.signatures).toBeGreaterThan(0);
  });

  describe('each runs to completion', () => {
    // Started by the first test, one process at a time (vitest already runs two test files at once):
    // the programs one after another in one process, then the shell blocks' commands.
    let programRuns: Promise<ProgramOutcome[]> | undefined;
    let sessionRuns: Promise<Array<RunResult & { command: string }>> | undefined;
    const start = () => {
      programRuns ??= runPrograms(programs);
      sessionRuns ??= programRuns.then(async () => {
        const results: Array<RunResult & { command: string }> = [];
        for (const session of sessions) results.push(await runShellSession(session));
        return results;
      });
    };
    programs.forEach((program, index) => {
      it(program.label, async () => {
        start();
        const outcome = (await (programRuns as Promise<ProgramOutcome[]>))[index] as ProgramOutcome;
        expect(outcome.problem === undefined ? 'ok' : `${outcome.problem}\n${outcome.output}`).toBe('ok');
      }, 90_000);
    });
    sessions.forEach((session, index) => {
      it(`${session.label}: ${session.commands.map((words) => words.slice(0, 2).join(' ')).join(', ')}`, async () => {
        start();
        const result = (await (sessionRuns as Promise<Array<RunResult & { command: string }>>))[index] as RunResult & { command: string };
        expect(`${result.command}: ${outcome(result)}`).toBe(`${result.command}: exit 0`);
      }, 90_000);
    });
  });
});

describe('the checker', () => {
  it('finds fenced blocks, indented ones too, with the marker and heading above them', () => {
    const text = ['# Title', '', '## Part', '', '<!-- sample: signatures -->', '```ts', 'f(x?)', '```', '', '- item', '', '  ```sh', '  npm test', '  ```', '', '```', 'output', '```'].join('\n');
    expect(fencedBlocks('x.md', text)).toEqual([
      { doc: 'x.md', line: 6, lang: 'ts', indent: 0, code: 'f(x?)', contentLines: 1, heading: 'Part', marker: 'signatures' },
      { doc: 'x.md', line: 12, lang: 'sh', indent: 2, code: 'npm test', contentLines: 1, heading: 'Part' },
      { doc: 'x.md', line: 16, lang: '', indent: 0, code: 'output', contentLines: 1, heading: 'Part' },
    ]);
  });

  it('refuses a tied block whose file is missing or differs, an unknown marker, and an npm script that does not exist', () => {
    const doc = [
      '<!-- sample: examples/no-such-sample.ts -->',
      '```ts',
      'x',
      '```',
      '<!-- sample: examples/quickstart.ts#readme -->',
      '```ts',
      "import { randomBytes } from 'node:crypto';",
      '```',
      '<!-- sample: maybe later -->',
      '```ts',
      'y',
      '```',
      '```sh',
      'npm run no-such-script && curl https://example.org',
      '```',
      '<!-- sample: skip it -->',
      '```sh',
      'qfaas ca',
      '```',
      '```js',
      'z',
      '```',
      '<!-- sample: signatures -->',
      '```ts',
      'getTransportInfo(response) // the old name',
      'new InvokerClient({ ca, certificate? }); invoker.fetch(url)',
      '```',
    ].join('\n');
    const problems = samplesOf('x.md', doc).flatMap((sample) => sampleProblems(sample));
    expect(problems).toEqual([
      'x.md:2: it is tied to examples/no-such-sample.ts, which does not exist (add the file, or fix the marker)',
      expect.stringMatching(/^x\.md:6: the block differs from examples\/quickstart\.ts#readme, line 2 of the block: the doc has "\(nothing\)", the file "import/),
      expect.stringMatching(/^x\.md:10: unknown sample marker "maybe later"/),
      'x.md:13: `npm run no-such-script`: package.json has no such script',
      'x.md:17: a shell block takes no sample marker but "not run (why)", not "skip it"',
      'x.md:20: a `js` block: write samples as `ts` (type-checked and run)',
      'x.md:24: the listing names `getTransportInfo`, which no entry point exports',
    ]);
  });

  it("reads the names a listing's statements start with, not options, instances or locals", () => {
    const listing = [
      'createPlatformCA(opts?): Promise<PlatformCA>; loadPlatformCA({ certPem, keyPem })',
      "ca.certPem; ca.issue({ role: 'worker' | 'gateway', name, hosts? }) // -> { certPem, keyPem }",
      'createHandlerServer({ credentials, onRequest?,',
      '                      retry?, maxConnections? })',
      'RequestInfo = { earlyData, resumed,',
      '                handshake, peerIdentity() }',
      'MemoryTicketStore, RedisTicketStore',
      'const endpoint = await QuicEndpoint.bind({ host, port: 0 });',
      'interface TicketStore { get(serverName): StoredSession | undefined }',
    ].join('\n');
    expect(listedNames(listing)).toEqual(['createPlatformCA', 'loadPlatformCA', 'createHandlerServer', 'RequestInfo', 'MemoryTicketStore', 'RedisTicketStore', 'QuicEndpoint', 'TicketStore']);
  });

  it("runs each document's qfaas commands in one session, in order, except blocks marked not run", () => {
    const doc = ['```sh', 'qfaas ca --cert-out ca.pem --key-out ca.key', '```', '<!-- sample: not run (needs a cluster) -->', '```sh', 'qfaas issue --ca-cert ca.pem', 'kubectl apply -f x.yaml', '```', '```sh', 'npm test', 'qfaas issue --ca-cert ca.pem --ca-key ca.key', '```'].join('\n');
    expect(shellSessions(samplesOf('x.md', doc))).toEqual([
      { label: 'x.md:1,9', commands: [['qfaas', 'ca', '--cert-out', 'ca.pem', '--key-out', 'ca.key'], ['qfaas', 'issue', '--ca-cert', 'ca.pem', '--ca-key', 'ca.key']] },
    ]);
  });

  it('reads shell commands across continuation lines and &&', () => {
    expect(shellCommands('npm install && npm run demo\nqfaas ca --cert-out ca.pem \\\n    --key-out ca.key  # a comment\n')).toEqual([
      ['npm', 'install'],
      ['npm', 'run', 'demo'],
      ['qfaas', 'ca', '--cert-out', 'ca.pem', '--key-out', 'ca.key'],
    ]);
  });
});
