import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { hostMonotonicMs, toHostDeadline } from '../src/run/host-clock.ts';

const HOST_CLOCK = fileURLToPath(new URL('../src/run/host-clock.ts', import.meta.url));

describe('a leadership deadline handed to another process', () => {
  // The election clock counts from this process's start; the host clock is 5000 ms ahead of it.
  const HOST_OFFSET_MS = 5000;

  it('means the same instant on the host clock', () => {
    let electionNow = 100;
    const deadline = toHostDeadline(
      1000,
      { monotonicNow: () => electionNow },
      () => electionNow + HOST_OFFSET_MS,
    );
    electionNow = 1000;
    expect(deadline).toBe(electionNow + HOST_OFFSET_MS);
  });

  it('comes out earlier, never later, when the process pauses between reading the two clocks', () => {
    let electionNow = 100;
    const election = { monotonicNow: () => electionNow };
    const host = () => {
      const reading = electionNow + HOST_OFFSET_MS;
      electionNow += 300; // frozen for 300 ms right after reading the host clock
      return reading;
    };
    const deadline = toHostDeadline(1000, election, host);
    expect(deadline).toBe(1000 + HOST_OFFSET_MS - 300);
  });

  it('the host clock reads the same in another process (performance.now() would not)', () => {
    const script = `import { hostMonotonicMs } from ${JSON.stringify(HOST_CLOCK)}; console.log(hostMonotonicMs());`;
    const before = hostMonotonicMs();
    const inChild = Number(
      execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }),
    );
    const after = hostMonotonicMs();
    expect(inChild).toBeGreaterThan(before);
    expect(inChild).toBeLessThan(after);
  });
});
