/** Benchmarks' entry to the delay link: parse `--delay-us=N`, build the link, refuse it if its self-check fails. */
import { createDelayLink, isRoot, type DelayLink, type LinkSelfCheck } from './delay-link.js';

/** `--delay-us=N` from the command line; undefined (with a message) when absent or without root. */
export function linkDelayArgument(argv: readonly string[] = process.argv): number | undefined {
  const argument = argv.find((value) => value.startsWith('--delay-us='));
  if (argument === undefined) return undefined;
  const delayUs = Number(argument.slice('--delay-us='.length));
  if (!(Number.isInteger(delayUs) && delayUs >= 0)) throw new Error('--delay-us must be a whole number of microseconds');
  if (!isRoot()) {
    console.log('The delay link needs root (network namespaces and TUN devices): running on loopback instead.');
    return undefined;
  }
  return delayUs;
}

/**
 * The paper-figure benchmarks' delay: `--delay-us=N`, else `defaultUs` with root; undefined (loopback)
 * without root, with a message.
 */
export function figureDelayUs(defaultUs = 500, argv: readonly string[] = process.argv): number | undefined {
  if (argv.some((value) => value.startsWith('--delay-us='))) return linkDelayArgument(argv);
  if (isRoot()) return defaultUs;
  console.log('The delay link needs root (network namespaces and TUN devices): measuring on loopback.');
  return undefined;
}

/** One line for output and docs, e.g. "link self-check: UDP echo RTT 1.139 ms, …". */
export function describeSelfCheck(check: LinkSelfCheck): string {
  const ms = (us: number) => (us / 1000).toFixed(3);
  return `link self-check: UDP echo RTT ${ms(check.rttUs)} ms, floor ${ms(check.floorRttUs)} ms, added ${ms(check.addedRttUs)} ms for 2 × ${check.delayUs} µs (tolerance ±${ms(check.toleranceUs)} ms)`;
}

/** A checked link's description and its measured UDP round trip. */
export interface LinkMeasurement {
  line: string;
  /** Median UDP echo RTT through the link, in ms: the RTT the physical floors use. */
  rttMs: number;
}

/**
 * Sets the link to `delayUs` and checks it; out of tolerance, closes it and throws. `strict: false`
 * (quick smoke runs, which print and do not gate on numbers) warns instead.
 */
export async function measureLink(link: DelayLink, delayUs: number, options: { strict?: boolean } = {}): Promise<LinkMeasurement> {
  await link.setDelay(delayUs);
  const check = await link.selfCheck();
  const line = describeSelfCheck(check);
  console.log(line);
  const rttMs = check.rttUs / 1000;
  if (!check.ok && options.strict === false) {
    console.log('warning: the link is outside its tolerance; quick-run numbers at this delay are not trustworthy');
    return { line: `${line}, outside tolerance`, rttMs };
  }
  if (!check.ok) {
    await link.close();
    throw new Error(`the delay link is outside its tolerance at ${delayUs} µs: results would not be trustworthy`);
  }
  return { line, rttMs };
}

/** `--mtu=N` from the command line (the link's MTU, for jumbo frames); undefined when absent. */
export function linkMtuArgument(argv: readonly string[] = process.argv): number | undefined {
  const argument = argv.find((value) => value.startsWith('--mtu='));
  if (argument === undefined) return undefined;
  const mtu = Number(argument.slice('--mtu='.length));
  if (!(Number.isInteger(mtu) && mtu >= 1280 && mtu <= 9000)) throw new Error('--mtu must be a whole number from 1280 to 9000');
  return mtu;
}

export async function checkedLink(delayUs: number, options: { strict?: boolean; mtu?: number } = {}): Promise<{ link: DelayLink } & LinkMeasurement> {
  const link = await createDelayLink({ delayUs, ...(options.mtu === undefined ? {} : { mtu: options.mtu }) });
  return { link, ...(await measureLink(link, delayUs, options)) };
}
