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
      // The in-memory backend updates an election's leadership in the same synchronous step as its
      // hub, so checking the term and writing at once is as atomic as etcd's transaction.
      if (election.term !== term) throw new FencedWriteError(term);
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
