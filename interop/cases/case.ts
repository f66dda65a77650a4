/**
 * A case of the matrix: what it proves and how each direction runs. A direction's function returns
 * the detail shown for a pass, throws `CaseFailure` (via `check`) for a failure and `Unsupported`
 * when it cannot run with this peer; a direction that can never run says why in `notApplicable`.
 */
import type { CaseContext } from '../context.js';
import type { CaseName, Direction } from '../types.js';

export interface InteropCase {
  name: CaseName;
  /** What a pass proves (docs/interop.md). */
  proves: string;
  /** What each direction does, in the adapter interface's terms (docs/interop.md, "by hand"). */
  setup: Record<Direction, string>;
  /** Directions that cannot run against any peer, and why. */
  notApplicable?: Partial<Record<Direction, string>>;
  run: Record<Direction, (context: CaseContext) => Promise<string>>;
}

export const mib = 1024 * 1024;

/** Bytes in a readable unit. */
export function bytes(count: number): string {
  if (count >= mib) return `${(count / mib).toFixed(count % mib === 0 ? 0 : 1)} MiB`;
  if (count >= 1024) return `${(count / 1024).toFixed(count % 1024 === 0 ? 0 : 1)} KiB`;
  return `${count} B`;
}
