import type { Clock } from '@ztap/cluster';

/**
 * Waits `ms` on `clock` (the election's clock, so tests can drive time with a `ManualClock`);
 * rejects with the signal's reason the moment it aborts.
 */
export function sleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clock.clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = clock.setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
