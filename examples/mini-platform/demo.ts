/**
 * npm run demo — starts the mini-platform three times, with its internal hops over QUIC (qfaas,
 * 0-RTT), plain HTTP/1.1 (TCP) and HTTPS (TCP + TLS 1.3), and shows, as a table, what the hops
 * cost: the first request to a cold worker, non-continuous requests (a new connection each time),
 * continuous requests (one warm connection), a POST, and a chain of 6 functions. The platform is
 * QUIC only; the HTTP/1.1 and HTTPS hops come from the benchmark harness (bench/platform).
 *
 * The case QUIC exists for is a network where a round trip costs something: with root, every
 * internal hop crosses the benchmarks' emulated data-centre link (0.5 ms one way, bench/link),
 * the gateway on one side and the workers on the other. Without root it says so and runs on
 * loopback, where a round trip is almost free.
 */
import { getResponseInfo } from 'qfaas/invoker-client';
import { createDelayLink, isRoot, type DelayLink } from '../../bench/link/delay-link.js';
import { startBenchPlatform } from '../../bench/platform/bench-platform.js';
import type { HttpScheme } from '../../bench/platform/http-hops.js';
import type { GatewayHops } from './hops.js';
import type { MiniPlatform } from './platform.js';

type Transport = 'quic' | HttpScheme;
const started = performance.now();
const transports: Transport[] = ['quic', 'http', 'https'];
const plan = { cold: 3, nonContinuous: 20, continuous: 40, post: 20, chain: 8 };
const steps = transports.length * Object.values(plan).reduce((a, b) => a + b, 0);
let done = 0;
const tick = (label: string) => {
  done++;
  if (!process.stdout.isTTY) return;
  const width = 30;
  const filled = Math.round((done / steps) * width);
  process.stdout.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${label.padEnd(48)}`);
};
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

const oneWayDelayUs = 500;

/** The emulated link, when this process may make one (root, gcc); otherwise why not. */
async function makeLink(): Promise<DelayLink | string> {
  if (!isRoot()) return 'not root';
  try {
    return await createDelayLink({ delayUs: oneWayDelayUs });
  } catch (error) {
    return (error as Error).message;
  }
}
const linkOrReason = await makeLink();
const link = typeof linkOrReason === 'string' ? undefined : linkOrReason;

/** The platform over QUIC, HTTP/1.1 or HTTPS hops (across the link when there is one); over QUIC, the chain gateway's calls that came in 0-RTT. */
async function startPlatform(hops: Transport): Promise<{ platform: MiniPlatform<GatewayHops>; earlyChainCalls?: () => number }> {
  const where = link === undefined ? {} : { link };
  if (hops !== 'quic') return { platform: await startBenchPlatform({ idleMs: 60_000, hops, ...where }) };
  const platform = await startBenchPlatform({ idleMs: 60_000, hops, ...where });
  return { platform, earlyChainCalls: () => platform.hops.chainGateway.metrics().earlyDataCalls };
}

type Result = { ms: number; early: string };
async function scenarios(hops: Transport): Promise<Map<string, Result>> {
  const { platform, earlyChainCalls } = await startPlatform(hops);
  const results = new Map<string, Result>();
  const label = (text: string) => `${hops}: ${text}`;
  const timed = async (name: string, count: number, before: () => void | Promise<void>, run: () => Promise<Response>, expect?: string) => {
    const times: number[] = [];
    let early = 0;
    for (let i = 0; i < count; i++) {
      await before();
      const t = performance.now();
      const response = await run();
      const text = await response.text();
      times.push(performance.now() - t);
      if (expect !== undefined && text !== expect) throw new Error(`${name} returned ${text}`);
      if (getResponseInfo(response)?.earlyData === true) early++;
      tick(label(name));
    }
    results.set(name, { ms: median(times), early: hops === 'quic' ? `${early}/${count}` : '—' });
  };
  try {
    // Untimed warm-up: start every worker once and let the JIT settle, so that the table compares
    // transports rather than fresh Node.js processes.
    for (let i = 0; i < 30; i++) await (await platform.invoke('echo', { path: '/?warm' })).text();
    for (let i = 0; i < 3; i++) await (await platform.invoke('f1')).text();
    await timed(
      'first request to a cold worker',
      plan.cold,
      async () => {
        platform.stopInstance('echo');
        await platform.instanceFor('echo'); // the cold start itself: a new process
        platform.invoker.closeIdleConnections();
      },
      () => platform.invoke('echo', { path: '/?cold' }),
    );
    await timed('non-continuous GET (new connection)', plan.nonContinuous, () => platform.invoker.closeIdleConnections(), () =>
      platform.invoke('echo', { path: '/?n' }),
    );
    await timed('continuous GET (warm connection)', plan.continuous, () => undefined, () => platform.invoke('echo', { path: '/?c' }));
    await timed('POST (new connection)', plan.post, () => platform.invoker.closeIdleConnections(), () =>
      platform.invoke('echo', { method: 'POST', body: 'order' }),
    );
    await timed('chain of 6 (f1 → … → f6)', plan.chain, () => undefined, () => platform.invoke('f1'), 'f1>f2>f3>f4>f5>f6');
    if (earlyChainCalls !== undefined) {
      const chainResult = results.get('chain of 6 (f1 → … → f6)') as Result;
      chainResult.early = `${earlyChainCalls()} cold calls`;
    }
  } finally {
    await platform.stop();
  }
  return results;
}

const byTransport = new Map<string, Map<string, Result>>();
try {
  for (const hops of transports) byTransport.set(hops, await scenarios(hops));
} finally {
  await link?.close();
}
if (process.stdout.isTTY) process.stdout.write('\n');

const quic = byTransport.get('quic') as Map<string, Result>;
const rows = [...quic.keys()].map((scenario) => {
  const cell = (hops: string) => Math.round((byTransport.get(hops)?.get(scenario)?.ms ?? Number.NaN) * 100) / 100;
  return {
    scenario,
    'QUIC ms': cell('quic'),
    'QUIC in 0-RTT': quic.get(scenario)?.early,
    'HTTP/1.1 ms': cell('http'),
    'HTTPS ms': cell('https'),
  };
});
console.log(
  link === undefined
    ? `qfaas mini-platform on loopback (no emulated link: ${linkOrReason}; run as root, with gcc, for the data-centre case).\n` +
        'Loopback hides what QUIC saves: a round trip costs about 0.05 ms here, so handshakes are nearly free and the\n' +
        "table compares per-request CPU, where the kernel's TCP is ahead of QUIC in user space."
    : `qfaas mini-platform across an emulated data-centre link (${oneWayDelayUs / 1000} ms one way): the gateway outside, every worker inside.`,
);
console.table(rows);
console.log(
  [
    "scenario       what is timed: calls into the platform's gateway (MiniPlatform.invoke), median of several runs",
    'QUIC ms        the platform as qfaas builds it: every internal hop HTTP/3 over QUIC, 0-RTT from the generator\'s and later sessions',
    'QUIC in 0-RTT  how many of those requests went to the worker as 0-RTT early data (for the chain: the cold calls between functions)',
    'HTTP/1.1 ms    the same platform with node:http hops: plain TCP, keep-alive, no encryption',
    'HTTPS ms       the same with node:https hops: TCP + TLS 1.3 with session resumption, keep-alive',
  ].join('\n'),
);
const fresh = rows.find((row) => row.scenario.startsWith('non-continuous'));
if (fresh !== undefined) {
  const ratio = (a: number, b: number) => (a / b).toFixed(2);
  console.log(
    `A request on a new connection: QUIC takes ${ratio(fresh['QUIC ms'], fresh['HTTPS ms'])} × the time of HTTPS (the encrypted ` +
      `comparison) and ${ratio(fresh['QUIC ms'], fresh['HTTP/1.1 ms'])} × that of unencrypted HTTP/1.1.`,
  );
}
console.log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
process.exit(0);
