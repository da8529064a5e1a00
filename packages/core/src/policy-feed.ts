import type { Policy, PolicyUpdate } from './policy.ts';

/**
 * One subscriber's stream of policy updates: a `snapshot` first, then every update in order.
 *
 * Memory stays bounded without losing anything that matters: if the consumer falls `bufferSize`
 * updates behind, the buffer is dropped and the next thing it reads is a fresh `snapshot` — after
 * which it is exactly as current as if it had read every update. A backend calls {@link resync}
 * when it had to rebuild its view (e.g. after a compaction), for the same reason.
 */
export class PolicyFeed implements AsyncIterableIterator<PolicyUpdate, undefined> {
  readonly #snapshot: () => readonly Policy[];
  readonly #bufferSize: number;
  #queue: PolicyUpdate[] = [];
  #needsSnapshot = true;
  #waiter: ((result: IteratorResult<PolicyUpdate, undefined>) => void) | undefined;
  #closed = false;
  readonly #onClose: () => void;

  constructor(options: {
    snapshot: () => readonly Policy[];
    bufferSize: number;
    signal?: AbortSignal | undefined;
    onClose?: () => void;
  }) {
    this.#snapshot = options.snapshot;
    this.#bufferSize = options.bufferSize;
    this.#onClose = options.onClose ?? (() => {});
    // Already aborted: born closed, without calling onClose (the owner has not registered it yet).
    if (options.signal?.aborted) this.#closed = true;
    else options.signal?.addEventListener('abort', () => this.close(), { once: true });
  }

  push(update: PolicyUpdate): void {
    if (this.#closed || this.#needsSnapshot) return; // the coming snapshot will include it
    if (this.#waiter) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter({ value: update, done: false });
      return;
    }
    if (this.#queue.length >= this.#bufferSize) {
      this.resync();
      return;
    }
    this.#queue.push(update);
  }

  /** Drop what is queued; the consumer reads a fresh snapshot next. */
  resync(): void {
    if (this.#closed) return;
    this.#queue = [];
    this.#needsSnapshot = true;
    if (this.#waiter) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter({ value: this.#takeSnapshot(), done: false });
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = [];
    this.#waiter?.({ value: undefined, done: true });
    this.#waiter = undefined;
    this.#onClose();
  }

  next(): Promise<IteratorResult<PolicyUpdate, undefined>> {
    if (this.#closed) return Promise.resolve({ value: undefined, done: true });
    if (this.#needsSnapshot) return Promise.resolve({ value: this.#takeSnapshot(), done: false });
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve({ value: queued, done: false });
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  return(): Promise<IteratorResult<PolicyUpdate, undefined>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #takeSnapshot(): PolicyUpdate {
    this.#needsSnapshot = false;
    const policies = [...this.#snapshot()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { type: 'snapshot', policies };
  }
}
