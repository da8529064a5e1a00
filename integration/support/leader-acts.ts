/**
 * How the chaos node processes act as leader and report it, one JSON line per attempt on stdout with
 * a process.hrtime instant (comparable across the processes of one machine). Shared by the
 * single-region node (node-process.ts) and the multi-region one (region-node-process.ts).
 */
export const now = () => process.hrtime.bigint().toString();

/** Writes one event line; `at` is now unless given. */
export const report = (event: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ ...event, at: event.at ?? now() })}\n`);
};

/** Acts periodically while a leadership holds, until told to be quiet. */
export class LeaderActs {
  #quiet = false;
  #acting = 0;
  readonly #quietWaiters: (() => void)[] = [];

  /**
   * Runs `act` every `everyMs` while `leading()` gives a term. The acting instant is taken right
   * after that check, before the request leaves: the moment this node acted as leader. Each attempt
   * is reported as `event` with the term, whether it was accepted and what `act` returned.
   */
  every(
    everyMs: number,
    event: string,
    leading: () => number | undefined,
    act: (term: number) => Promise<Record<string, unknown>>,
  ): void {
    let busy = false;
    setInterval(async () => {
      if (busy || this.#quiet) return;
      const term = leading();
      if (term === undefined) return;
      const actedAt = now();
      busy = true;
      this.#acting++;
      try {
        report({ event, term, ok: true, at: actedAt, ...(await act(term)) });
      } catch (error) {
        report({
          event,
          term,
          ok: false,
          error: (error as Error).name,
          code: (error as { code?: string }).code,
          at: actedAt,
        });
      } finally {
        busy = false;
        this.#acting--;
        if (this.#quiet && this.#acting === 0) for (const wake of this.#quietWaiters.splice(0)) wake();
      }
    }, everyMs);
  }

  /** Stops acting (for the final comparison), once the attempt in flight, if any, is done; reports `quiet`. */
  async quieten(): Promise<void> {
    this.#quiet = true;
    if (this.#acting > 0) await new Promise<void>((resolve) => this.#quietWaiters.push(resolve));
    report({ event: 'quiet' });
  }

  get quiet(): boolean {
    return this.#quiet;
  }
}
