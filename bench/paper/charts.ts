/**
 * Charts for the paper-figure benchmarks: a Vega-Lite spec per docs/bench/<name>.json (the
 * FigureJson of bench/paper/figure.ts), rendered headless to SVG by Vega (no canvas, no native code).
 * `npm run bench` and `npm run bench:charts` (bench/paper/paper-docs.ts) draw them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import type { FigureJson } from './figure.js';

export const Y_AXIS_TITLE = 'latency (ms, median; bars p10–p90)';

/** Fixed colours, so a transport looks the same in every figure. */
export const TRANSPORT_COLOURS: Readonly<Record<string, string>> = {
  'node:http': '#7f7f7f',
  'node:https TLS 1.2': '#9ecae9',
  'node:https TLS 1.3': '#4c78a8',
  'qfaas 0-RTT': '#e45756',
  'qfaas 1-RTT': '#ff9d98',
  qfaas: '#f58518',
  'quic-go HTTP/3': '#54a24b',
};

const WIDTH = 640;
const HEIGHT = 320;
const DOCS_BENCH = new URL('../../docs/bench/', import.meta.url);

/** One row of the chart's data: a point of a series, with its transport. */
interface Row {
  transport: string;
  x: string | number;
  median: number;
  p10: number;
  p90: number;
  floorMs: number | null;
  samples: number;
}

/** Colours for the transports, in order: the fixed one where known, else the next unused one of Vega's default scheme. */
export function transportColours(transports: readonly string[]): string[] {
  const used = new Set(transports.map((name) => TRANSPORT_COLOURS[name]).filter((colour) => colour !== undefined));
  const palette = (vega.scheme('tableau10') as string[]).filter((colour) => !used.has(colour.toLowerCase()));
  let next = 0;
  return transports.map((name) => TRANSPORT_COLOURS[name] ?? palette[next++ % palette.length] ?? '#000000');
}

function unique<T>(values: Iterable<T>): T[] {
  return [...new Set(values)];
}

/** A Vega-Lite spec for the figure: grouped bars for a category x, lines for a quantitative x. */
export function figureChartSpec(figure: FigureJson): vegaLite.TopLevelSpec {
  const category = figure.x.kind === 'category';
  const rows: Row[] = figure.series.flatMap((series) =>
    series.points.map((point) => ({
      transport: series.transport,
      x: category ? String(point.x) : Number(point.x),
      median: point.median,
      p10: point.p10,
      p90: point.p90,
      floorMs: typeof point.floorMs === 'number' && Number.isFinite(point.floorMs) ? point.floorMs : null,
      samples: point.samples,
    })),
  );
  const transports = unique(figure.series.map((series) => series.transport));
  const hasFloor = rows.some((row) => row.floorMs !== null);
  const color = {
    field: 'transport',
    type: 'nominal' as const,
    sort: transports,
    scale: { domain: transports, range: transportColours(transports) },
    legend: { title: 'transport', labelLimit: 320, symbolType: category ? 'square' : 'circle' },
  };
  const y = { type: 'quantitative' as const, title: Y_AXIS_TITLE };
  const floorOnly = [{ filter: 'isValid(datum.floorMs)' }];
  const legendNote = category
    ? `bar: median; whiskers: p10–p90${hasFloor ? '; black tick: floor' : ''}`
    : `line: median; whiskers: p10–p90${hasFloor ? '; dashed: floor' : ''}`;
  const common = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: figure.title, subtitle: [figure.machine, legendNote], anchor: 'start' as const },
    width: WIDTH,
    height: HEIGHT,
    data: { values: rows },
    config: { font: 'Helvetica, Arial, sans-serif' },
  };

  if (category) {
    const categories = unique(rows.map((row) => row.x as string));
    const longest = Math.max(0, ...categories.map((name) => name.length));
    return {
      ...common,
      encoding: {
        x: {
          field: 'x',
          type: 'nominal',
          sort: categories,
          title: figure.x.label,
          axis: { labelAngle: longest > 90 / Math.max(1, categories.length) ? -25 : 0, labelLimit: 260 },
        },
        xOffset: { field: 'transport', type: 'nominal', sort: transports },
        color,
      },
      layer: [
        { mark: { type: 'bar' }, encoding: { y: { ...y, field: 'median' } } },
        {
          // A value on the layer overrides the shared colour encoding (a mark colour would not).
          mark: { type: 'errorbar', ticks: { size: 5 } },
          encoding: { y: { ...y, field: 'p10' }, y2: { field: 'p90' }, color: { value: '#333333' } },
        },
        ...(hasFloor
          ? [{ transform: floorOnly, mark: { type: 'tick' as const, thickness: 3 }, encoding: { y: { ...y, field: 'floorMs' }, color: { value: 'black' } } }]
          : []),
      ],
    };
  }

  const xs = unique(rows.map((row) => row.x as number)).sort((a, b) => a - b);
  return {
    ...common,
    encoding: {
      x: { field: 'x', type: 'quantitative', title: figure.x.label, axis: xs.length <= 12 ? { values: xs } : {} },
      color,
    },
    layer: [
      { mark: { type: 'line', point: true }, encoding: { y: { ...y, field: 'median' } } },
      { mark: { type: 'errorbar', ticks: { size: 6 } }, encoding: { y: { ...y, field: 'p10' }, y2: { field: 'p90' } } },
      ...(hasFloor
        ? [{ transform: floorOnly, mark: { type: 'line' as const, strokeDash: [6, 4], strokeWidth: 1.5 }, encoding: { y: { ...y, field: 'floorMs' } } }]
        : []),
    ],
  };
}

/** The figure's chart as SVG text. */
export async function renderFigureChart(figure: FigureJson): Promise<string> {
  const compiled = vegaLite.compile(figureChartSpec(figure));
  const view = new vega.View(vega.parse(compiled.spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Writes docs/bench/<name>.svg; returns `bench/<name>.svg`, the path to embed from docs/performance.md. */
export async function writeFigureChart(figure: FigureJson): Promise<string> {
  if (!/^[\w@.-]+$/.test(figure.name) || figure.name.startsWith('.')) {
    throw new Error(`figure name ${JSON.stringify(figure.name)} is not a plain file name`);
  }
  const svg = await renderFigureChart(figure);
  mkdirSync(DOCS_BENCH, { recursive: true });
  writeFileSync(new URL(`${figure.name}.svg`, DOCS_BENCH), svg);
  return `bench/${figure.name}.svg`;
}
