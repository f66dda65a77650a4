/**
 * Which requests may travel in 0-RTT early data, where a captured flight could be replayed
 * (RFC 8446 section 8, RFC 8470, RFC 9114 section 10.9).
 *
 * - `'idempotent'` (default): RFC 9110 section 9.2.2 idempotent methods (GET, HEAD, OPTIONS, TRACE,
 *   PUT, DELETE), or any request carrying an `Idempotency-Key` header.
 * - `'safe'`: RFC 9110 section 9.2.1 safe methods that carry no state change: GET, HEAD, OPTIONS.
 * - `'always'`: everything (the QFaaS paper's default; only with a server-side replay guard).
 * - `'never'`: nothing; every request waits for the handshake.
 */
export type ZeroRttPolicy = 'idempotent' | 'safe' | 'always' | 'never';

export const zeroRttPolicies: readonly ZeroRttPolicy[] = ['idempotent', 'safe', 'always', 'never'];

const safeMethods: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);
const idempotentMethods: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** Headers as web Headers, a plain record, or name/value pairs. */
export type HeadersLike = Headers | Readonly<Record<string, string | readonly string[] | undefined>> | ReadonlyArray<readonly [string, string]>;

function hasIdempotencyKey(headers: HeadersLike): boolean {
  if (headers instanceof Headers) return (headers.get('idempotency-key') ?? '').trim() !== '';
  if (Array.isArray(headers)) {
    return (headers as ReadonlyArray<readonly [string, string]>).some(([name, value]) => name.toLowerCase() === 'idempotency-key' && value.trim() !== '');
  }
  for (const [name, value] of Object.entries(headers as Record<string, string | readonly string[] | undefined>)) {
    if (name.toLowerCase() !== 'idempotency-key' || value === undefined) continue;
    const values = typeof value === 'string' ? [value] : value;
    if (values.some((v) => v.trim() !== '')) return true;
  }
  return false;
}

/** True if a request with this method and headers may be sent in 0-RTT under `policy`. */
export function isEarlyDataEligible(method: string, headers: HeadersLike, policy: ZeroRttPolicy = 'idempotent'): boolean {
  const upper = method.toUpperCase();
  switch (policy) {
    case 'always':
      return true;
    case 'never':
      return false;
    case 'safe':
      return safeMethods.has(upper);
    case 'idempotent':
      return idempotentMethods.has(upper) || hasIdempotencyKey(headers);
    default:
      return false;
  }
}
