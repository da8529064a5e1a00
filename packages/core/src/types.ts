/** How a member is doing, as far as the cluster can tell. */
export type NodeState =
  /** Registered, but not heard from yet (e.g. added by an operator before its agent runs). */
  | 'unknown'
  /** Alive (heartbeats arrive / its lease lives) and its health check passes. */
  | 'healthy'
  /** Missed heartbeats for `electionTimeout`, or its health check fails. Never leads. */
  | 'unhealthy';

export const NODE_STATES: readonly NodeState[] = ['unknown', 'healthy', 'unhealthy'];

export type NodeRole = 'leader' | 'follower';

/** Free-form string labels attached to a node (zone, version, ...). */
export type NodeMetadata = Readonly<Record<string, string>>;

/** A member of the cluster, as seen at one moment. Objects handed out are frozen snapshots. */
export interface Node {
  /** Unique within the cluster: 1-128 characters, no `/`, whitespace or control characters. */
  readonly id: string;
  /** Where the node serves, `host:port`. */
  readonly address: string;
  readonly state: NodeState;
  readonly role: NodeRole;
  readonly joinedAt: Date;
  /** When the node was last known to be alive. */
  readonly lastSeen: Date;
  readonly metadata: NodeMetadata;
  /**
   * Its claim to lead (the `priority` option; 0 when it sets none, and for records an operator
   * registered): higher-priority candidates get leadership handed to them.
   */
  readonly priority: number;
}

/** What `registerNode` takes: a node's identity; state, role and times are the cluster's to decide. */
export interface NodeRegistration {
  readonly id: string;
  readonly address: string;
  readonly metadata?: NodeMetadata;
}

/** The cluster at one moment. */
export interface ClusterState {
  /** The current leader, or `undefined` while there is none. */
  readonly leader: Node | undefined;
  /** Fencing token of the current leadership, or `undefined` while there is no leader. */
  readonly term: number | undefined;
  /** Every member, sorted by id. */
  readonly nodes: readonly Node[];
}

export type ChangeType =
  | 'node_joined'
  | 'node_left'
  | 'node_healthy'
  | 'node_unhealthy'
  /** Address, metadata or priority changed. */
  | 'node_updated'
  | 'leader_elected'
  | 'leader_lost';

export const CHANGE_TYPES: readonly ChangeType[] = [
  'node_joined',
  'node_left',
  'node_healthy',
  'node_unhealthy',
  'node_updated',
  'leader_elected',
  'leader_lost',
];

/** One change to the cluster, delivered in order by `watch()`. */
export interface ClusterStateChange {
  readonly type: ChangeType;
  /** The node concerned; for `node_left` and `leader_lost`, as it was last seen. */
  readonly node: Node;
  /** For `leader_elected` and `leader_lost`: the term that began or ended. */
  readonly term?: number;
  readonly timestamp: Date;
  readonly error?: Error;
}

/**
 * One leadership of this node: the fencing token and a signal that aborts the moment this node may
 * no longer act as leader (its `reason` is a `LeadershipLostError`).
 */
export interface Leadership {
  readonly term: number;
  readonly signal: AbortSignal;
}
