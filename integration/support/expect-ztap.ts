import { expect } from 'vitest';
import type { ZtapResult } from './ztap.ts';

/** The exit code, and exactly one line on stderr starting with "ztap: " that matches `pattern`. */
export function expectOneLine(result: ZtapResult, code: number, pattern: RegExp): void {
  expect(result.code, result.stderr).toBe(code);
  expect(result.stderr).toMatch(/^ztap: [^\n]*\n$/);
  expect(result.stderr).toMatch(pattern);
}
