import { isElectionStoppedError, LeaderWorkError } from './errors.ts';
import type { LeaderWorkErrorEvent } from './events.ts';
import type { Leadership } from './types.ts';

/** What the loop needs from an election. */
export interface LeaderLoopHost {
  runWhileLeader(
    fn: (leadership: Leadership) => Promise<void>,
    options: { signal?: AbortSignal },
  ): Promise<void>;
  resign(): Promise<void>;
}

/**
 * The loop behind `LeaderElection.lead`: `work` once per leadership, until `signal` aborts or the
 * election stops. See its documentation in election.ts for the contract.
 */
export async function leadEveryTerm(
  host: LeaderLoopHost,
  work: (leadership: Leadership) => unknown,
  options: { signal?: AbortSignal | undefined; onWorkError: (event: LeaderWorkErrorEvent) => void },
): Promise<void> {
  const { signal, onWorkError } = options;
  while (!signal?.aborted) {
    let round: Leadership | undefined;
    try {
      await host.runWhileLeader(
        async (leadership) => {
          round = leadership;
          await work(leadership);
          // Returned while still leader: hold the term. Calling `work` again in the same term would
          // spin whenever it returns at once.
          await aborted(leadership.signal);
        },
        signal ? { signal } : {},
      );
    } catch (error) {
      if (signal?.aborted) return;
      if (round === undefined) {
        if (isElectionStoppedError(error)) return; // stopped while waiting to lead: a normal end
        throw error;
      }
      // Whatever the work throws once its leadership has ended is the way out of that round.
      if (round.signal.aborted) continue;
      onWorkError({ term: round.term, error });
      // A node whose leader work fails must not keep the leadership with nobody doing that work.
      await host.resign().catch(() => {});
      throw new LeaderWorkError(round.term, { cause: error });
    }
  }
}

function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
