/**
 * The CI guard: interop/expected.json is the matrix as committed. A cell that passed there and
 * does not pass now (failed, or n/a because a peer went missing) is a regression and fails the
 * run; a cell that passes now and did not before is an improvement, reported so that it can be
 * recorded (--update-expected). Cells the run did not include are not compared.
 */
import type { CaseName, Direction, Outcome } from './types.js';

/** peer → case → direction → result. */
export type ExpectedMatrix = Record<string, Record<string, Record<string, Outcome['result']>>>;

/** One cell of a run. */
export interface Cell {
  peer: string;
  caseName: CaseName;
  direction: Direction;
  outcome: Outcome;
  ms: number;
}

export function compareWithExpected(expected: ExpectedMatrix, cells: readonly Cell[]): { regressions: string[]; improvements: string[] } {
  const regressions: string[] = [];
  const improvements: string[] = [];
  for (const cell of cells) {
    const before = expected[cell.peer]?.[cell.caseName]?.[cell.direction];
    const now = cell.outcome.result;
    const where = `${cell.peer} ${cell.caseName} ${cell.direction}`;
    if (before === 'passed' && now !== 'passed') {
      regressions.push(`${where}: passed in interop/expected.json, ${now} now (${'reason' in cell.outcome ? cell.outcome.reason : ''})`);
    } else if (before !== 'passed' && now === 'passed') {
      improvements.push(`${where}: ${before ?? 'not recorded'} → passed`);
    }
  }
  return { regressions, improvements };
}
