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

/** One line for output and docs, e.g. "link self-check: UDP echo RTT 1.139 ms, …". */
export function describeSelfCheck(check: LinkSelfCheck): string {
  const ms = (us: number) => (us / 1000).toFixed(3);
  return `link self-check: UDP echo RTT ${ms(check.rttUs)} ms, floor ${ms(check.floorRttUs)} ms, added ${ms(check.addedRttUs)} ms for 2 × ${check.delayUs} µs (tolerance ±${ms(check.toleranceUs)} ms)`;
}

/**
 * Sets the link to `delayUs` and checks it; out of tolerance, closes it and throws. `strict: false`
 * (quick smoke runs, which print and do not gate on numbers) warns instead.
 */
export async function checkLink(link: DelayLink, delayUs: number, options: { strict?: boolean } = {}): Promise<string> {
  await link.setDelay(delayUs);
  const check = await link.selfCheck();
  const line = describeSelfCheck(check);
  console.log(line);
  if (!check.ok && options.strict === false) {
    console.log('warning: the link is outside its tolerance; quick-run numbers at this delay are not trustworthy');
    return `${line}, outside tolerance`;
  }
  if (!check.ok) {
    await link.close();
    throw new Error(`the delay link is outside its tolerance at ${delayUs} µs: results would not be trustworthy`);
  }
  return line;
}

export async function checkedLink(delayUs: number, options: { strict?: boolean } = {}): Promise<{ link: DelayLink; line: string }> {
  const link = await createDelayLink({ delayUs });
  return { link, line: await checkLink(link, delayUs, options) };
}
