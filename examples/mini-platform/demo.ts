/**
 * npm run demo — starts the mini-platform on this machine and shows, as a table, what the hops
 * cost: the first request to a cold worker (0-RTT thanks to the 0-RTT generator), non-continuous
 * requests (a new connection each time, resuming the stored session), continuous requests (one
 * warm connection), a POST (1-RTT under the default policy), and a chain of 6 functions.
 * Then it stops everything and exits.
 */
import { getTransportInfo } from 'qfaas/invoker-client';
import { MiniPlatform } from './platform.js';

const started = performance.now();
const steps = 5 + 20 + 50 + 20 + 10;
let done = 0;
const tick = (label: string) => {
  done++;
  if (!process.stdout.isTTY) return;
  const width = 30;
  const filled = Math.round((done / steps) * width);
  process.stdout.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${label.padEnd(40)}`);
};

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

const platform = await MiniPlatform.start({ idleMs: 60_000 });
const rows: Array<{ scenario: string; samples: number; 'median ms': string; 'sent in 0-RTT': string }> = [];
const record = (scenario: string, times: number[], early: boolean[]) =>
  rows.push({
    scenario,
    samples: times.length,
    'median ms': median(times).toFixed(2),
    'sent in 0-RTT': `${early.filter(Boolean).length}/${early.length}`,
  });

try {
  // 1. The first request to a cold worker: the generator provisioned the session before the
  //    worker existed. Timed from the request, once the worker process is up.
  {
    const times: number[] = [];
    const early: boolean[] = [];
    for (let i = 0; i < 5; i++) {
      platform.stopInstance('echo');
      await platform.instanceFor('echo'); // the cold start itself (a new process)
      platform.invoker.closeIdleConnections();
      const t = performance.now();
      const response = await platform.invoke('echo', { path: '/?cold' });
      await response.text();
      times.push(performance.now() - t);
      early.push(getTransportInfo(response)?.earlyDataAccepted === true);
      tick('first request to a cold worker');
    }
    record('first request to a cold worker (generator session)', times, early);
  }
  // 2. Non-continuous: a new connection per request, resuming the stored session.
  {
    const times: number[] = [];
    const early: boolean[] = [];
    for (let i = 0; i < 20; i++) {
      platform.invoker.closeIdleConnections();
      const t = performance.now();
      const response = await platform.invoke('echo', { path: `/?n=${i}` });
      await response.text();
      times.push(performance.now() - t);
      early.push(getTransportInfo(response)?.earlyDataAccepted === true);
      tick('non-continuous requests');
    }
    record('non-continuous GET (new connection, session)', times, early);
  }
  // 3. Continuous: one warm connection.
  {
    const times: number[] = [];
    const early: boolean[] = [];
    for (let i = 0; i < 50; i++) {
      const t = performance.now();
      const response = await platform.invoke('echo', { path: `/?c=${i}` });
      await response.text();
      times.push(performance.now() - t);
      early.push(getTransportInfo(response)?.earlyData === true);
      tick('continuous requests');
    }
    record('continuous GET (warm connection)', times, early);
  }
  // 4. A POST on a new connection: not idempotent, so it waits for the handshake (1-RTT).
  {
    const times: number[] = [];
    const early: boolean[] = [];
    for (let i = 0; i < 20; i++) {
      platform.invoker.closeIdleConnections();
      const t = performance.now();
      const response = await platform.invoke('echo', { method: 'POST', body: `order ${i}` });
      await response.text();
      times.push(performance.now() - t);
      early.push(getTransportInfo(response)?.earlyData === true);
      tick('POST over 1-RTT');
    }
    record('POST (new connection, 1-RTT by policy)', times, early);
  }
  // 5. A chain of 6: f1 → f2 → … → f6 through the chain gateway (warm workers after the first).
  {
    const times: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t = performance.now();
      const response = await platform.invoke('f1');
      const text = await response.text();
      if (text !== 'f1>f2>f3>f4>f5>f6') throw new Error(`chain returned ${text}`);
      times.push(performance.now() - t);
      tick('chain of 6');
    }
    const gatewayEarly = platform.chainGateway.metrics().earlyDataCalls;
    rows.push({ scenario: 'chain of 6 (f1 → … → f6)', samples: times.length, 'median ms': median(times).toFixed(2), 'sent in 0-RTT': `${gatewayEarly} gateway calls` });
  }
} finally {
  await platform.stop();
}
if (process.stdout.isTTY) process.stdout.write('\n');
console.log('qfaas mini-platform: every hop is QUIC + TLS 1.3 (mutual), workers are child processes');
console.table(rows);
console.log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
process.exit(0);
