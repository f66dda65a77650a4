/**
 * Timing many cases side by side: every case once per round, the order rotated each round, so that
 * each sees the same machine state (CPU frequency, GC, other processes) as the others.
 */
import { progress } from './report.js';
import { summarize, type Summary } from './stats.js';

/**
 * One request. Resolves to nothing (the caller times it) or to the exchange's own time in ms, for
 * exchanges run by another process (quic-go) that time themselves without the IPC around them.
 */
export type Exchange = () => Promise<void | number>;

/** Runs every case once per round, rotating the order each round; returns the times in ms. */
export async function interleaved(cases: ReadonlyArray<readonly [string, Exchange]>, rounds: number, onRound?: (round: number) => void): Promise<Map<string, number[]>> {
  const results = new Map<string, number[]>(cases.map(([name]) => [name, []]));
  for (let i = 0; i < rounds; i++) {
    for (let k = 0; k < cases.length; k++) {
      const [name, run] = cases[(i + k) % cases.length] as readonly [string, Exchange];
      const started = performance.now();
      const own = await run();
      results.get(name)?.push(typeof own === 'number' ? own : performance.now() - started);
    }
    onRound?.(i + 1);
  }
  return results;
}

/** What counts the qfaas (and quic-go) GETs that should have gone in 0-RTT and did not. */
export interface NotEarlyCounter {
  /** Those GETs since the last call. */
  takeNotEarly(): number;
}

/**
 * Warms up, then measures `rounds` interleaved rounds with a progress line on a terminal. Throws
 * if a qfaas GET on a new connection was not accepted in 0-RTT: its time would be mislabelled.
 */
export async function measureInterleaved(
  rig: NotEarlyCounter,
  cases: ReadonlyArray<readonly [string, Exchange]>,
  options: { warmupRounds: number; rounds: number; label: string },
): Promise<Map<string, Summary>> {
  await interleaved(cases, options.warmupRounds);
  rig.takeNotEarly();
  const results = await interleaved(cases, options.rounds, (round) => progress(options.label, round, options.rounds));
  const notEarly = rig.takeNotEarly();
  if (notEarly > 0) throw new Error(`${notEarly} qfaas GETs were not accepted in 0-RTT (${options.label})`);
  return new Map([...results].map(([name, values]) => [name, summarize(values)]));
}
