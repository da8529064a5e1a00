import { type Clock, systemClock } from '@ztap/cluster';
import type { Cluster } from '../shared/cluster.ts';
import { sleep } from '../shared/sleep.ts';

/** One run of the job: which, under which leadership, and the signal it must honour. */
export interface JobRun {
  readonly run: number;
  readonly term: number;
  /** Aborts when this node stops leading or the program shuts down: stop working then. */
  readonly signal: AbortSignal;
}

export interface ScheduledJobOptions {
  /** The result of each run is stored under this key. */
  readonly name: string;
  /** How long to wait after each run before the next. */
  readonly intervalMs: number;
  /** The work itself; resolves with the result to store. Pass `signal` on (fetch, queries, ...). */
  readonly work: (run: JobRun) => Promise<string>;
  /** Shutdown: aborts the current run and starts no other. */
  readonly signal: AbortSignal;
  readonly clock?: Clock;
  readonly log?: (line: string) => void;
}

/**
 * Runs `work` at once and then `intervalMs` after each run, only while this node leads (through
 * `election.lead`), and stores each result with a fenced write. A run in progress when leadership ends
 * is aborted: after a lost lease another node may be running the job from that moment (after a
 * graceful `resign()` or `stop()` the successor waits for the aborted run to settle). Resolves once
 * `options.signal` aborts (the current run aborted, none started after) or the election stops.
 */
export async function runScheduledJob(
  cluster: Pick<Cluster, 'election' | 'store'>,
  options: ScheduledJobOptions,
): Promise<void> {
  const { name, intervalMs, work, clock = systemClock, log = console.log } = options;
  let runs = 0;
  await cluster.election.lead(
    async ({ term, signal }) => {
      log(`leading (term ${term}): running ${name} every ${intervalMs} ms`);
      for (;;) {
        const run = ++runs;
        log(`run ${run} started (term ${term})`);
        try {
          const result = await work({ run, term, signal });
          signal.throwIfAborted(); // no need to ask etcd: we know we may not write
          await cluster.store.put(term, name, result);
          log(`run ${run} done (term ${term}): ${result}`);
        } catch (error) {
          if (signal.aborted) {
            log(`run ${run} aborted: ${(signal.reason as Error).message}`);
            throw error;
          }
          // Includes FencedWriteError: deposed, and about to notice (the signal will abort).
          log(`run ${run} failed: ${(error as Error).message}`);
        }
        await sleep(clock, intervalMs, signal);
      }
    },
    { signal: options.signal },
  );
}
