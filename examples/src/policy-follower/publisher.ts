import { type Clock, systemClock } from '@ztap/cluster';
import type { Cluster } from '../shared/cluster.ts';
import { sleep } from '../shared/sleep.ts';

export interface PublisherOptions {
  readonly name: string;
  readonly intervalMs: number;
  /** The document to publish the `count`th time (YAML). */
  readonly document: (count: number, term: number) => string;
  readonly signal: AbortSignal;
  readonly clock?: Clock;
  readonly log?: (line: string) => void;
}

/**
 * While this node leads, publishes policy `name` every `intervalMs`: a stand-in for whatever decides
 * your policies (a control loop, a configuration repository, `ztap policy push` by an operator).
 * Only the leader may write policies; a deposed leader's write is refused and writes nothing.
 */
export async function publishWhileLeader(
  cluster: Pick<Cluster, 'election' | 'policies'>,
  options: PublisherOptions,
): Promise<void> {
  const { name, intervalMs, document, clock = systemClock, log = console.log } = options;
  let count = 0;
  await cluster.election.lead(
    async ({ term, signal }) => {
      for (;;) {
        try {
          const policy = await cluster.policies.syncPolicy(name, document(++count, term));
          log(`published ${name} version ${policy.version} (term ${term})`);
        } catch (error) {
          if (signal.aborted) throw error;
          log(`could not publish ${name}: ${(error as Error).message}`);
        }
        await sleep(clock, intervalMs, signal);
      }
    },
    { signal: options.signal },
  );
}
