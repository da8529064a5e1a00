import { isValidationError } from '@ztap/cluster';
import { describe, expect, it } from 'vitest';
import { isWaitTimeoutError, ManualClock } from '../src/index.ts';

describe('ManualClock', () => {
  it('stands still until advanced, then fires due timers in order, each at its own time', async () => {
    const clock = new ManualClock(new Date('2030-05-01T00:00:00Z'));
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`b at ${clock.monotonicNow()}`), 200);
    clock.setTimeout(() => fired.push(`a at ${clock.monotonicNow()}`), 100);
    const cancelled = clock.setTimeout(() => fired.push('cancelled'), 150);
    clock.clearTimeout(cancelled);
    expect(clock.pendingTimers).toBe(2);

    await clock.advance(99);
    expect(fired).toEqual([]);
    await clock.advance(151);
    expect(fired).toEqual(['a at 100', 'b at 200']);
    expect(clock.monotonicNow()).toBe(250);
    expect(clock.wallNow()).toEqual(new Date('2030-05-01T00:00:00.250Z'));
    expect(clock.pendingTimers).toBe(0);
  });

  it('lets the async work a timer starts run before the next timer fires', async () => {
    const clock = new ManualClock();
    const order: string[] = [];
    clock.setTimeout(() => {
      void Promise.resolve()
        .then(() => Promise.resolve())
        .then(() => order.push('work of the first timer'));
    }, 10);
    clock.setTimeout(() => order.push('second timer'), 20);
    await clock.advance(20);
    expect(order).toEqual(['work of the first timer', 'second timer']);
  });

  it('fires timers set by timers when they fall due within the same advance', async () => {
    const clock = new ManualClock();
    const ticks: number[] = [];
    const tick = () => {
      ticks.push(clock.monotonicNow());
      clock.setTimeout(tick, 100);
    };
    clock.setTimeout(tick, 100);
    await clock.advance(350);
    expect(ticks).toEqual([100, 200, 300]);
  });

  it('freeze() moves time without firing: overdue timers fire, in order, at the next advance', async () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    clock.setTimeout(() => fired.push(clock.monotonicNow()), 100);
    clock.setTimeout(() => fired.push(clock.monotonicNow()), 300);
    clock.freeze(1000);
    expect(clock.monotonicNow()).toBe(1000);
    expect(fired).toEqual([]);
    await clock.advance(0);
    expect(fired).toEqual([1000, 1000]); // they run late, as in a process that resumes
  });

  it('settle() advances until the promise settles, and fails on simulated time when it never does', async () => {
    const clock = new ManualClock();
    const later = new Promise<string>((resolve) => clock.setTimeout(() => resolve('done'), 1_234));
    expect(await clock.settle(later)).toBe('done');
    expect(clock.monotonicNow()).toBeGreaterThanOrEqual(1_234);

    const never = new Promise<never>(() => {});
    const error = await clock.settle(never, { limitMs: 500 }).catch((caught: unknown) => caught);
    expect(isWaitTimeoutError(error)).toBe(true);
    expect(error).toHaveProperty(
      'message',
      'timed out after 500 ms waiting for the promise to settle (simulated time); seen instead: 0 timers pending',
    );
  });

  it('refuses to move backwards, naming the argument', async () => {
    const clock = new ManualClock();
    const error = await clock.advance(-1).catch((caught: unknown) => caught);
    expect(isValidationError(error) && error.field).toBe('ms');
    expect(() => clock.freeze(Number.NaN)).toThrow(
      'ms must be a finite number of milliseconds, 0 or more (got NaN)',
    );
    await expect(clock.settle(Promise.resolve(), { stepMs: 0 })).rejects.toThrow('stepMs must be above 0');
  });
});
