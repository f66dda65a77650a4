/**
 * CPU profiles for the benchmarks: start and stop V8's sampling profiler in this process
 * (node:inspector), and boil a profile down to self time by category and by function, so that a
 * missed target can say where the time goes.
 */
import { Session } from 'node:inspector/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  /** Wall time profiled, ms. */
  totalMs: number;
  /** CPU time of the process (user + system) while profiling, ms: the profile's busy time is an estimate, this is not. */
  cpuMs: number;
  /** Self time per category, ms, largest first. */
  categories: Array<[category: string, ms: number]>;
  /** The functions with the most self time, ms. */
  functions: Array<[fn: string, ms: number]>;
}

/** Starts profiling; the returned function stops and returns the profile with the process' CPU time. */
export async function startProfiler(intervalUs = 200): Promise<() => Promise<{ profile: CpuProfile; cpuMs: number }>> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: intervalUs });
  await session.post('Profiler.start');
  const cpuAtStart = process.cpuUsage();
  return async () => {
    const cpu = process.cpuUsage(cpuAtStart);
    const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: CpuProfile };
    session.disconnect();
    return { profile, cpuMs: (cpu.user + cpu.system) / 1000 };
  };
}

/** Which part of the stack a frame belongs to; the first rule that matches wins. */
const categoryRules: Array<[RegExp, string]> = [
  [/^\(idle\)$/, 'idle (waiting for the network)'],
  [/^\(garbage collector\)$/, 'garbage collection'],
  [/^\(program\)$/, 'V8 and native, not attributed'],
  [/src\/transport\/quic\/binding|quiche|@matrixai/, 'quiche (QUIC, TLS) through N-API'],
  // V8 names native time after the last native callback entered, so this mixes quiche (qfaas),
  // OpenSSL (node:https) and socket system calls.
  [/^native:/, 'native code: quiche or OpenSSL, socket system calls'],
  [/src\/transport\/quic\//, 'qfaas QUIC driver and endpoint'],
  [/src\/transport\/h3\/qpack/, 'qfaas QPACK'],
  [/src\/transport\/h3\//, 'qfaas HTTP/3'],
  [/src\/(invoker-client|handler-server|replay-guard|zero-rtt)\//, 'qfaas invoker, handler server, guard'],
  [/undici|node:internal\/deps\/undici|internal\/webstreams|internal\/webidl|internal\/url/, 'web Request, Response, streams (undici)'],
  [/node:dgram|internal\/dgram|udp_wrap/, 'node:dgram (UDP sockets)'],
  [/node:_tls|node:tls|internal\/tls|TLSWrap|node:https|_tls_/, 'node:tls / node:https'],
  [/node:_http|node:http|internal\/http|HTTPParser/, 'node:http'],
  [/node:net|internal\/net|stream_base|internal\/stream/, 'node:net and node streams'],
  [/^node:|internal\//, 'other Node.js internals'],
  [/node_modules/, 'other dependencies'],
];

function categorize(frame: ProfileNode['callFrame']): string {
  const key = frame.url === '' ? (frame.functionName.startsWith('(') ? frame.functionName : `native:${frame.functionName}`) : frame.url;
  for (const [rule, category] of categoryRules) if (rule.test(key) || rule.test(frame.functionName)) return category;
  return 'other';
}

export function summarizeProfile({ profile, cpuMs }: { profile: CpuProfile; cpuMs: number }, top = 12): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    // A sample's delta is the time until the next sample.
    const delta = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  }
  const categories = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const frame = (byId.get(id) as ProfileNode).callFrame;
    const category = categorize(frame);
    categories.set(category, (categories.get(category) ?? 0) + us / 1000);
    if (category.startsWith('idle')) continue;
    const file = frame.url.replace(/^.*\/(src|node_modules)\//, '$1/').replace(/^file:\/\//, '');
    const name = `${frame.functionName || '(anonymous)'} ${file === '' ? '' : `(${file}:${frame.lineNumber + 1})`}`.trim();
    functions.set(name, (functions.get(name) ?? 0) + us / 1000);
  }
  const sorted = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1]);
  return { totalMs: (profile.endTime - profile.startTime) / 1000, cpuMs, categories: sorted(categories), functions: sorted(functions).slice(0, top) };
}
