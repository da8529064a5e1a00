import { setTimeout as delay } from 'node:timers/promises';
import { WaitTimeoutError } from '../errors.ts';

/** Milliseconds on a clock that never jumps. */
export const monotonicMs = (): number => performance.now();

/**
 * Resolves or rejects like `promise`, or rejects after `timeoutMs` with a {@link WaitTimeoutError} for
 * `what`. The original promise keeps running (it cannot be cancelled); its late rejection is swallowed.
 */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  promise.catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new WaitTimeoutError(what, timeoutMs, '')), timeoutMs);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/**
 * Resolves or rejects like `promise`, or rejects with `signal`'s reason once it aborts. The original
 * promise keeps running (it cannot be cancelled); its late rejection is swallowed.
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  promise.catch(() => {});
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([promise, aborted]).finally(() => {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  });
}

/**
 * Calls `attempt` until it returns something other than `undefined`, pausing `intervalMs` between calls
 * (a harness that polls another process has nothing to await); throws `onTimeout()` once `timeoutMs`
 * has passed, and `signal`'s reason once it aborts.
 */
export async function pollUntil<T>(
  attempt: () => Promise<T | undefined>,
  options: {
    readonly timeoutMs: number;
    readonly intervalMs?: number;
    readonly onTimeout: () => Error;
    readonly signal?: AbortSignal | undefined;
  },
): Promise<T> {
  const { signal } = options;
  const deadline = monotonicMs() + options.timeoutMs;
  for (;;) {
    signal?.throwIfAborted();
    const result = await attempt();
    if (result !== undefined) return result;
    if (monotonicMs() >= deadline) throw options.onTimeout();
    // An aborted pause rejects with an AbortError; the caller gets the signal's own reason instead.
    await delay(options.intervalMs ?? 25, undefined, signal ? { signal } : {}).catch(() => {});
  }
}
