import type { Clock, TimerHandle } from '@ztap/cluster';

interface PendingTimer {
  readonly id: number;
  readonly dueMs: number;
  readonly callback: () => void;
}

/** Lets promise callbacks and I/O-free async work that is already queued run to completion. */
export async function flushAsyncWork(rounds = 5): Promise<void> {
  for (let round = 0; round < rounds; round++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * A clock that moves only when told to: timers fire in due order as {@link advance} passes them, and
 * the async work they start runs before the next one fires. Tests stay deterministic and never sleep.
 */
export class ManualClock implements Clock {
  #nowMs = 0;
  #nextId = 1;
  #timers: PendingTimer[] = [];
  readonly #wallStartMs: number;

  constructor(wallStart = new Date('2026-01-01T00:00:00Z')) {
    this.#wallStartMs = wallStart.getTime();
  }

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

  /** Moves time forward by `ms`, firing every timer that falls due on the way, in order. */
  async advance(ms: number): Promise<void> {
    const targetMs = this.#nowMs + ms;
    for (;;) {
      await flushAsyncWork();
      const next = this.#earliestDue(targetMs);
      if (!next) break;
      this.#timers = this.#timers.filter((timer) => timer !== next);
      this.#nowMs = next.dueMs;
      next.callback();
    }
    this.#nowMs = targetMs;
    await flushAsyncWork();
  }

  /**
   * Moves time forward by `ms` without firing the timers that fall due on the way: what a process
   * sees when it resumes after a freeze (SIGSTOP, a blocked event loop). Overdue timers fire at the
   * next {@link advance}.
   */
  freeze(ms: number): void {
    this.#nowMs += ms;
  }

  /**
   * Advances time in `stepMs` steps until `promise` settles; fails if it has not after `limitMs` of
   * simulated time (so a broken expectation fails fast instead of hanging).
   */
  async settle<T>(promise: Promise<T>, options: { stepMs?: number; limitMs?: number } = {}): Promise<T> {
    const { stepMs = 50, limitMs = 120_000 } = options;
    let settled = false;
    promise.then(
      () => (settled = true),
      () => (settled = true),
    );
    for (let elapsed = 0; !settled; elapsed += stepMs) {
      if (elapsed >= limitMs) throw new Error(`did not settle within ${limitMs} ms of simulated time`);
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
