import { QfaasConfigError, RequestTargetError } from '../errors.js';
import { checkRequestTarget } from '../handler-server/request-target.js';

const functionName = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/**
 * The gateway path for a call: `/function/<name>` or `/async-function/<name>`, followed by the
 * path and query the caller gave after the name (`'pricing/quote?currency=eur'`). The name must be
 * a lowercase DNS label; the rest is checked as the gateway and the worker check it (no dot
 * segments, escaped slashes or characters a URL parser would rewrite), so a call that passes here
 * reaches the function it names.
 */
export function functionTarget(kind: 'function' | 'async-function', target: string): string {
  const split = target.search(/[/?]/);
  const name = split === -1 ? target : target.slice(0, split);
  const rest = split === -1 ? '' : target.slice(split);
  if (!functionName.test(name)) {
    throw new QfaasConfigError('functionName', 'must be a lowercase DNS label, optionally followed by a path or query ("pricing/quote?x=1")');
  }
  const path = `/${kind}/${name}${rest}`;
  try {
    return checkRequestTarget(path);
  } catch (error) {
    if (error instanceof RequestTargetError) throw new QfaasConfigError('functionName', `its path or query is refused: ${error.message}`);
    throw error;
  }
}
