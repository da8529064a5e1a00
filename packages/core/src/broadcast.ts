import { WatchOverflowError } from './errors.ts';

/**
 * What a subscription does when its consumer falls `bufferSize` items behind:
 * - `error`: deliver what is buffered, then throw {@link WatchOverflowError} (ordered streams such as
 *   `watch()`, where a silently skipped change would be a lie);
 * - `keep-latest`: drop the oldest buffered item (latest-value streams such as `leaderChanges()`,
 *   where only the newest value matters).
 */
export type OverflowPolicy = 'error' | 'keep-latest';

export interface BroadcastOptions {
  readonly bufferSize: number;
  readonly overflow: OverflowPolicy;
  /**
   * Called with `true` when the first subscription begins and `false` when the last one ends, so a
   * publisher can skip the work of producing items nobody reads.
   */
  readonly onActiveChange?: (active: boolean) => void;
}

export interface SubscribeOptions<T> {
  /** Ends the iterator (it returns `done`) and releases its buffer. */
  readonly signal?: AbortSignal | undefined;
  /** Items delivered before anything published later. */
  readonly initial?: Iterable<T>;
}

/**
 * Fans published items out to any number of async iterators, each with its own bounded buffer, in
 * publication order. Publishing never blocks and never waits for slow consumers.
 */
export class Broadcast<T> {
  readonly #subscriptions = new Set<Subscription<T>>();
  readonly #bufferSize: number;
  readonly #overflow: OverflowPolicy;
  readonly #onActiveChange: ((active: boolean) => void) | undefined;

  constructor(options: BroadcastOptions) {
    this.#bufferSize = options.bufferSize;
    this.#overflow = options.overflow;
    this.#onActiveChange = options.onActiveChange;
  }

  /** Whether anyone is subscribed. */
  get active(): boolean {
    return this.#subscriptions.size > 0;
  }

  publish(item: T): void {
    for (const subscription of this.#subscriptions) subscription.push(item);
  }

  /** Publishes `items` in order: the same objects reach every subscriber. */
  publishAll(items: readonly T[]): void {
    if (items.length === 0) return;
    for (const subscription of this.#subscriptions) for (const item of items) subscription.push(item);
  }

  /**
   * A new iterator that yields every item published from now on (after `initial`). It ends when
   * `signal` aborts, when the consumer breaks out of its loop, or after {@link close} once drained.
   */
  subscribe(options: SubscribeOptions<T> = {}): AsyncIterableIterator<T> {
    const subscription = new Subscription<T>(this.#bufferSize, this.#overflow, () => {
      if (this.#subscriptions.delete(subscription) && this.#subscriptions.size === 0)
        this.#onActiveChange?.(false);
    });
    for (const item of options.initial ?? []) subscription.push(item);
    if (options.signal?.aborted) {
      subscription.end();
      return subscription;
    }
    this.#subscriptions.add(subscription);
    if (this.#subscriptions.size === 1) this.#onActiveChange?.(true);
    if (options.signal) subscription.endOn(options.signal);
    return subscription;
  }

  /** Ends every current subscription once it has delivered what it holds. New subscriptions still work. */
  close(): void {
    for (const subscription of [...this.#subscriptions]) subscription.finish();
  }
}

type Waiter<T> = {
  resolve: (result: IteratorResult<T, undefined>) => void;
  reject: (error: unknown) => void;
};

class Subscription<T> implements AsyncIterableIterator<T, undefined> {
  // A ring would save a copy, but an array with a moving head is simple and amortised O(1).
  #buffer: T[] = [];
  #head = 0;
  readonly #waiters: Waiter<T>[] = [];
  /** Set when no more items will come; delivered after the buffer drains. */
  #ending: { error?: unknown } | undefined;
  #released = false;
  #removeAbortListener: (() => void) | undefined;

  readonly #bufferSize: number;
  readonly #overflow: OverflowPolicy;
  readonly #detach: () => void;

  constructor(bufferSize: number, overflow: OverflowPolicy, detach: () => void) {
    this.#bufferSize = bufferSize;
    this.#overflow = overflow;
    this.#detach = detach;
  }

  push(item: T): void {
    if (this.#ending) return;
    const waiter = this.#waiters.shift();
    if (waiter) {
      waiter.resolve({ value: item, done: false });
      return;
    }
    if (this.#buffer.length - this.#head >= this.#bufferSize) {
      if (this.#overflow === 'keep-latest') {
        this.#head++;
      } else {
        this.#finishWith({ error: new WatchOverflowError(this.#bufferSize) });
        return;
      }
    }
    this.#buffer.push(item);
  }

  endOn(signal: AbortSignal): void {
    const onAbort = () => this.end();
    signal.addEventListener('abort', onAbort, { once: true });
    this.#removeAbortListener = () => signal.removeEventListener('abort', onAbort);
  }

  /** No more items; those buffered are still delivered. */
  finish(): void {
    this.#finishWith({});
  }

  /** Stop now: drop the buffer and end every pending and future `next()`. */
  end(): void {
    this.#buffer = [];
    this.#head = 0;
    this.#finishWith({});
  }

  #finishWith(ending: { error?: unknown }): void {
    if (this.#ending) return;
    this.#ending = ending;
    this.#release();
    // Only waiters with nothing buffered can be pending, so they get the ending at once.
    for (const waiter of this.#waiters.splice(0)) this.#settleEnding(waiter);
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#removeAbortListener?.();
    this.#detach();
  }

  #settleEnding(waiter: Waiter<T>): void {
    const error = this.#ending?.error;
    if (error !== undefined) {
      // Deliver an error once; afterwards the iterator is simply done.
      this.#ending = {};
      waiter.reject(error);
    } else {
      waiter.resolve({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (this.#head < this.#buffer.length) {
      const value = this.#buffer[this.#head] as T;
      this.#head++;
      if (this.#head > 64 && this.#head * 2 > this.#buffer.length) {
        this.#buffer = this.#buffer.slice(this.#head);
        this.#head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject };
      if (this.#ending) this.#settleEnding(waiter);
      else this.#waiters.push(waiter);
    });
  }

  return(): Promise<IteratorResult<T, undefined>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
