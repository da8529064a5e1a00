/**
 * At most `limit` re-lists at a time in this process, the rest in line, first come first served.
 * After an etcd outage every client of a process re-lists at once (a thousand agents each on its own
 * client: a thousand full reads of the prefix, each as large as the fleet); in line, the process and
 * etcd serve them at the pace they can, and the first done are not slowed by the last.
 */
export class RelistGate {
  readonly limit: number;
  #running = 0;
  readonly #line: (() => void)[] = [];

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Re-lists running now (for tests and telemetry). */
  get running(): number {
    return this.#running;
  }

  /** Re-lists waiting for a turn. */
  get waiting(): number {
    return this.#line.length;
  }

  /**
   * Runs `work` once a turn is free. `urgent` work (a re-list a candidate decides from: a leader must
   * not wait behind a thousand members' views) runs at once, outside the count.
   */
  async run<T>(work: () => Promise<T>, urgent = false): Promise<T> {
    if (urgent) return work();
    if (this.#running >= this.limit) await new Promise<void>((resolve) => this.#line.push(resolve));
    else this.#running++;
    try {
      return await work();
    } finally {
      const next = this.#line.shift();
      // The turn passes on directly: the count stays as it is.
      if (next) next();
      else this.#running--;
    }
  }
}

/** Re-lists in flight per process, across all its clients. */
export const MAX_CONCURRENT_RELISTS = 4;

/** The gate every mirror of this process shares. */
export const processRelists = new RelistGate(MAX_CONCURRENT_RELISTS);
