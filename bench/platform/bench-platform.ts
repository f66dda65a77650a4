/**
 * The mini-platform (examples/mini-platform) as the benchmarks run it: the same platform with the
 * switches a comparison needs, set through the platform's extension points:
 *   - `hops`: QUIC (the platform's own), or HTTP/1.1 or HTTPS (http-gateway-hops.ts);
 *   - `connections: 'new'`: no hop keeps a connection between calls (the paper's non-continuous
 *     chains): the gateway drops its idle connections before every call to a worker, and so does
 *     each worker's chain client before every chained call (worker.ts);
 *   - `link`: the gateway outside a delay link's namespace, every worker inside it
 *     (`ip netns exec`, root), so that every hop crosses the link.
 */
import { fileURLToPath } from 'node:url';
import type { GatewayHops } from '../../examples/mini-platform/hops.js';
import { MiniPlatform } from '../../examples/mini-platform/platform.js';
import type { QuicHops } from '../../examples/mini-platform/quic-hops.js';
import type { WorkerPlacement } from '../../examples/mini-platform/worker-placement.js';
import type { DelayLink } from '../link/delay-link.js';
import { httpGatewayHops, type HttpGatewayHops } from './http-gateway-hops.js';
import type { HttpScheme } from './http-hops.js';

export interface BenchPlatformOptions {
  /** The internal hops' transport. */
  hops: 'quic' | HttpScheme;
  /** Whether hops keep connections between calls ('kept': pooled, keep-alive) or open one per call. @default 'kept' */
  connections?: 'kept' | 'new';
  /** Workers inside this link's namespace, the gateway outside. @default everything on 127.0.0.1 */
  link?: DelayLink;
  /** As MiniPlatformOptions.idleMs. */
  idleMs?: number;
}

const workerScript = fileURLToPath(new URL('./worker.ts', import.meta.url));

/** Where the harness's workers (worker.ts, with the hops and connections switches) run. */
function benchWorkers(options: BenchPlatformOptions): WorkerPlacement {
  const node = [process.execPath, '--import', 'tsx', workerScript, `--hops=${options.hops}`, `--connections=${options.connections ?? 'kept'}`] as const;
  const link = options.link;
  if (link === undefined) return { workerHost: '127.0.0.1', gatewayHost: '127.0.0.1', command: node };
  // `ip netns exec` runs node itself in the namespace (same pid): stdin EOF and kill reach the worker.
  return { workerHost: link.insideAddress, gatewayHost: link.outsideAddress, command: ['ip', 'netns', 'exec', link.namespace, ...node] };
}

export function startBenchPlatform(options: BenchPlatformOptions & { hops: 'quic' }): Promise<MiniPlatform<QuicHops>>;
export function startBenchPlatform(options: BenchPlatformOptions & { hops: HttpScheme }): Promise<MiniPlatform<HttpGatewayHops>>;
export function startBenchPlatform(options: BenchPlatformOptions): Promise<MiniPlatform<GatewayHops>>;
export async function startBenchPlatform(options: BenchPlatformOptions): Promise<MiniPlatform<GatewayHops>> {
  const common = {
    workers: benchWorkers(options),
    ...(options.idleMs === undefined ? {} : { idleMs: options.idleMs }),
    ...(options.connections === 'new' ? { beforeWorkerCall: (hops: GatewayHops) => hops.client.closeIdleConnections() } : {}),
  };
  return options.hops === 'quic' ? MiniPlatform.start(common) : MiniPlatform.start({ ...common, hops: httpGatewayHops(options.hops) });
}
