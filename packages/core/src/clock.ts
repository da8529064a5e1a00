/**
 * Time as the elections see it. Injected so tests can drive it (the default reads the global timers
 * and clocks at call time, so vitest's fake timers also work with it).
 */
export interface Clock {
  /** Monotonic milliseconds: never jumps with wall-clock changes. Used for every deadline. */
  monotonicNow(): number;
  /** Wall-clock time, for timestamps shown to people. */
  wallNow(): Date;
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** An opaque timer handle. */
export type TimerHandle = unknown;

/**
 * The real clock. Its timers are not unref'd on purpose: a running election keeps its process alive
 * (as a running node should) until `stop()`.
 */
export const systemClock: Clock = {
  monotonicNow: () => performance.now(),
  wallNow: () => new Date(),
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
