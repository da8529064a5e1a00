type Waiter<T> = { resolve: (value: T) => void; reject: (error: unknown) => void };

/**
 * Callers waiting for the next value (such as the next leadership), each able to give up through its
 * own signal. Settled all at once, and forgotten as soon as they are settled or give up, so a caller
 * that aborts leaves nothing behind.
 */
export class Waiters<T> {
  readonly #pending = new Set<Waiter<T>>();

  /** Resolves with the next value passed to `resolveAll`; rejects with the signal's reason if it aborts first. */
  wait(signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        this.#pending.delete(waiter);
        reject(signal?.reason);
      };
      const waiter: Waiter<T> = {
        resolve: (value) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(value);
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      this.#pending.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  resolveAll(value: T): void {
    const pending = [...this.#pending];
    this.#pending.clear();
    for (const waiter of pending) waiter.resolve(value);
  }

  rejectAll(error: unknown): void {
    const pending = [...this.#pending];
    this.#pending.clear();
    for (const waiter of pending) waiter.reject(error);
  }
}
