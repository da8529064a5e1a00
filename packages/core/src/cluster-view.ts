import type { ClusterState, ClusterStateChange, Node, NodeMetadata, NodeState } from './types.ts';

/** A member as a backend reads it from its store; the role is derived from the leader. */
export interface MemberRecord {
  readonly id: string;
  readonly address: string;
  readonly metadata: NodeMetadata;
  readonly state: NodeState;
  readonly joinedAt: Date;
  readonly lastSeen: Date;
  /** The member's priority as it publishes it (0 when it publishes none). */
  readonly priority: number;
}

export interface LeaderRecord {
  readonly id: string;
  readonly term: number;
}

/** Everything a backend knows about the cluster at one moment (one store revision). */
export interface ClusterSnapshot {
  readonly members: Iterable<MemberRecord>;
  readonly leader: LeaderRecord | undefined;
}

/** What changed between two moments: members added or rewritten, members gone, and the leader after. */
export interface ClusterDelta {
  readonly upserts: Iterable<MemberRecord>;
  readonly removals: Iterable<string>;
  readonly leader: LeaderRecord | undefined;
}

/** What an election shows of a cluster: the getters of `LeaderElection` answer from one of these. */
export interface ClusterReader {
  readonly leader: Node | undefined;
  readonly term: number | undefined;
  readonly state: ClusterState;
  /** Every member, sorted by id. */
  nodes(): Node[];
  getNode(id: string): Node | undefined;
  /** The changes that lead from an empty cluster to the current one (a new watcher's starting picture). */
  currentAsChanges(timestamp: Date): ClusterStateChange[];
  /** Forgets everything without reporting it (the election stopped). */
  reset(): void;
}

const EMPTY_METADATA: NodeMetadata = Object.freeze({});

/**
 * The cluster as this node sees it, and the one place that turns store updates into ordered change
 * events, so that every backend reports the same transitions in the same order:
 *
 * 1. `leader_lost` (first, so nobody trusts a departed leader a moment longer than needed),
 * 2. `node_left`, 3. `node_joined`, 4. `node_healthy` / `node_unhealthy`, 5. `node_updated`,
 * 6. `leader_elected` (last, once the new leader's own record is current).
 *
 * Within each group nodes come in id order. `lastSeen` alone never makes an event: it moves with every
 * heartbeat and would flood watchers. Updates cost O(changed members), so a process hosting many
 * nodes does not pay O(members) per event per node.
 */
export class ClusterView implements ClusterReader {
  #nodes = new Map<string, Node>();
  #leader: LeaderRecord | undefined;
  /** Leaders shown without a member record of their own (e.g. deleted by an operator). */
  #placeholders = new Set<string>();

  get state(): ClusterState {
    const leaderNode = this.leader;
    return Object.freeze({
      leader: leaderNode,
      term: leaderNode ? this.#leader?.term : undefined,
      nodes: Object.freeze(this.nodes()),
    });
  }

  get leader(): Node | undefined {
    return this.#leader ? this.#nodes.get(this.#leader.id) : undefined;
  }

  get term(): number | undefined {
    return this.#leader?.term;
  }

  /** The leader and its term, as last applied (the leader's node may be a placeholder). */
  get leaderRecord(): LeaderRecord | undefined {
    return this.#leader;
  }

  getNode(id: string): Node | undefined {
    return this.#nodes.get(id);
  }

