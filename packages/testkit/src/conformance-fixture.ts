import type { ElectionRole, HealthCheck, LeaderElection, NodeMetadata, ViewKind } from '@ztap/cluster';

export interface ConformanceNodeOptions {
  /** Default: the library's (`candidate`). */
  readonly role?: ElectionRole;
  /** Default: the library's (`full`). */
  readonly view?: ViewKind;
  readonly address?: string;
  readonly metadata?: NodeMetadata;
  readonly healthCheck?: HealthCheck;
  /** Default: the library's (5000 ms). */
  readonly drainTimeout?: number;
  /** Default 0. */
  readonly priority?: number;
  /** Default: the fixture's (0: nodes may lead at once). */
  readonly initialLeadership?: number;
  /** Default: the library's (5000 ms). */
  readonly minLeadership?: number;
  /**
   * Called once, as soon as this node's `start()` has begun talking to its store (etcd: the lease
   * grant is on the wire): the moment a test aborts a start that must then undo what it began.
   */
  readonly onStartIo?: () => void;
}

/** What a backend provides to be held to the `LeaderElection` contract. */
export interface ConformanceFixture {
  /**
   * A new, not yet started election in this test's own cluster, with timings of the backend's choice
   * (fast enough for tests). Throws exactly what the backend's constructor throws for bad input.
   */
  createNode(nodeId: string, options?: ConformanceNodeOptions): LeaderElection;
  /** The timings `createNode` configures, milliseconds. */
  readonly timing: { readonly heartbeatInterval: number; readonly electionTimeout: number };
  /**
   * Leaves behind what a node that crashed a moment ago leaves: a member record for `nodeId` at
   * `address`, held by a claim that nobody renews any more and that lapses within the backend's
   * timeout (etcd: a lease with the nodes' TTL; memory: a hub candidate that never heartbeats).
   */
  crashedHolder(nodeId: string, address: string): Promise<void>;
  /** Lets time pass (simulated or real) until `promise` settles; fails after a bounded time. */
  settle<T>(promise: Promise<T>): Promise<T>;
  /**
   * What the store still holds of `nodeId`, one line each (etcd: its keys, and leases its nodes were
   * granted that are still alive); empty when it left nothing behind.
   */
  leftovers(nodeId: string): Promise<string[]>;
  /** Stops every node this fixture created and releases the cluster. */
  cleanup(): Promise<void>;
}

/** What the contract's tests share: nodes of the current test's fixture, and waiting for a leader. */
export interface ConformanceHelpers {
  readonly fixture: () => ConformanceFixture;
  node(id: string, options?: ConformanceNodeOptions): LeaderElection;
  /** Starts every node; returns them. */
  started(...nodes: LeaderElection[]): Promise<LeaderElection[]>;
  /** Waits until some node leads; returns it. */
  leaderAmong(nodes: LeaderElection[]): Promise<LeaderElection>;
}

export function conformanceHelpers(fixture: () => ConformanceFixture): ConformanceHelpers {
  return {
    fixture,
    node: (id, options) => fixture().createNode(id, options),
    started: async (...nodes) => {
      await Promise.all(nodes.map((candidate) => candidate.start()));
      return nodes;
    },
    leaderAmong: async (nodes) => {
      const leadership = await fixture().settle(
        Promise.any(nodes.map((candidate) => candidate.waitForLeadership())),
      );
      const leader = nodes.find((candidate) => candidate.term === leadership.term);
      if (!leader) throw new Error(`no node holds term ${leadership.term}`);
      return leader;
    },
  };
}
