/**
 * The shape every paper-figure benchmark writes to docs/bench/<name>.json, and the charts are drawn
 * from (bench/paper/charts.ts). One series per transport; one point per x value (a scenario, a delay or a
 * chain length), with the median, p10 and p90 in ms and, where known, the physical floor.
 */
import { formatSummary } from '../lib/stats.js';
export interface FigurePoint {
  /** Scenario name (category axis) or a number (delay in µs, chain length). */
  x: string | number;
  samples: number;
  median: number;
  p10: number;
  p90: number;
  /** Round trips the protocol cannot avoid × link RTT + server time on a warm connection, in ms. */
  floorMs?: number;
}

export interface FigureSeries {
  /** e.g. 'node:http', 'node:https TLS 1.3', 'qfaas 0-RTT', 'quic-go HTTP/3'. */
  transport: string;
  points: FigurePoint[];
}

export interface FigureJson {
  /** File name without extension, e.g. 'fig5a'. */
  name: string;
  title: string;
  /** The machine line (bench/lib/report.ts machineLine()), which ends with the date. */
  machine: string;
  /** Every link self-check line printed for this figure. */
  selfChecks: string[];
  x: { label: string; kind: 'category' | 'quantitative' };
  /** Always 'ms'. */
  unit: 'ms';
  series: FigureSeries[];
  /** What the paper reported for this figure, one sentence. */
  paper: string;
}

/** A point from a summary (bench/lib/stats.ts) and, when known, its floor. */
export function figurePoint(x: string | number, summary: { samples: number; median: number; p10: number; p90: number }, floorMs?: number): FigurePoint {
  const { samples, median, p10, p90 } = summary;
  return { x, samples, median, p10, p90, ...(floorMs === undefined ? {} : { floorMs }) };
}

/** A point's table cell: median, p10, p90 and, when known, the floor. */
export function formatPoint(point: FigurePoint): string {
  return `${formatSummary(point)}${point.floorMs === undefined ? '' : `; floor ${point.floorMs.toFixed(3)} ms`}`;
}

/** The point of `transport` at `x` in a figure, if it has one. */
export function findPoint(figure: FigureJson | undefined, transport: string, x: string | number): FigurePoint | undefined {
  return figure?.series.find((series) => series.transport === transport)?.points.find((point) => point.x === x);
}
