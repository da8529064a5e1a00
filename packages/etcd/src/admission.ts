interface Waiter {
  readonly admit: (release: () => void) => void;
  settled: boolean;
}

/**
 * At most `limit` requests in flight on one etcd client; the others wait in line, first come first
 * served. A burst of starts (a thousand elections at once) then reaches etcd as a steady stream
 * instead of a thousand concurrent requests that time out together, and the wait counts against each
 * request's own deadline: a request that cannot start before its deadline fails as if etcd had not
 * answered in time (and may be retried), rather than being sent already late.
 */
export class Admission {
  readonly limit: number;
  readonly #late: (waitedMs: number) => Error;
  #inFlight = 0;
  #line: Waiter[] = [];
  #head = 0;

  /** `late` makes the error of a request whose deadline passed while it waited. */
  constructor(limit: number, late: (waitedMs: number) => Error) {
    this.limit = limit;
    this.#late = late;
  }

  /**
   * Resolves with the function that frees the slot once the request may be sent. Rejects with the
   * `late` error when `deadlineMs` (epoch milliseconds, like the request's gRPC deadline) passes
   * first, and with the signal's reason when it aborts first.
   */
  acquire(deadlineMs: number, signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#inFlight < this.limit && this.#head === this.#line.length) {
      this.#inFlight++;
      return Promise.resolve(this.#releaser());
    }
    const enqueuedMs = Date.now();
    return new Promise((resolve, reject) => {
      // The deadline is wall-clock time because the request's gRPC deadline is.
      const timer = setTimeout(
        () => settle(() => reject(this.#late(Date.now() - enqueuedMs))),
        Math.max(0, deadlineMs - enqueuedMs),
      );
      const onAbort = () => settle(() => reject(signal?.reason));
      const settle = (then: () => void) => {
        if (waiter.settled) return;
        waiter.settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        then();
      };
      const waiter: Waiter = {
        settled: false,
        admit: (release) => settle(() => resolve(release)),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#line.push(waiter);
    });
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#inFlight--;
      this.#admitNext();
    };
  }

  #admitNext(): void {
    while (this.#inFlight < this.limit && this.#head < this.#line.length) {
      const waiter = this.#line[this.#head++] as Waiter;
      if (waiter.settled) continue; // gave up while waiting
      this.#inFlight++;
      waiter.admit(this.#releaser());
    }
    if (this.#head > 1024 && this.#head * 2 > this.#line.length) {
      this.#line = this.#line.slice(this.#head);
      this.#head = 0;
    } else if (this.#head === this.#line.length) {
      this.#line = [];
      this.#head = 0;
    }
  }
}
