/**
 * Reads an async iterable in the background and keeps everything it yields, so a test can wait for
 * "the stream has delivered X" instead of sleeping.
 */
export class Recorder<T> {
  readonly items: T[] = [];
  #finished = false;
  #error: unknown;
  #waiters = new Set<() => void>();

  constructor(iterable: AsyncIterable<T>) {
    void this.#consume(iterable);
  }

  /** Whether the stream ended (normally or with an error). */
  get finished(): boolean {
    return this.#finished;
  }

  /** The error the stream ended with, if any. */
  get error(): unknown {
    return this.#error;
  }

  /** Resolves with all items once `predicate(items)` holds; rejects if the stream ends first. */
  until(predicate: (items: readonly T[]) => boolean, description = 'the expected items'): Promise<T[]> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (predicate(this.items)) {
          this.#waiters.delete(check);
          resolve([...this.items]);
        } else if (this.#finished) {
          this.#waiters.delete(check);
          reject(new Error(`stream ended before ${description}; got ${JSON.stringify(this.items)}`));
        }
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Resolves with the first item (from the start of the recording) that matches. */
  async first(predicate: (item: T) => boolean, description = 'a matching item'): Promise<T> {
    const items = await this.until((all) => all.some(predicate), description);
    return items.find(predicate) as T;
  }

  /** Resolves when the stream has ended. */
  ended(): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.#finished) {
          this.#waiters.delete(check);
          resolve();
        }
      };
      this.#waiters.add(check);
      check();
    });
  }

  async #consume(iterable: AsyncIterable<T>): Promise<void> {
    try {
      for await (const item of iterable) {
        this.items.push(item);
        this.#wake();
      }
    } catch (error) {
      this.#error = error;
    }
    this.#finished = true;
    this.#wake();
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}
