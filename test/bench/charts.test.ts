import { describe, expect, it } from 'vitest';
import { figureChartSpec, renderFigureChart, TRANSPORT_COLOURS, transportColours, Y_AXIS_TITLE } from '../../bench/paper/charts.js';
import type { FigureJson, FigurePoint } from '../../bench/paper/figure.js';

const machine = '2 × test CPU, 4 GiB, Linux test, Node.js v20, 2026-01-01';

function point(x: string | number, median: number, floorMs?: number): FigurePoint {
  return { x, samples: 20, median, p10: median * 0.8, p90: median * 1.5, ...(floorMs === undefined ? {} : { floorMs }) };
}

function categoryFigure(): FigureJson {
  return {
    name: 'test-category',
    title: 'A GET on a new connection',
    machine,
    selfChecks: [],
    x: { label: 'scenario', kind: 'category' },
    unit: 'ms',
    paper: '',
    series: [
      { transport: 'node:http', points: [point('cold', 1.2, 1), point('warm', 0.7, 0.5)] },
      { transport: 'node:https TLS 1.3', points: [point('cold', 3, 2), point('warm', 0.9)] },
      { transport: 'qfaas 0-RTT', points: [point('cold', 3.7, 0.5), point('warm', 1.25)] },
    ],
  };
}

function quantitativeFigure(): FigureJson {
  const delays = [0, 500, 1000, 3000];
  return {
    name: 'test-quantitative',
    title: 'Latency against one-way delay',
    machine,
    selfChecks: [],
    x: { label: 'one-way delay (µs)', kind: 'quantitative' },
    unit: 'ms',
    paper: '',
    series: [
      { transport: 'node:http', points: delays.map((d) => point(d, 1 + (4 * d) / 1000, (4 * d) / 1000)) },
      { transport: 'qfaas 0-RTT', points: delays.map((d) => point(d, 2 + (2 * d) / 1000, (2 * d) / 1000)) },
      { transport: 'an unknown transport', points: delays.map((d) => point(d, 3 + (2 * d) / 1000)) },
    ],
  };
}

/** How many marks of one kind Vega drew (each carries aria-roledescription). */
function count(svg: string, role: string): number {
  return svg.split(`aria-roledescription="${role}"`).length - 1;
}

function legendLabels(svg: string): string[] {
  const legend = svg.slice(svg.indexOf('role-legend-label'));
  return [...legend.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((match) => match[1] ?? '');
}

function expectSvg(svg: string, figure: FigureJson): void {
  expect(svg.startsWith('<svg')).toBe(true);
  expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  expect(svg).toContain(`>${figure.title}</text>`);
  expect(svg).toContain(`<tspan>${figure.machine}</tspan>`); // the subtitle has two lines
  expect(svg).toContain(`>${Y_AXIS_TITLE}</text>`);
  expect(svg).toContain(`>${figure.x.label}</text>`);
  const transports = figure.series.map((series) => series.transport);
  expect(legendLabels(svg).slice(0, transports.length)).toEqual(transports);
}

describe('figure charts (vega-lite → vega → SVG)', () => {
  it('draws a category figure as grouped bars with p10–p90 whiskers and floor ticks', async () => {
    const figure = categoryFigure();
    const svg = await renderFigureChart(figure);
    expectSvg(svg, figure);
    const points = figure.series.flatMap((series) => series.points);
    expect(count(svg, 'bar')).toBe(points.length);
    expect(count(svg, 'errorbar')).toBe(points.length);
    expect(count(svg, 'tick')).toBe(points.filter((p) => p.floorMs !== undefined).length);
    // Each bar carries its transport's fixed colour and its median.
    expect(svg).toMatch(/aria-label="scenario: cold; [^"]*: 3\.7; transport: qfaas 0-RTT"[^>]*fill="#e45756"/);
    expect(svg).toMatch(/aria-label="scenario: warm; [^"]*: 0\.7; transport: node:http"[^>]*fill="#7f7f7f"/);
  });

  it('draws a quantitative figure as one line per transport, with dashed floors where present', async () => {
    const figure = quantitativeFigure();
    const svg = await renderFigureChart(figure);
    expectSvg(svg, figure);
    const points = figure.series.flatMap((series) => series.points);
    const withFloor = figure.series.filter((series) => series.points.some((p) => p.floorMs !== undefined)).length;
    expect(count(svg, 'line mark')).toBe(figure.series.length + withFloor);
    expect(count(svg, 'point')).toBe(points.length);
    expect(count(svg, 'errorbar')).toBe(points.length);
    expect(svg.match(/stroke-dasharray="6,4"/g)?.length).toBe(withFloor);
    expect(svg).toMatch(/aria-label="one-way delay \(µs\): 3000; [^"]*: 13; transport: node:http"[^>]*aria-roledescription="point"/);
    // The axis ticks are the measured delays.
    for (const label of ['0', '500', '1,000', '3,000']) expect(svg).toContain(`>${label}</text>`);
  });

  it('follows the data: a changed median changes the drawing', async () => {
    const figure = categoryFigure();
    const before = await renderFigureChart(figure);
    figure.series[1]!.points[0]!.median = 2;
    const after = await renderFigureChart(figure);
    expect(after).not.toBe(before);
    expect(after).toMatch(/aria-label="scenario: cold; [^"]*: 2; transport: node:https TLS 1\.3"/);

    const line = quantitativeFigure();
    const lineBefore = await renderFigureChart(line);
    line.series[0]!.points[2]!.median = 9.5;
    expect(await renderFigureChart(line)).not.toBe(lineBefore);
  });

  it('keeps known transports’ colours and gives others distinct ones from the default scheme', () => {
    const names = ['quic-go HTTP/3', 'mystery A', 'qfaas', 'mystery B'];
    const colours = transportColours(names);
    expect(colours[0]).toBe(TRANSPORT_COLOURS['quic-go HTTP/3']);
    expect(colours[2]).toBe(TRANSPORT_COLOURS.qfaas);
    expect(new Set(colours).size).toBe(names.length);
    const spec = figureChartSpec(quantitativeFigure()) as { width?: number; title?: { text?: string } };
    expect(spec.width).toBe(640);
    expect(spec.title?.text).toBe('Latency against one-way delay');
  });
});
