import { streamError } from './protocol-errors.js';
import type { Field } from './qpack/field-section.js';

/**
 * HTTP/3 message rules (RFC 9114 section 4.1.2 and 4.3): what makes a header section malformed,
 * and the conversion between field lists and web Headers. A malformed message is a stream error
 * H3_MESSAGE_ERROR: it resets that request only.
 */

/** Connection-specific fields, forbidden in HTTP/3 (RFC 9114 section 4.2). */
const connectionSpecific: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
]);

/** RFC 9110 token characters, lowercase only (HTTP/3 field names must be lowercase). */
const fieldName = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
/** RFC 3986 section 3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ). */
const schemeText = /^[A-Za-z][A-Za-z0-9+.-]*$/;
/**
 * host [ ":" port ] (RFC 3986 section 3.2), IP literals in brackets; no userinfo, which RFC 9114
 * section 4.3.1 forbids, and nothing that would end the authority inside a URL ('/', '?', '#', '\\').
 */
const authorityText = /^[A-Za-z0-9\-._~!$&'()*+,;=%:[\]]*$/;
/** No NUL, CR or LF anywhere, no leading or trailing whitespace (RFC 9114 section 4.2). */
const forbiddenInValue = /[\0\r\n]|^[ \t]|[ \t]$/;

export interface RequestHead {
  method: string;
  scheme: string | undefined;
  authority: string | undefined;
  path: string | undefined;
  headers: Field[];
}

export interface ResponseHead {
  status: number;
  headers: Field[];
}

function checkRegularField(name: string, value: string): void {
  if (!fieldName.test(name)) throw streamError('H3_MESSAGE_ERROR', `invalid field name "${printable(name)}"`);
  if (forbiddenInValue.test(value)) throw streamError('H3_MESSAGE_ERROR', `invalid value for field "${name}"`);
  if (connectionSpecific.has(name)) throw streamError('H3_MESSAGE_ERROR', `connection-specific field "${name}"`);
  if (name === 'te' && value.toLowerCase() !== 'trailers') throw streamError('H3_MESSAGE_ERROR', 'te other than "trailers"');
}

/** Splits and checks a request header section; throws H3_MESSAGE_ERROR when malformed. */
export function parseRequestHead(fields: readonly Field[]): RequestHead {
  const pseudo = new Map<string, string>();
  const headers: Field[] = [];
  for (const [name, value] of fields) {
    if (name.startsWith(':')) {
      if (headers.length > 0) throw streamError('H3_MESSAGE_ERROR', `pseudo-header ${name} after a regular field`);
      if (name !== ':method' && name !== ':scheme' && name !== ':authority' && name !== ':path' && name !== ':protocol') {
        throw streamError('H3_MESSAGE_ERROR', `pseudo-header ${printable(name)} is not allowed in a request`);
      }
      if (pseudo.has(name)) throw streamError('H3_MESSAGE_ERROR', `pseudo-header ${name} repeated`);
      if (forbiddenInValue.test(value)) throw streamError('H3_MESSAGE_ERROR', `invalid value for ${name}`);
      pseudo.set(name, value);
      continue;
    }
    checkRegularField(name, value);
    // Host stands in for :authority when that is absent: the same rules apply.
    if (name === 'host' && !authorityText.test(value)) throw streamError('H3_MESSAGE_ERROR', 'invalid host');
    headers.push([name, value]);
  }
  const method = pseudo.get(':method');
  if (method === undefined || method === '') throw streamError('H3_MESSAGE_ERROR', 'request without :method');
  if (!fieldName.test(method.toLowerCase())) throw streamError('H3_MESSAGE_ERROR', 'invalid :method');
  if (pseudo.has(':protocol')) throw streamError('H3_MESSAGE_ERROR', 'extended CONNECT is not supported');
  const authority = pseudo.get(':authority');
  if (method === 'CONNECT') {
    if (pseudo.has(':scheme') || pseudo.has(':path') || authority === undefined) {
      throw streamError('H3_MESSAGE_ERROR', 'CONNECT carries :authority only');
    }
    return { method, scheme: undefined, authority, path: undefined, headers };
  }
  if (authority !== undefined && !authorityText.test(authority)) throw streamError('H3_MESSAGE_ERROR', 'invalid :authority (no userinfo, path or spaces)');
  const scheme = pseudo.get(':scheme');
  const path = pseudo.get(':path');
  if (scheme === undefined || scheme === '') throw streamError('H3_MESSAGE_ERROR', 'request without :scheme');
  if (!schemeText.test(scheme)) throw streamError('H3_MESSAGE_ERROR', 'invalid :scheme');
  if (path === undefined || path === '') throw streamError('H3_MESSAGE_ERROR', 'request without :path');
  if ((scheme === 'http' || scheme === 'https') && (authority === undefined || authority === '')) {
    if (!headers.some(([name]) => name === 'host')) {
      throw streamError('H3_MESSAGE_ERROR', 'request without :authority or host');
    }
  }
  if (path !== '*' && !path.startsWith('/')) throw streamError('H3_MESSAGE_ERROR', ':path must start with "/"');
  return { method, scheme, authority, path, headers };
}

/** Splits and checks a response header section; throws H3_MESSAGE_ERROR when malformed. */
export function parseResponseHead(fields: readonly Field[]): ResponseHead {
  let status: number | undefined;
  const headers: Field[] = [];
  for (const [name, value] of fields) {
    if (name.startsWith(':')) {
      if (headers.length > 0) throw streamError('H3_MESSAGE_ERROR', `pseudo-header ${name} after a regular field`);
      if (name !== ':status') throw streamError('H3_MESSAGE_ERROR', `pseudo-header ${printable(name)} is not allowed in a response`);
      if (status !== undefined) throw streamError('H3_MESSAGE_ERROR', ':status repeated');
      if (!/^[1-9]\d\d$/.test(value)) throw streamError('H3_MESSAGE_ERROR', `invalid :status "${printable(value)}"`);
      status = Number(value);
      continue;
    }
    checkRegularField(name, value);
    headers.push([name, value]);
  }
  if (status === undefined) throw streamError('H3_MESSAGE_ERROR', 'response without :status');
  if (status === 101) throw streamError('H3_MESSAGE_ERROR', '101 Switching Protocols is not allowed in HTTP/3');
  return { status, headers };
}

/** Trailers carry no pseudo-headers (RFC 9114 section 4.3). */
export function checkTrailers(fields: readonly Field[]): Field[] {
  for (const [name, value] of fields) {
    if (name.startsWith(':')) throw streamError('H3_MESSAGE_ERROR', `pseudo-header ${printable(name)} in trailers`);
    checkRegularField(name, value);
  }
  return [...fields];
}

/**
 * The declared content-length, if any. Several identical values are one value (RFC 9110 section
 * 8.6); differing or non-numeric values are malformed.
 */
export function declaredContentLength(headers: readonly Field[]): number | undefined {
  let declared: number | undefined;
  for (const [name, value] of headers) {
    if (name !== 'content-length') continue;
    for (const part of value.split(',')) {
      const trimmed = part.trim();
      if (!/^\d{1,15}$/.test(trimmed)) throw streamError('H3_MESSAGE_ERROR', 'invalid content-length');
      const length = Number(trimmed);
      if (declared !== undefined && declared !== length) throw streamError('H3_MESSAGE_ERROR', 'conflicting content-length values');
      declared = length;
    }
  }
  return declared;
}



/** Shows control characters in error messages without echoing them raw. */
function printable(value: string): string {
  const clipped = value.length > 64 ? `${value.slice(0, 64)}…` : value;
  return clipped.replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
