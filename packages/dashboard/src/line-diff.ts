import type { WireDiffLine } from './wire.ts';

/**
 * A line diff of `before` → `after` (Myers' O((N+M)·D) algorithm, the one `git diff` starts from):
 * the shortest edit script, as lines kept, removed and added, in order. When more than `maxEdits`
 * lines differ the search stops and the result is "all removed, all added", marked `truncated`, so a
 * request can never cost more than O((N+M)·maxEdits).
 */
export function lineDiff(
  before: string,
  after: string,
  maxEdits = 1000,
): { lines: WireDiffLine[]; truncated: boolean } {
  const a = splitLines(before);
  const b = splitLines(after);
  const trace = shortestEditTrace(a, b, maxEdits);
  if (!trace) {
    return {
      lines: [
        ...a.map((text) => ({ op: 'remove' as const, text })),
        ...b.map((text) => ({ op: 'add' as const, text })),
      ],
      truncated: true,
    };
  }
  return { lines: backtrack(a, b, trace), truncated: false };
}

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/**
 * Myers' V arrays: before edit d, the furthest-reaching x on each diagonal k in -d-1..d+1, kept
 * (only that window: memory O(D²), not O(D·(N+M))) to walk the path back.
 */
interface Step {
  readonly d: number;
  readonly v: readonly number[];
}
const at = (step: Step, k: number) => step.v[k + step.d + 1] as number;

function shortestEditTrace(a: readonly string[], b: readonly string[], maxEdits: number): Step[] | undefined {
  const n = a.length;
  const m = b.length;
  const max = Math.min(n + m, maxEdits);
  const offset = max + 1;
  const v = new Array<number>(2 * max + 3).fill(0);
  const trace: Step[] = [];
  for (let d = 0; d <= max; d++) {
    trace.push({ d, v: v.slice(offset - d - 1, offset + d + 2) });
    for (let k = -d; k <= d; k += 2) {
      const down = k === -d || (k !== d && (v[offset + k - 1] as number) < (v[offset + k + 1] as number));
      let x = down ? (v[offset + k + 1] as number) : (v[offset + k - 1] as number) + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) return trace;
    }
  }
  return undefined;
}

function backtrack(a: readonly string[], b: readonly string[], trace: readonly Step[]): WireDiffLine[] {
  const lines: WireDiffLine[] = [];
  let x = a.length;
  let y = b.length;
  for (let d = trace.length - 1; d >= 0; d--) {
    const step = trace[d] as Step;
    const k = x - y;
    const down = k === -d || (k !== d && at(step, k - 1) < at(step, k + 1));
    const previousK = down ? k + 1 : k - 1;
    const previousX = d === 0 ? 0 : at(step, previousK);
    const previousY = d === 0 ? 0 : previousX - previousK;
    while (x > previousX && y > previousY) {
      lines.push({ op: 'same', text: a[x - 1] as string });
      x--;
      y--;
    }
    if (d > 0) {
      if (down) lines.push({ op: 'add', text: b[y - 1] as string });
      else lines.push({ op: 'remove', text: a[x - 1] as string });
      x = previousX;
      y = previousY;
    }
  }
  return lines.reverse();
}
