import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lineDiff } from '../src/line-diff.ts';

const side = (lines: readonly { op: string; text: string }[], keep: string) =>
  lines.filter((line) => line.op === 'same' || line.op === keep).map((line) => line.text);

const splitLines = (text: string) => (text === '' ? [] : text.split('\n'));

/** The textbook O(N·M) dynamic programme: how many lines a shortest edit script keeps. */
function longestCommonSubsequence(a: readonly string[], b: readonly string[]): number {
  const table = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      (table[i] as number[])[j] =
        a[i - 1] === b[j - 1]
          ? ((table[i - 1] as number[])[j - 1] as number) + 1
          : Math.max((table[i - 1] as number[])[j] as number, (table[i] as number[])[j - 1] as number);
  return (table[a.length] as number[])[b.length] as number;
}

describe('lineDiff', () => {
  it('keeps common lines and marks what was removed and added, in order', () => {
    const { lines, truncated } = lineDiff('a\nb\nc\n', 'a\nx\nc\nd\n');
    expect(truncated).toBe(false);
    expect(lines).toEqual([
      { op: 'same', text: 'a' },
      { op: 'remove', text: 'b' },
      { op: 'add', text: 'x' },
      { op: 'same', text: 'c' },
      { op: 'add', text: 'd' },
    ]);
  });

  it('handles empty documents on either side', () => {
    expect(lineDiff('', 'a\n').lines).toEqual([{ op: 'add', text: 'a' }]);
    expect(lineDiff('a\n', '').lines).toEqual([{ op: 'remove', text: 'a' }]);
    expect(lineDiff('', '').lines).toEqual([]);
  });

  it('is a shortest edit script that rebuilds both documents', () => {
    const documents = fc
      .array(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 30 })
      .map((l) => l.join('\n'));
    fc.assert(
      fc.property(documents, documents, (before, after) => {
        const { lines, truncated } = lineDiff(before, after);
        expect(truncated).toBe(false);
        expect(side(lines, 'remove')).toEqual(splitLines(before));
        expect(side(lines, 'add')).toEqual(splitLines(after));
        const kept = lines.filter((line) => line.op === 'same').length;
        expect(kept).toBe(longestCommonSubsequence(splitLines(before), splitLines(after)));
      }),
    );
  });

  it('gives up past maxEdits with "all removed, all added", marked truncated', () => {
    const before = Array.from({ length: 50 }, (_, i) => `old ${i}`).join('\n');
    const after = Array.from({ length: 50 }, (_, i) => `new ${i}`).join('\n');
    const { lines, truncated } = lineDiff(before, after, 10);
    expect(truncated).toBe(true);
    expect(lines.filter((l) => l.op === 'remove')).toHaveLength(50);
    expect(lines.filter((l) => l.op === 'add')).toHaveLength(50);
  });
});
