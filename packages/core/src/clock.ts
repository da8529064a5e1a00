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

/** An opaque timer handle; `unref()` is honoured where the platform has it. */
export type TimerHandle = unknown;

export const systemClock: Clock = {
  monotonicNow: () => performance.now(),
  wallNow: () => new Date(),
  setTimeout: (callback, delayMs) => {
    const handle = setTimeout(callback, delayMs);
    // Background timers must never keep a process alive on their own.
    (handle as { unref?: () => void }).unref?.();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
