import { Http3Error } from '../../errors.js';
import { h3ErrorCodes } from './error-codes.js';
import type { Field } from './qpack/field-section.js';

/**
 * Headers to send, in the forms undici and Node's http accept: a plain object (a value may be a
 * list, or a number), or a flat list `[name, value, name, value, …]`. Names are case-insensitive.
 */
export type OutgoingHeaders = Readonly<Record<string, string | number | readonly string[] | undefined>> | readonly string[];

/** Received headers: lower-case names; repeated fields joined with ', ' (as web `Headers.get`). */
export type IncomingHeaders = Record<string, string>;

/** Fields that belong to one HTTP/1.1 connection and are never sent in HTTP/3 (RFC 9114 section 4.2). */
const connectionSpecific: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host']);
const fieldName = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const forbiddenInValue = /[\0\r\n]/;

function invalid(detail: string): Http3Error {
  return new Http3Error(h3ErrorCodes.H3_MESSAGE_ERROR, detail, { scope: 'stream', initiator: 'local' });
}

function push(out: Field[], rawName: string, rawValue: string | number): void {
  const name = rawName.toLowerCase();
  if (!fieldName.test(name)) throw invalid(`invalid header name ${JSON.stringify(rawName.slice(0, 64))}`);
  if (connectionSpecific.has(name)) return;
  // Checked before trimming: a trailing CR or LF is refused, not silently dropped.
  if (typeof rawValue !== 'number' && forbiddenInValue.test(rawValue)) throw invalid(`invalid value for header "${name}"`);
  const value = typeof rawValue === 'number' ? String(rawValue) : rawValue.trim();
  if (name === 'te' && value.toLowerCase() !== 'trailers') return;
  out.push([name, value]);
}

/**
 * Appends headers to a field list, lower-casing names and dropping connection-specific ones;
 * a name or value that cannot be sent is refused (H3_MESSAGE_ERROR, local) before anything leaves.
 */
export function appendOutgoingHeaders(out: Field[], headers: OutgoingHeaders | undefined): Field[] {
  if (headers === undefined) return out;
  if (Array.isArray(headers)) {
    const flat = headers as readonly string[];
    if (flat.length % 2 !== 0) throw invalid('a flat header list needs an even number of entries');
    for (let i = 0; i < flat.length; i += 2) push(out, flat[i] as string, flat[i + 1] as string);
    return out;
  }
  const record = headers as Readonly<Record<string, string | number | readonly string[] | undefined>>;
  for (const name in record) {
    const value = record[name];
    if (value === undefined) continue;
    if (typeof value === 'string' || typeof value === 'number') push(out, name, value);
    else for (const item of value) push(out, name, item);
  }
  return out;
}

/** Outgoing headers as a flat list `[name, value, …]` (a new array), for adding fields to the caller's. */
export function flatHeaderList(headers: OutgoingHeaders | undefined): string[] {
  if (headers === undefined) return [];
  if (Array.isArray(headers)) return [...(headers as readonly string[])];
  const flat: string[] = [];
  const record = headers as Readonly<Record<string, string | number | readonly string[] | undefined>>;
  for (const name in record) {
    const value = record[name];
    if (value === undefined) continue;
    if (typeof value === 'string' || typeof value === 'number') flat.push(name, String(value));
    else for (const item of value) flat.push(name, item);
  }
  return flat;
}

/** Appends web `Headers` to a field list (set-cookie kept as separate fields). */
export function appendWebHeaders(out: Field[], headers: Headers): Field[] {
  for (const [name, value] of headers) {
    if (connectionSpecific.has(name) || name === 'set-cookie') continue;
    if (name === 'te' && value.toLowerCase() !== 'trailers') continue;
    out.push([name, value]);
  }
  for (const cookie of headers.getSetCookie()) out.push(['set-cookie', cookie]);
  return out;
}

/** Received fields as a plain object without a prototype (a field named `__proto__` stays data). */
export function headersRecord(fields: readonly Field[]): IncomingHeaders {
  const record = Object.create(null) as IncomingHeaders;
  for (const [name, value] of fields) {
    const existing = record[name];
    record[name] = existing === undefined ? value : `${existing}, ${value}`;
  }
  return record;
}

/** Received fields as web `Headers`. */
export function webHeaders(fields: readonly Field[]): Headers {
  const headers = new Headers();
  for (const [name, value] of fields) headers.append(name, value);
  return headers;
}
