import { InMemoryElection, MemoryHub } from '@ztap/cluster-memory';
import type { ManualClock } from '@ztap/cluster-testing';
import type { Cluster } from '../../src/shared/cluster.ts';
import { memoryCluster } from '../../src/shared/memory.ts';

/**
 * Nodes of one in-memory cluster on a manual clock: `node-a` leads first (lowest id), heartbeats
 * every 100 ms, and a node silent for 300 ms is unhealthy. `healthy` lets a test fail a node's
 * health check; `backendError` lets it pretend the backend is unreachable.
 */
export function memoryNodes<const Ids extends readonly string[]>(
  clock: ManualClock,
  ids: Ids,
): { [K in keyof Ids]: MemoryNode } {
  const hub = new MemoryHub({ clock });
  const nodes = ids.map((nodeId, index): MemoryNode => {
    const state = { healthy: true, backendError: undefined as Error | undefined };
    const election = new InMemoryElection({
      nodeId,
      nodeAddress: `127.0.0.1:${9001 + index}`,
      heartbeatInterval: 100,
      electionTimeout: 300,
      initialLeadership: 0,
      healthCheck: () => state.healthy,
      clock,
      hub,
    });
    const cluster: Cluster = memoryCluster(election, { backendError: () => state.backendError });
    return { ...cluster, state };
  });
  return nodes as { [K in keyof Ids]: MemoryNode };
}

export interface MemoryNode extends Cluster {
  readonly state: { healthy: boolean; backendError: Error | undefined };
}

/** Collects log lines, as the examples' `log` option takes them. */
export function logLines(): { readonly lines: string[]; readonly log: (line: string) => void } {
  const lines: string[] = [];
  return { lines, log: (line) => void lines.push(line) };
}
