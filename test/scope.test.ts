import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { longTestFiles, systemMarkers, systemTestFiles } from './scope.js';

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

describe('test scope (npm test runs everything; npm run test:unit needs only npm install)', () => {
  const files = testFiles('test');

  it('every file that needs root, Go or Redis is left out of the unit scope', () => {
    const needingSystem = files.filter((file) => systemMarkers.some((marker) => marker.test(readFileSync(file, 'utf8'))));
    expect(needingSystem.length).toBeGreaterThan(0);
    expect(needingSystem.filter((file) => !systemTestFiles.includes(file))).toEqual([]);
  });

  it('every listed file exists, once', () => {
    const listed = [...systemTestFiles, ...longTestFiles];
    expect(listed.filter((file) => !existsSync(file))).toEqual([]);
    expect(new Set(listed).size).toBe(listed.length);
  });
});
