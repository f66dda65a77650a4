/**
 * The mini-platform across a delay link (docs/mini-platform.md): the gateway outside the link's
 * network namespace, every worker inside it, so every hop pays 0.5 ms each way. Needs root (network
 * namespaces, TUN devices) and gcc (the link's relay), as `npm run bench:fig8` does.
 *
 * Run (root): npx tsx examples/mini-platform/across-delay-link.ts
 */
import { getResponseInfo } from 'qfaas/invoker-client';
import { createDelayLink } from '../../bench/link/delay-link.js';
import { startBenchPlatform } from '../../bench/platform/bench-platform.js';

// #region link
const link = await createDelayLink({ delayUs: 500 });
const platform = await startBenchPlatform({ hops: 'quic', link });
// #endregion
try {
  for (const label of ['cold', 'warm']) {
    const started = performance.now();
    const response = await platform.invoke('f1'); // a chain of 6 functions, every hop across the link
    const text = await response.text();
    console.log(label, text, `${(performance.now() - started).toFixed(1)} ms`, `0-RTT: ${getResponseInfo(response)?.earlyData}`);
  }
} finally {
  await platform.stop();
  await link.close();
}
