import { AsyncLocalStorage } from 'node:async_hooks';
import type { Clock } from './clock.ts';
import type { DrainOutcome } from './events.ts';

type Task = object;

/**
 * The tasks the current async flow runs inside (outermost first), for every election in the process:
 * one storage, because each `AsyncLocalStorage` instance adds work to every async operation on Node 22.
 */
const runningInside = new AsyncLocalStorage<readonly Task[]>();

/**
 * The leader work running on this node (what `runWhileLeader` and `lead` started), so that a graceful
 * step-down can wait for it before a successor may be elected.
 *
 * A task's own async flow is excluded from the waits it makes: leader work that calls `resign()` or
 * `stop()` would otherwise wait for itself until the drain timed out.
 */
export class LeaderWork {
  readonly #running = new Set<Task>();
  readonly #onSettle = new Set<() => void>();

  /** Runs `fn` as a tracked task; the returned promise settles with it. */
  run<T>(fn: () => Promise<T> | T): Promise<T> {
    const task: Task = {};
    this.#running.add(task);
    const chain = [...(runningInside.getStore() ?? []), task];
    let result: Promise<T>;
    try {
      result = Promise.resolve(runningInside.run(chain, fn));
    } catch (error) {
      result = Promise.reject(error);
    }
    return result.finally(() => {
      this.#running.delete(task);
      for (const check of [...this.#onSettle]) check();
    });
  }

  /** Tasks still running, not counting those the caller runs inside. */
  get pending(): number {
    return this.#pendingExcept(runningInside.getStore() ?? []);
  }

  /**
   * Resolves when every task (but the caller's own) has settled, when `timeoutMs` passes on `clock`,
   * or when `interrupt` aborts (its reason is the outcome), with the number of tasks still running.
   */
  whenSettled(options: {
    timeoutMs: number;
    clock: Clock;
    interrupt: AbortSignal;
  }): Promise<{ outcome: DrainOutcome; pending: number }> {
    const { timeoutMs, clock, interrupt } = options;
    const own = runningInside.getStore() ?? [];
    const result = (outcome: DrainOutcome) => ({ outcome, pending: this.#pendingExcept(own) });
    if (this.#pendingExcept(own) === 0) return Promise.resolve(result('settled'));
    if (interrupt.aborted) return Promise.resolve(result(interrupt.reason as DrainOutcome));
    if (timeoutMs <= 0) return Promise.resolve(result('timeout'));
    return new Promise((resolve) => {
      const finish = (outcome: DrainOutcome) => {
        clock.clearTimeout(timer);
        this.#onSettle.delete(check);
        interrupt.removeEventListener('abort', onInterrupt);
        resolve(result(outcome));
      };
      const check = () => {
        if (this.#pendingExcept(own) === 0) finish('settled');
      };
      const onInterrupt = () => finish(interrupt.reason as DrainOutcome);
      const timer = clock.setTimeout(() => finish('timeout'), timeoutMs);
      this.#onSettle.add(check);
      interrupt.addEventListener('abort', onInterrupt, { once: true });
    });
  }

  #pendingExcept(own: readonly Task[]): number {
    let count = 0;
    for (const task of this.#running) if (!own.includes(task)) count++;
    return count;
  }
}
