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

/** Every 0-RTT policy, for validating configuration. */
export const zeroRttPolicies: readonly ZeroRttPolicy[] = ['idempotent', 'safe', 'always', 'never'];

const safeMethods: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);
const idempotentMethods: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** Headers as web Headers, a plain record, name/value pairs, or a flat list `[name, value, …]`. */
export type HeadersLike =
  | Headers
  | Readonly<Record<string, string | number | readonly string[] | undefined>>
  | ReadonlyArray<readonly [string, string]>
  | readonly string[];

/**
 * The value of a header (`name` in lower case), repeated values joined with ', ' as
 * `Headers.get` does; undefined when absent. A record is looked up directly first (received
 * headers have lower-case names), then case-insensitively.
 */
export function headerValue(headers: HeadersLike, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  if (Array.isArray(headers)) {
    const list = headers as ReadonlyArray<string | readonly [string, string]>;
    const flat = typeof list[0] === 'string';
    let joined: string | undefined;
    for (let i = 0; i < list.length; i += flat ? 2 : 1) {
      const [key, value] = flat ? [list[i] as string, list[i + 1] as string] : (list[i] as readonly [string, string]);
      if (key.toLowerCase() === name) joined = joined === undefined ? value : `${joined}, ${value}`;
    }
    return joined;
  }
  const record = headers as Readonly<Record<string, string | number | readonly string[] | undefined>>;
  let value = record[name];
  if (value === undefined) {
    for (const key in record) if (key.toLowerCase() === name) value = record[key];
  }
  if (value === undefined || typeof value === 'string') return value;
  return typeof value === 'number' ? String(value) : value.join(', ');
}

function hasIdempotencyKey(headers: HeadersLike): boolean {
  return (headerValue(headers, 'idempotency-key') ?? '').trim() !== '';
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
