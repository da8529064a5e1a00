import type { Event } from '@ztap/cluster';

/**
 * Fires typed events (cockatiel's shape, like `election.telemetry`). A listener that throws does not
 * stop the others: instrumentation must never break replication or an election.
 */
export class Emitter<T> {
  readonly #listeners = new Set<(value: T) => void>();

  readonly event: Event<T> = (listener) => {
    this.#listeners.add(listener);
    return { dispose: () => this.#listeners.delete(listener) };
  };

  fire(value: T): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(value);
      } catch {
        // Instrumentation must never break the caller.
      }
    }
  }
}
