/** Quantile by linear interpolation between closest ranks. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  const a = sorted[lower] as number;
  const b = sorted[upper] as number;
  return a + (b - a) * (position - lower);
}

export interface Summary {
  samples: number;
  median: number;
  p10: number;
  p90: number;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((x, y) => x - y);
  return { samples: sorted.length, median: quantile(sorted, 0.5), p10: quantile(sorted, 0.1), p90: quantile(sorted, 0.9) };
}

export function formatSummary(summary: Summary): string {
  return `${summary.median.toFixed(3)} ms (p10 ${summary.p10.toFixed(3)}, p90 ${summary.p90.toFixed(3)})`;
}

/** Runs `exchange` from `concurrency` loops for `seconds` and returns completed exchanges per second. */
export async function requestsPerSecond(exchange: () => Promise<void>, concurrency: number, seconds: number): Promise<number> {
  let completed = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        await exchange();
        completed++;
      }
    }),
  );
  return completed / ((performance.now() - started) / 1000);
}
