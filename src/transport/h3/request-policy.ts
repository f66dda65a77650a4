import type { RequestHead } from './message.js';

/**
 * Which well-formed requests this server answers itself with an error instead of running them.
 * (Malformed ones never get here: `parseRequestHead` resets them with H3_MESSAGE_ERROR.)
 */

/**
 * Methods the server runs (RFC 9110 section 9 and PATCH, RFC 5789). Methods are case-sensitive
 * (RFC 9110 section 9.1): `get` is not GET, although a web `Request` would silently turn it into
 * GET. CONNECT (no tunnels here), TRACE and extension methods are not implemented.
 */
export const servedMethods: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']);

/**
 * The status to answer instead of running the request, or undefined to run it:
 * - 501 Not Implemented for a method outside {@link servedMethods} (RFC 9110 section 15.6.2);
 * - 421 Misdirected Request for any `:scheme` but `https` (RFC 9110 section 15.5.20): a worker is
 *   the origin only of `https` URIs on its own certificate, and is no gateway to other schemes,
 *   which RFC 9114 section 4.3.1 leaves to proxies that choose to translate them.
 */
export function requestRefusal(head: RequestHead): 421 | 501 | undefined {
  if (!servedMethods.has(head.method)) return 501;
  if (head.scheme !== 'https') return 421;
  return undefined;
}
