import { describe, expect, it } from 'vitest';
import { type PriorityCandidate, preferredSuccessor } from '../src/backend.ts';

const timing = { initialLeadership: 3000, minLeadership: 5000 };
const candidate = (id: string, priority: number, healthySinceMs: number, order = 0): PriorityCandidate => ({
  id,
  priority,
  healthySinceMs,
  order,
});

describe('preferredSuccessor (the priority rule)', () => {
  it('hands over to a higher priority once it has been healthy for initialLeadership and the leader has led minLeadership', () => {
    const leader = { priority: 0, sinceMs: 0 };
    const high = candidate('high', 5, 1000);
    expect(preferredSuccessor(leader, [high], timing, 2000)).toEqual({ kind: 'wait', atMs: 5000 });
    expect(preferredSuccessor(leader, [high], timing, 4000)).toEqual({ kind: 'wait', atMs: 5000 });
    expect(preferredSuccessor(leader, [high], timing, 5000)).toEqual({ kind: 'transfer', target: high });
  });

  it('picks the highest priority, then the backend’s order among equals', () => {
    const leader = { priority: 0, sinceMs: 0 };
    const candidates = [candidate('a', 3, 0, 2), candidate('b', 7, 0, 3), candidate('c', 7, 0, 1)];
    expect(preferredSuccessor(leader, candidates, timing, 10_000)).toMatchObject({ target: { id: 'c' } });
  });

  it('never moves leadership to an equal or lower priority', () => {
    const leader = { priority: 2, sinceMs: 0 };
    const candidates = [candidate('same', 2, 0), candidate('lower', -1, 0)];
    expect(preferredSuccessor(leader, candidates, timing, 1_000_000)).toEqual({ kind: 'none' });
  });

  it('a preferred node that flaps health starts its initialLeadership over each time it recovers', () => {
    const leader = { priority: 0, sinceMs: 0 };
    // Healthy again at 9000 after a flap: it qualifies at 12000, not before.
    expect(preferredSuccessor(leader, [candidate('flappy', 5, 9000)], timing, 11_999)).toEqual({
      kind: 'wait',
      atMs: 12_000,
    });
    // A leadership that began at 20000 (it flapped back) is held until 25000 whatever the candidate.
    expect(
      preferredSuccessor({ priority: 0, sinceMs: 20_000 }, [candidate('flappy', 5, 0)], timing, 21_000),
    ).toEqual({
      kind: 'wait',
      atMs: 25_000,
    });
  });

  it('a canary leader (below zero) is not held: it hands over as soon as a better candidate qualifies', () => {
    const canary = { priority: -1, sinceMs: 10_000 };
    const stable = candidate('stable', 0, 7000);
    expect(preferredSuccessor(canary, [stable], timing, 10_000)).toEqual({
      kind: 'transfer',
      target: stable,
    });
  });
});
