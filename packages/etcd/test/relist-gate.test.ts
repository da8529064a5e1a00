import { flushAsyncWork } from '@ztap/cluster-testing';
import { describe, expect, it } from 'vitest';
import { RelistGate } from '../src/relist-gate.ts';

describe('RelistGate', () => {
  it('runs at most its limit at once, the rest in order; urgent work (a candidate) never waits', async () => {
    const gate = new RelistGate(1);
    const started: string[] = [];
    const holds = new Map<string, () => void>();
    const work = (name: string) => () =>
      new Promise<void>((resolve) => {
        started.push(name);
        holds.set(name, resolve);
      });
    const first = gate.run(work('member 1'));
    const second = gate.run(work('member 2'));
    const urgent = gate.run(work('candidate'), true);
    await flushAsyncWork();
    expect(started).toEqual(['member 1', 'candidate']);
    expect(gate.waiting).toBe(1);
    holds.get('candidate')?.();
    await urgent;
    holds.get('member 1')?.();
    await first;
    await flushAsyncWork();
    expect(started).toEqual(['member 1', 'candidate', 'member 2']);
    holds.get('member 2')?.();
    await second;
    expect(gate.running).toBe(0);
  });
});
