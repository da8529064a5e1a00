import { FencedWriteError } from '@ztap/cluster';
import { type InMemoryElection, InMemoryPolicySync, type MemoryHub } from '@ztap/cluster-memory';
import type { Cluster, FencedStore } from './cluster.ts';

// One result store per hub: the nodes of a hub share it, as the nodes of a cluster share etcd.
const stores = new WeakMap<MemoryHub, Map<string, string>>();

/**
 * The same interfaces as `etcd.ts`, on the in-memory backend: what the examples' tests use.
 * `backendError` lets a test pretend the backend is unreachable (memory itself never is).
 */
export function memoryCluster(
  election: InMemoryElection,
  options: { backendError?: () => Error | undefined } = {},
): Cluster {
  const { hub } = election;
  const results = stores.get(hub) ?? new Map<string, string>();
  stores.set(hub, results);
  const store: FencedStore = {
    async put(term, key, value) {
      // The hub's current leadership is checked and the value written in one synchronous step, so
      // nothing can depose the writer in between: as atomic as etcd's transaction.
      const leader = hub.snapshot().leader;
      if (leader?.id !== election.nodeId || leader.term !== term) throw new FencedWriteError(term);
      results.set(key, value);
    },
    async get(key) {
      return results.get(key);
    },
  };
  return {
    election,
    policies: new InMemoryPolicySync(election),
    store,
    backendError: options.backendError ?? (() => undefined),
  };
}