  /** Every member, sorted by id. */
  nodes(): Node[] {
    return [...this.#nodes.values()].sort(byId);
  }

  /** Forgets everything without reporting it (used when a node stops watching the cluster). */
  reset(): void {
    this.#nodes = new Map();
    this.#leader = undefined;
    this.#placeholders = new Set();
  }

  /** The changes that lead from an empty cluster to the current one (a new watcher's starting picture). */
  currentAsChanges(timestamp: Date): ClusterStateChange[] {
    return picture(this.nodes(), this.leader, this.#leader?.term, timestamp);
  }

  /** Replaces the whole view with `snapshot`; returns the changes between them, in the documented order. */
  apply(snapshot: ClusterSnapshot, timestamp: Date): ClusterStateChange[] {
    const upserts = [...snapshot.members];
    const present = new Set(upserts.map((member) => member.id));
    const removals = [...this.#nodes.keys()].filter((id) => !present.has(id) && !this.#placeholders.has(id));
    return this.update({ upserts, removals, leader: snapshot.leader }, timestamp);
  }

  /** Applies what changed; returns the changes, in the documented order. */
  update(delta: ClusterDelta, timestamp: Date): ClusterStateChange[] {
    const previousLeader = this.#leader;
    const nextLeader = delta.leader;
    const leaderChanged = previousLeader?.id !== nextLeader?.id || previousLeader?.term !== nextLeader?.term;
    const changes: ClusterStateChange[] = [];
    const lostNode = previousLeader && this.#nodes.get(previousLeader.id);
    if (leaderChanged && lostNode)
      changes.push(change('leader_lost', lostNode, timestamp, previousLeader.term));

    for (const id of [...delta.removals].sort()) {
      const node = this.#nodes.get(id);
      if (!node) continue;
      if (id === nextLeader?.id) {
        // A leader whose record vanished still leads: keep showing it rather than hide the leader.
        this.#placeholders.add(id);
        continue;
      }
      this.#nodes.delete(id);
      this.#placeholders.delete(id);
      changes.push(change('node_left', node, timestamp));
    }

    const joined: Node[] = [];
    const healthChanged: Node[] = [];
    const updated: Node[] = [];
    for (const member of [...delta.upserts].sort(byId)) {
      const before = this.#nodes.get(member.id);
      const node = toNode(member, member.id === nextLeader?.id);
      this.#nodes.set(member.id, node);
      this.#placeholders.delete(member.id);
      if (!before) {
        joined.push(node);
        continue;
      }
      const stateChanged = before.state !== node.state;
      if (stateChanged && node.state !== 'unknown') healthChanged.push(node);
      if (
        before.address !== node.address ||
        before.priority !== node.priority ||
        !sameMetadata(before.metadata, node.metadata)
      )
        updated.push(node);
      else if (stateChanged && node.state === 'unknown') updated.push(node);
    }

    if (leaderChanged) {
      if (previousLeader) this.#demote(previousLeader.id, nextLeader?.id, changes, timestamp);
      if (nextLeader && !this.#nodes.has(nextLeader.id)) {
        this.#placeholders.add(nextLeader.id);
        joined.push(placeholderLeader(nextLeader.id, timestamp));
        this.#nodes.set(nextLeader.id, joined.at(-1) as Node);
      }
    }
    for (const node of joined.sort(byId)) changes.push(change('node_joined', node, timestamp));
    for (const node of healthChanged) {
      changes.push(change(node.state === 'healthy' ? 'node_healthy' : 'node_unhealthy', node, timestamp));
    }
    for (const node of updated) changes.push(change('node_updated', node, timestamp));

    this.#leader = nextLeader ? { id: nextLeader.id, term: nextLeader.term } : undefined;
    if (leaderChanged && nextLeader) {
      const elected = withRole(this.#nodes.get(nextLeader.id) as Node, 'leader');
      this.#nodes.set(nextLeader.id, elected);
      changes.push(change('leader_elected', elected, timestamp, nextLeader.term));
    }
    return changes;
  }

  /** The former leader becomes a follower, or disappears if it was only shown because it led. */
  #demote(
    id: string,
    nextLeaderId: string | undefined,
    changes: ClusterStateChange[],
    timestamp: Date,
  ): void {
    const node = this.#nodes.get(id);
    if (!node || id === nextLeaderId) return;
    if (this.#placeholders.delete(id)) {
      this.#nodes.delete(id);
      changes.push(change('node_left', node, timestamp));
    } else {
      this.#nodes.set(id, withRole(node, 'follower'));
    }
  }
}

function byId(a: { id: string }, b: { id: string }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function toNode(member: MemberRecord, isLeader: boolean): Node {
  return Object.freeze({
    id: member.id,
    address: member.address,
    state: member.state,
    role: isLeader ? 'leader' : 'follower',
    joinedAt: member.joinedAt,
    lastSeen: member.lastSeen,
    metadata: Object.isFrozen(member.metadata) ? member.metadata : Object.freeze({ ...member.metadata }),
    priority: member.priority,
  });
}

/** The changes that lead from an empty cluster to `nodes` led by `leader`. */
export function picture(
  nodes: readonly Node[],
  leader: Node | undefined,
  term: number | undefined,
  timestamp: Date,
): ClusterStateChange[] {
  const changes: ClusterStateChange[] = nodes.map((node) => change('node_joined', node, timestamp));
  if (leader && term !== undefined) changes.push(change('leader_elected', leader, timestamp, term));
  return changes;
}

export function withRole(node: Node, role: Node['role']): Node {
  return node.role === role ? node : Object.freeze({ ...node, role });
}

export function placeholderLeader(id: string, timestamp: Date): Node {
  return Object.freeze({
    id,
    address: '',
    state: 'unknown',
    role: 'leader',
    joinedAt: timestamp,
    lastSeen: timestamp,
    metadata: EMPTY_METADATA,
    priority: 0,
  });
}

function sameMetadata(a: NodeMetadata, b: NodeMetadata): boolean {
  const aKeys = Object.keys(a);
  if (aKeys.length !== Object.keys(b).length) return false;
  return aKeys.every((key) => Object.hasOwn(b, key) && a[key] === b[key]);
}

export function change(
  type: ClusterStateChange['type'],
  node: Node,
  timestamp: Date,
  term?: number,
): ClusterStateChange {
  return Object.freeze(term === undefined ? { type, node, timestamp } : { type, node, term, timestamp });
}
