import { RequestTargetError } from '../errors.js';

/**
 * What a proxy may send upstream as a request target: a path, never a place. A proxy that resolves
 * the incoming target against its upstream (`new URL(target, base)`) lets `//host/x`, `/\host/x`
 * or `http://host/x` choose another host (SSRF). Here the target is checked as text, before any URL
 * parser sees it, and the upstream URL is built by concatenation onto a fixed origin.
 */

/**
 * RFC 3986 `pchar` without `%` (checked separately): unreserved, sub-delims, ':' and '@'. No
 * backslash (URL parsers read it as '/'), no '#', no space or control character, no non-ASCII.
 */
const segmentChar = /^[A-Za-z0-9\-._~!$&'()*+,;=:@]$/;
/**
 * RFC 3986 query characters (pchar, '/', '?', '%' for escapes), plus those a WHATWG URL leaves
 * unescaped in a query (`[ ] { } | ^ \` " < >`), which fetch() clients send. A query cannot move
 * the origin once the path is checked; backslash, '#', spaces and controls are still refused.
 */
const queryText = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/?%[\]{}|^`"<>]*$/;
const percentEscape = /%(?![0-9A-Fa-f]{2})/;

/**
 * Checks that `target` is origin-form (`/path?query`) and that no reading of it can leave the
 * origin it is appended to. Returns it unchanged; throws {@link RequestTargetError} otherwise.
 *
 * Refused: anything not starting with exactly one '/' (absolute-form `http://h/x`,
 * authority-form `h:443`, asterisk-form `*`, network-path `//h/x`); empty segments (`a//b`);
 * backslashes, raw or escaped (`%5c`); escaped slashes (`%2f`) and NUL (`%00`), which some servers
 * decode into structure; dot segments (`.`, `..`, `%2e`, `.%2E`), which a server may resolve above
 * the root; characters outside RFC 3986 in the path (see `queryText` for the query); malformed `%`
 * escapes; targets over `maxLength`.
 */
export function checkRequestTarget(target: string, maxLength = 8192): string {
  if (target.length === 0) throw new RequestTargetError('empty request target');
  if (target.length > maxLength) throw new RequestTargetError(`request target longer than ${maxLength}`);
  if (target[0] !== '/') throw new RequestTargetError('request target is not a path (origin-form starts with "/")');
  const queryAt = target.indexOf('?');
  const path = queryAt === -1 ? target : target.slice(0, queryAt);
  const query = queryAt === -1 ? '' : target.slice(queryAt + 1);
  if (percentEscape.test(target)) throw new RequestTargetError('malformed percent-escape');
  // Segments after the leading '/'; a trailing '/' leaves one empty last segment, which is allowed.
  const segments = path.slice(1).split('/');
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as string;
    if (segment === '' && i < segments.length - 1) throw new RequestTargetError('empty path segment ("//")');
    checkSegment(segment);
  }
  if (!queryText.test(query)) throw new RequestTargetError('character not allowed in the query');
  return target;
}

function checkSegment(segment: string): void {
  let decoded = '';
  for (let i = 0; i < segment.length; i++) {
    const char = segment[i] as string;
    if (char === '%') {
      const byte = Number.parseInt(segment.slice(i + 1, i + 3), 16);
      if (byte === 0x2f || byte === 0x5c || byte === 0x00) throw new RequestTargetError('escaped "/", "\\" or NUL in the path');
      decoded += String.fromCharCode(byte);
      i += 2;
      continue;
    }
    if (!segmentChar.test(char)) throw new RequestTargetError('character not allowed in the path');
    decoded += char;
  }
  if (decoded === '.' || decoded === '..') throw new RequestTargetError('dot segment in the path');
}

/**
 * The upstream URL for a checked target: the upstream's origin followed by the target, as text.
 * Asserts, as a last line, that the result still has the upstream's origin.
 */
export function upstreamUrlFor(origin: URL, target: string): URL {
  const url = new URL(`${origin.origin}${checkRequestTarget(target)}`);
  if (url.origin !== origin.origin) throw new RequestTargetError('request target would leave the upstream origin');
  return url;
}
