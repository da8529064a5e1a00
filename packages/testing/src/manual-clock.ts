import { type Clock, type TimerHandle, ValidationError } from '@ztap/cluster';
import { WaitTimeoutError } from './errors.ts';

interface PendingTimer {
  readonly id: number;
  readonly dueMs: number;
  readonly callback: () => void;
}

/**
 * Lets promise callbacks and I/O-free async work that is already queued run to completion (a few
 * turns of the event loop). What {@link ManualClock.advance} does between timers; call it after an
 * action that is not a timer (a `start()`, a `resign()`) when a test must see its effects.
 */
export async function flushAsyncWork(rounds = 5): Promise<void> {
  for (let round = 0; round < rounds; round++) await new Promise<void>((resolve) => setImmediate(resolve));
}

function checkMs(field: string, ms: number): void {
  if (!Number.isFinite(ms) || ms < 0) {
    throw new ValidationError(field, `must be a finite number of milliseconds, 0 or more (got ${ms})`);
  }
}

/**
 * A `Clock` (the interface of `@ztap/cluster`) that moves only when told to, for unit tests on the
 * in-memory backend: give the same clock to the hub and to every election (`new MemoryHub({ clock })`,
 * `new InMemoryElection({ clock, hub, ... })`), then {@link advance} it. Timers fire in due order as time passes them, and the async
 * work each one starts runs before the next fires, so heartbeats, election timeouts and lease expiry
 * happen exactly when the test says: no sleeps, no flakiness, any test runner.
 *
 * It replaces only what the elections read through their clock. Do not mix it with a test runner's
 * fake timers (`vi.useFakeTimers()`), which replace the global ones.
 *
 * @example
 * ```ts
 * const clock = new ManualClock();
 * const hub = new MemoryHub({ clock });
 * const a = new InMemoryElection({ nodeId: 'a', nodeAddress: '127.0.0.1:1', initialLeadership: 0, clock, hub });
 * await a.start();
 * await clock.advance(1000); // one heartbeat later
 * ```
 */
export class ManualClock implements Clock {
  #nowMs = 0;
  #nextId = 1;
  #timers: PendingTimer[] = [];
  readonly #wallStartMs: number;

  /** @param wallStart what {@link wallNow} says at monotonic time 0 (2026-01-01 UTC by default). */
  constructor(wallStart = new Date('2026-01-01T00:00:00Z')) {
    this.#wallStartMs = wallStart.getTime();
  }

  /** Milliseconds since the clock was created, moved only by {@link advance} and {@link freeze}. */
  monotonicNow(): number {
    return this.#nowMs;
  }

  wallNow(): Date {
    return new Date(this.#wallStartMs + this.#nowMs);
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const timer = { id: this.#nextId++, dueMs: this.#nowMs + Math.max(0, delayMs), callback };
    this.#timers.push(timer);
    return timer.id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers = this.#timers.filter((timer) => timer.id !== handle);
  }

  /** Number of timers waiting to fire. */
  get pendingTimers(): number {
    return this.#timers.length;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way, in order, and lets the
   * async work each one starts run before the next. `advance(0)` fires what is due now and lets queued
   * work run.
   */
  async advance(ms: number): Promise<void> {
    checkMs('ms', ms);
    const targetMs = this.#nowMs + ms;
    for (;;) {
      await flushAsyncWork();
      const next = this.#earliestDue(targetMs);
      if (!next) break;
      this.#timers = this.#timers.filter((timer) => timer !== next);
      // Never backwards: timers left overdue by freeze() fire late, at the time it is now.
      this.#nowMs = Math.max(this.#nowMs, next.dueMs);
      next.callback();
    }
    this.#nowMs = targetMs;
    await flushAsyncWork();
  }

  /**
   * Moves time forward by `ms` without firing the timers that fall due on the way: what a process
   * sees when it resumes after a freeze (SIGSTOP, a long garbage collection, a blocked event loop).
   * Overdue timers fire, in order, at the next {@link advance}. Everything on this clock freezes
   * together.
   */
  freeze(ms: number): void {
    checkMs('ms', ms);
    this.#nowMs += ms;
  }

  /**
   * Advances time in `stepMs` steps (50 ms by default) until `promise` settles, and resolves or rejects
   * like it; fails with a {@link WaitTimeoutError} if it has not settled after `limitMs` of simulated
   * time (120 s by default), so a broken expectation fails fast instead of hanging.
   */
  async settle<T>(promise: Promise<T>, options: { stepMs?: number; limitMs?: number } = {}): Promise<T> {
    const { stepMs = 50, limitMs = 120_000 } = options;
    checkMs('stepMs', stepMs);
    checkMs('limitMs', limitMs);
    if (stepMs === 0) throw new ValidationError('stepMs', 'must be above 0');
    let settled = false;
    promise.then(
      () => (settled = true),
      () => (settled = true),
    );
    for (let elapsed = 0; !settled; elapsed += stepMs) {
      if (elapsed >= limitMs) {
        throw new WaitTimeoutError(
          'the promise to settle (simulated time)',
          limitMs,
          `${this.pendingTimers} timers pending`,
        );
      }
      await this.advance(stepMs);
    }
    return promise;
  }

  #earliestDue(limitMs: number): PendingTimer | undefined {
    let earliest: PendingTimer | undefined;
    for (const timer of this.#timers) {
      if (timer.dueMs <= limitMs && (!earliest || timer.dueMs < earliest.dueMs)) earliest = timer;
    }
    return earliest;
  }
}
