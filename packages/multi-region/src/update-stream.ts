import type { Policy, PolicyUpdate } from '@ztap/cluster';

/**
 * One subscriber's policy updates: a snapshot first, then each update in order. A subscriber that
 * falls `bufferSize` updates behind, or whose source started over, gets a fresh snapshot instead of
 * what it missed: memory stays bounded and nothing is silently skipped.
 */
export class UpdateStream implements AsyncIterableIterator<PolicyUpdate> {
  readonly #snapshot: () => readonly Policy[];
  readonly #bufferSize: number;
  readonly #onEnd: () => void;
  #queue: PolicyUpdate[] = [];
  #needsSnapshot = true;
  #ended = false;
  #wake: (() => void) | undefined;

  constructor(snapshot: () => readonly Policy[], options: { bufferSize: number; onEnd: () => void }) {
    this.#snapshot = snapshot;
    this.#bufferSize = options.bufferSize;
    this.#onEnd = options.onEnd;
  }

  push(update: PolicyUpdate): void {
    if (this.#ended || this.#needsSnapshot) return; // a snapshot still to come covers it
    if (this.#queue.length >= this.#bufferSize) this.resync();
    else this.#queue.push(update);
    this.#notify();
  }

  /** Whatever is queued is replaced by a snapshot taken when the subscriber reads next. */
  resync(): void {
    this.#needsSnapshot = true;
    this.#queue = [];
    this.#notify();
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#queue = [];
    this.#onEnd();
    this.#notify();
  }

  async next(): Promise<IteratorResult<PolicyUpdate, undefined>> {
    for (;;) {
      if (this.#ended) return { value: undefined, done: true };
      if (this.#needsSnapshot) {
        this.#needsSnapshot = false;
        this.#queue = [];
        return { value: { type: 'snapshot', policies: this.#snapshot() }, done: false };
      }
      const update = this.#queue.shift();
      if (update) return { value: update, done: false };
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  async return(): Promise<IteratorResult<PolicyUpdate, undefined>> {
    this.end();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
