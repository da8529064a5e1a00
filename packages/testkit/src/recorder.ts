/**
 * What a test writes down as it happens, so it can wait for "X has happened" instead of sleeping.
 */
export class Journal<T> {
  readonly items: T[] = [];
  #closed = false;
  #waiters = new Set<() => void>();

  /** Writes `item` down and wakes whoever waits for it. */
  push(item: T): void {
    this.items.push(item);
    this.#wake();
  }

  /** Resolves with all items once `predicate(items)` holds; rejects if the journal closes first. */
  until(predicate: (items: readonly T[]) => boolean, description = 'the expected items'): Promise<T[]> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (predicate(this.items)) {
          this.#waiters.delete(check);
          resolve([...this.items]);
        } else if (this.#closed) {
          this.#waiters.delete(check);
          reject(new Error(`stream ended before ${description}; got ${JSON.stringify(this.items)}`));
        }
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Resolves with the first item (from the start) that matches. */
  async first(predicate: (item: T) => boolean, description = 'a matching item'): Promise<T> {
    const items = await this.until((all) => all.some(predicate), description);
    return items.find(predicate) as T;
  }

  /** Whether nothing more will be written. */
  protected get closed(): boolean {
    return this.#closed;
  }

  /** Nothing more will be written: waits that are not met yet fail. */
  protected close(): void {
    this.#closed = true;
    this.#wake();
  }

  /** Resolves once the journal is closed. */
  protected whenClosed(): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.#closed) {
          this.#waiters.delete(check);
          resolve();
        }
      };
      this.#waiters.add(check);
      check();
    });
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}

/**
 * Reads an async iterable in the background and keeps everything it yields, so a test can wait for
 * "the stream has delivered X" instead of sleeping.
 */
export class Recorder<T> extends Journal<T> {
  #error: unknown;

  constructor(iterable: AsyncIterable<T>) {
    super();
    void this.#consume(iterable);
  }

  /** Whether the stream ended (normally or with an error). */
  get finished(): boolean {
    return this.closed;
  }

  /** The error the stream ended with, if any. */
  get error(): unknown {
    return this.#error;
  }

  /** Resolves when the stream has ended. */
  ended(): Promise<void> {
    return this.whenClosed();
  }

  async #consume(iterable: AsyncIterable<T>): Promise<void> {
    try {
      for await (const item of iterable) this.push(item);
    } catch (error) {
      this.#error = error;
    }
    this.close();
  }
}
