/**
 * The head of docs/performance.md for the paper figures: each claim of the paper next to what was
 * measured here and the target, and the charts. Built from the docs/bench/<figure>.json files.
 */
import { findPoint, type FigureJson } from './figure.js';

type Figures = ReadonlyMap<string, FigureJson>;

/** docs/bench/<name>.json of every paper figure, in the order of the summary. */
export const paperFigureNames = ['fig5a', 'fig5b', 'fig5c', 'fig5d', 'fig7', 'fig8', 'fig8-warm'] as const;

interface Claim {
  figure: string;
  what: string;
  paper: string;
  /** [figure, transport, x] of the numerator and the denominator; 'floor' compares with the numerator's floor. */
  ratio: readonly [string, string | number, string | 'floor'];
  target: number | undefined;
}

const tls13 = 'node:https TLS 1.3';
const claims = (figure: string, chainTransport: string): Claim[] => {
  switch (figure) {
    case 'fig5a':
      return [
        { figure, what: 'GET, new connection: qfaas 0-RTT / TLS 1.3', paper: '0.72 (−28%)', ratio: ['qfaas', 'GET', tls13], target: 0.65 },
        { figure, what: 'GET, new connection: qfaas 0-RTT / node:http', paper: '≈ 1.0 (matched TCP)', ratio: ['qfaas', 'GET', 'node:http'], target: 1.0 },
        { figure, what: 'GET: qfaas 0-RTT / its floor', paper: '', ratio: ['qfaas', 'GET', 'floor'], target: 1.3 },
        { figure, what: 'POST, new connection: qfaas 1-RTT / TLS 1.3', paper: '0.86 (−14%)', ratio: ['qfaas', 'POST', tls13], target: 0.8 },
        { figure, what: 'POST: qfaas 1-RTT / its floor', paper: '', ratio: ['qfaas', 'POST', 'floor'], target: 1.3 },
      ];
    case 'fig5b':
      return [
        { figure, what: 'warm connection: qfaas / TLS 1.3 keep-alive', paper: '', ratio: ['qfaas', 'GET', tls13], target: 1.1 },
        { figure, what: 'warm: qfaas / its floor', paper: '', ratio: ['qfaas', 'GET', 'floor'], target: 1.3 },
      ];
    case 'fig5c':
      return [
        { figure, what: 'first request to a new worker: qfaas with the generator’s session (0-RTT) / TLS 1.3', paper: 'no 0-RTT in the paper', ratio: ['qfaas 0-RTT', 'first GET', tls13], target: 0.65 },
        { figure, what: 'first request to a new worker: qfaas without a session (1-RTT) / TLS 1.3', paper: '0.89 (−11%)', ratio: ['qfaas 1-RTT', 'first GET', tls13], target: undefined },
        { figure, what: 'first request, 0-RTT: qfaas / its floor', paper: '', ratio: ['qfaas 0-RTT', 'first GET', 'floor'], target: 1.3 },
      ];
    case 'fig5d':
      return [
        { figure, what: '1 MiB response, new connection: qfaas 0-RTT / TLS 1.3', paper: '0.79 (−21%)', ratio: ['qfaas 0-RTT', '1 MiB GET', tls13], target: 1.0 },
        { figure, what: '1 MiB: qfaas / its floor', paper: '', ratio: ['qfaas 0-RTT', '1 MiB GET', 'floor'], target: 1.3 },
      ];
    case 'fig7':
      return [
        { figure, what: 'GET, new connection, zero delay: qfaas 0-RTT / TLS 1.3', paper: '0.83 (−17%)', ratio: ['qfaas 0-RTT', 0, tls13], target: undefined },
        { figure, what: 'GET, new connection, 3 ms: qfaas 0-RTT / TLS 1.3', paper: '', ratio: ['qfaas 0-RTT', 3000, tls13], target: undefined },
      ];
    case 'fig8':
      return [
        { figure, what: 'chain of 6, a new connection per hop: qfaas 0-RTT / TLS 1.3', paper: '0.60 (−40%)', ratio: [chainTransport, 6, tls13], target: 0.55 },
        { figure, what: 'chain of 6, new connections: qfaas / its floor', paper: '', ratio: [chainTransport, 6, 'floor'], target: 1.3 },
      ];
    case 'fig8-warm':
      return [
        { figure, what: 'chain of 6, kept connections: qfaas / TLS 1.3', paper: '', ratio: [chainTransport, 6, tls13], target: undefined },
        { figure, what: 'chain of 6, kept connections: qfaas / its floor', paper: '', ratio: [chainTransport, 6, 'floor'], target: 1.3 },
      ];
    default:
      return [];
  }
};

/** Markdown: the claims table, then each figure's chart with its self-checks. */
export function paperSummaryMarkdown(figures: Figures, charts: ReadonlyMap<string, string>): string {
  const rows: string[] = [];
  for (const name of paperFigureNames) {
    const figure = figures.get(name);
    if (figure === undefined) continue;
    const chainTransport = figure.series.find((series) => series.transport.startsWith('qfaas'))?.transport ?? 'qfaas';
    for (const claim of claims(name, chainTransport)) {
      const [transport, x, versus] = claim.ratio;
      const numerator = findPoint(figures.get(name), transport, x);
      const denominator = versus === 'floor' ? numerator?.floorMs : findPoint(figures.get(name), versus, x)?.median;
      const measured = numerator === undefined || denominator === undefined ? undefined : numerator.median / denominator;
      const verdict = claim.target === undefined || measured === undefined ? '' : measured <= claim.target ? 'met' : '**missed**';
      rows.push(`| ${name} | ${claim.what} | ${claim.paper} | ${measured === undefined ? 'n/a' : measured.toFixed(2)} | ${claim.target === undefined ? '' : `≤ ${claim.target.toFixed(2)}`} | ${verdict} |`);
    }
  }
  const sections = [...figures.values()].map((figure) => {
    const chart = charts.get(figure.name);
    return [`### ${figure.title}`, '', chart === undefined ? '' : `![${figure.title}](${chart})`, '', `${figure.paper} Link: ${figure.selfChecks.join('; ')}.`, ''].join('\n');
  });
  const machine = figures.values().next().value?.machine ?? 'unknown machine';
  return [
    '## The paper’s figures, measured here (`npm run bench`)',
    '',
    `Machine: ${machine}. Ratios are of medians measured side by side in one run, transports interleaved; the floor is the round trips a protocol cannot avoid × the link’s measured RTT + its warm exchange at zero delay less that RTT (bench/paper/floor.ts). Full results: docs/bench/*.json.`,
    '',
    '| figure | ratio | paper | measured | target | |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    ...sections,
  ].join('\n');
}
