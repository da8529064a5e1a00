import { ManualClock } from '@ztap/cluster-testing';
import { describe, expect, it } from 'vitest';
import { LeaderWork } from '../src/leader-work.ts';

const never = new AbortController().signal;

describe('LeaderWork', () => {
  it('runs work and settles with it, a synchronous throw included', async () => {
    const work = new LeaderWork();
    await expect(work.run(() => 7)).resolves.toBe(7);
    await expect(work.run(async () => 'async')).resolves.toBe('async');
    const failure = new Error('boom');
    await expect(
      work.run(() => {
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(work.pending).toBe(0);
  });

  it('waits until every task has settled', async () => {
    const clock = new ManualClock();
    const work = new LeaderWork();
    const first = Promise.withResolvers<void>();
    const second = Promise.withResolvers<void>();
    void work.run(() => first.promise);
    void work.run(() => second.promise).catch(() => {});
    expect(work.pending).toBe(2);
    let outcome: unknown;
    const settled = work.whenSettled({ timeoutMs: 1000, clock, interrupt: never }).then((result) => {
      outcome = result;
    });
    first.resolve();
    await clock.advance(10);
    expect(outcome).toBeUndefined();
    second.reject(new Error('a failed task has settled too'));
    await clock.settle(settled);
    expect(outcome).toEqual({ outcome: 'settled', pending: 0 });
  });

  it('gives up after the timeout on its clock, saying how many tasks still run', async () => {
    const clock = new ManualClock();
    const work = new LeaderWork();
    void work.run(() => new Promise(() => {}));
    const waiting = work.whenSettled({ timeoutMs: 500, clock, interrupt: never });
    await clock.advance(499);
    await clock.advance(1);
    await expect(waiting).resolves.toEqual({ outcome: 'timeout', pending: 1 });
    await expect(work.whenSettled({ timeoutMs: 0, clock, interrupt: never })).resolves.toEqual({
      outcome: 'timeout',
      pending: 1,
    });
  });

  it('stops waiting when interrupted, with the interruption as the outcome', async () => {
    const clock = new ManualClock();
    const work = new LeaderWork();
    void work.run(() => new Promise(() => {}));
    const interrupt = new AbortController();
    const waiting = work.whenSettled({ timeoutMs: 60_000, clock, interrupt: interrupt.signal });
    interrupt.abort('deadline');
    await expect(waiting).resolves.toEqual({ outcome: 'deadline', pending: 1 });
    await expect(
      work.whenSettled({ timeoutMs: 60_000, clock, interrupt: AbortSignal.abort('lease_lost') }),
    ).resolves.toEqual({ outcome: 'lease_lost', pending: 1 });
  });

  it('a task that waits (it resigns or stops) does not wait for itself or the tasks it runs inside', async () => {
    const clock = new ManualClock();
    const work = new LeaderWork();
    const other = Promise.withResolvers<void>();
    void work.run(() => other.promise);
    const seen = await work.run(() =>
      work.run(async () => {
        await Promise.resolve(); // still its own task after an await
        const pendingInside = work.pending;
        other.resolve();
        const result = await work.whenSettled({ timeoutMs: 1000, clock, interrupt: never });
        return { pendingInside, result };
      }),
    );
    expect(seen).toEqual({ pendingInside: 1, result: { outcome: 'settled', pending: 0 } });
  });
});
