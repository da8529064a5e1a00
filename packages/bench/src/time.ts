/**
 * Monotonic time in milliseconds (fractional), from process.hrtime: CLOCK_MONOTONIC, so stamps taken
 * by different processes on one machine can be compared.
 */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits for `promise`, failing with `what` after `timeoutMs`: no benchmark step may hang. */
export async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms: ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` every `intervalMs` until it returns true; fails after `timeoutMs`. */
export async function pollUntil(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs: number,
  intervalMs = 20,
): Promise<void> {
  const deadline = nowMs() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (nowMs() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await sleep(intervalMs);
  }
}

/**
 * Resolves when `listener`-style events satisfy a predicate: a tiny latch the drivers use to wait for
 * "the successor was elected" without polling.
 */
export class Latch<T> {
  readonly #waiters = new Set<{ test: (value: T) => boolean; resolve: (value: T) => void }>();

  /** Offers a value to every waiter; those whose predicate holds resolve and leave. */
  offer(value: T): void {
    for (const waiter of [...this.#waiters]) {
      if (waiter.test(value)) {
        this.#waiters.delete(waiter);
        waiter.resolve(value);
      }
    }
  }

  /** The next offered value that satisfies `test` (values offered before the call do not count). */
  next(test: (value: T) => boolean, timeoutMs: number, what: string): Promise<T> {
    let entry: { test: (value: T) => boolean; resolve: (value: T) => void } | undefined;
    const promise = new Promise<T>((resolve) => {
      entry = { test, resolve };
      this.#waiters.add(entry);
    });
    return within(promise, timeoutMs, what).finally(() => {
      if (entry) this.#waiters.delete(entry);
    });
  }
}
