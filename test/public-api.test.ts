import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { qfaasErrorCodes } from '../src/errors.js';
import { apiDocWithSection, errorCodes, optionsWithoutDefault, publicNames } from '../scripts/public-api.js';

describe('the public API', () => {
  it('docs/api.md lists exactly what the entry points export (npm run api:list rewrites the list)', () => {
    const doc = readFileSync('docs/api.md', 'utf8');
    expect(doc).toContain('<!-- public-api:start -->');
    expect(apiDocWithSection(doc)).toBe(doc);
  });

  it("qfaas exports every subpath's names, each under one name only", () => {
    const names = publicNames();
    const main = new Set((names.get('qfaas') ?? []).map((item) => item.name));
    const missing = [...names].filter(([subpath]) => subpath !== 'qfaas').flatMap(([subpath, list]) => list.filter((item) => !main.has(item.name)).map((item) => `${subpath}: ${item.name}`));
    expect(missing).toEqual([]);
  });

  it('every public name has a TSDoc summary', () => {
    const undocumented = [...publicNames()].flatMap(([subpath, list]) => list.filter((item) => item.summary === '').map((item) => `${subpath}: ${item.name}`));
    expect(undocumented).toEqual([]);
  });

  it('every public error class has literal codes, each code belonging to one class', () => {
    const codes = errorCodes();
    expect(codes.filter((row) => row.code === '(not a literal)')).toEqual([]);
    expect(codes.map((row) => row.errorClass)).toContain('InvokerError');
    const owners = new Map<string, string>();
    for (const { code, errorClass } of codes) {
      expect(owners.get(code) ?? errorClass).toBe(errorClass);
      owners.set(code, errorClass);
    }
  });

  it('one code namespace: the classes carry exactly the codes of qfaasErrorCodes, all QFAAS_*', () => {
    const carried = errorCodes().map((row) => row.code);
    expect([...new Set(carried)].sort()).toEqual(Object.keys(qfaasErrorCodes).sort());
    for (const code of carried) expect(code).toMatch(/^QFAAS_[A-Z0-9_]+$/);
  });

  it('every optional option says what leaving it out means (@default)', () => {
    expect(optionsWithoutDefault()).toEqual([]);
  });

  it('no public name carries the native binding’s name', () => {
    const all = [...publicNames().values()].flat().map((item) => item.name);
    expect(all.filter((name) => /quiche/i.test(name))).toEqual([]);
  });

  it('no codec or stream-level internal is public', () => {
    const transport = (publicNames().get('qfaas/transport') ?? []).map((item) => item.name);
    for (const internal of ['FrameReader', 'encodeFrame', 'encodeFieldSection', 'decodeFieldSection', 'huffmanDecode', 'readVarint', 'encodeVarint', 'frameType', 'requestRefusal', 'h3TransportFor', 'connectionIdLength']) {
      expect(transport).not.toContain(internal);
    }
  });
});
