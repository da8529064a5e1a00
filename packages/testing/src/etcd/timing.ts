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
 * Calls `attempt` until it returns something other than `undefined`, pausing `intervalMs` between calls
 * (a harness that polls another process has nothing to await); throws `onTimeout()` once `timeoutMs`
 * has passed.
 */
export async function pollUntil<T>(
  attempt: () => Promise<T | undefined>,
  options: { readonly timeoutMs: number; readonly intervalMs?: number; readonly onTimeout: () => Error },
): Promise<T> {
  const deadline = monotonicMs() + options.timeoutMs;
  for (;;) {
    const result = await attempt();
    if (result !== undefined) return result;
    if (monotonicMs() >= deadline) throw options.onTimeout();
    await delay(options.intervalMs ?? 25);
  }
}
