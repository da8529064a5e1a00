import { ManualClock } from '@ztap/cluster-testing';
import { afterEach, beforeEach } from 'vitest';
import { InMemoryElection, type InMemoryElectionOptions, MemoryHub } from '../src/index.ts';

export const HEARTBEAT_MS = 1000;
export const TIMEOUT_MS = 5000;

/** A fresh hub on a manual clock for every test, and a factory of elections on it that are stopped after the test. */
export interface MemoryCluster {
  readonly clock: ManualClock;
  readonly hub: MemoryHub;
  /** An election at `<nodeId>.internal:9090`, heartbeat 1 s, timeout 5 s, leading at once. */
  election(nodeId: string, options?: Partial<InMemoryElectionOptions>): InMemoryElection;
}

export function useMemoryCluster(): MemoryCluster {
  let clock = new ManualClock();
  let hub = new MemoryHub({ clock });
  let elections: InMemoryElection[] = [];
  beforeEach(() => {
    clock = new ManualClock();
    hub = new MemoryHub({ clock });
    elections = [];
  });
  afterEach(async () => {
    await Promise.all(elections.map((election) => election.stop()));
  });
  return {
    get clock() {
      return clock;
    },
    get hub() {
      return hub;
    },
    election(nodeId, options = {}) {
      const created = new InMemoryElection({
        nodeId,
        nodeAddress: `${nodeId}.internal:9090`,
        heartbeatInterval: HEARTBEAT_MS,
        electionTimeout: TIMEOUT_MS,
        initialLeadership: 0,
        clock,
        hub,
        ...options,
      });
      elections.push(created);
      return created;
    },
  };
}
