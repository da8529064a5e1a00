import { isElectionStoppedError, type LeaderElection, type Leadership } from '@ztap/cluster';

/**
 * Runs `lead` each time this node becomes leader, until `signal` aborts or the election stops.
 * `lead` gets the term (fencing token) and a signal that aborts when that leadership ends or `signal`
 * aborts; it must stop acting as leader then (throwing is the usual way out). If it returns earlier,
 * the leadership is held until it ends. An error thrown while still leader ends the loop.
 */
export async function whileLeader(
  election: LeaderElection,
  lead: (leadership: Leadership) => Promise<void>,
  options: { signal: AbortSignal; log?: (line: string) => void },
): Promise<void> {
  const { signal, log = () => {} } = options;
  while (!signal.aborted) {
    const current: { leadership?: Leadership } = {};
    try {
      await election.runWhileLeader(
        async (leadership) => {
          current.leadership = leadership;
          await lead(leadership);
          await new Promise((_, reject) => {
            if (leadership.signal.aborted) reject(leadership.signal.reason);
            leadership.signal.addEventListener('abort', () => reject(leadership.signal.reason), {
              once: true,
            });
          });
        },
        { signal },
      );
    } catch (error) {
      if (signal.aborted || isElectionStoppedError(error)) return; // shutting down, or stopped
      const ended = current.leadership?.signal;
      if (!ended?.aborted) throw error; // `lead` failed while still leader
      log(`no longer leader: ${(ended.reason as Error).message}`);
    }
  }
}
