import type { Clock } from '@ztap/cluster';

/**
 * CLOCK_MONOTONIC in milliseconds: one clock for every process on this host. `performance.now()`
 * counts from each process's own start, so a deadline on it means nothing to another process.
 */
export function hostMonotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** The host clock with ordinary timers: the keeper's clock. */
export const hostClock: Clock = {
  monotonicNow: hostMonotonicMs,
  wallNow: () => new Date(),
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * `validUntilMs`, a deadline on `clock` (this process's election clock), as a deadline on the host
 * clock, never later than the true one. The host clock is read first: if this process is paused
 * between the two reads, the election clock has moved on, and the result only comes out earlier.
 * (Sending "N ms left" instead would be late by however long the message took to be sent and read.)
 */
export function toHostDeadline(
  validUntilMs: number,
  clock: Pick<Clock, 'monotonicNow'>,
  hostNow: () => number = hostMonotonicMs,
): number {
  const host = hostNow();
  return host + (validUntilMs - clock.monotonicNow());
}
