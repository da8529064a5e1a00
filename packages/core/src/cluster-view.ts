import type { ClusterState, ClusterStateChange, Node, NodeMetadata, NodeState } from './types.ts';

/** A member as a backend reads it from its store; the role is derived from the snapshot's leader. */
export interface MemberRecord {
  readonly id: string;
  readonly address: string;
  readonly metadata: NodeMetadata;
  readonly state: NodeState;
  readonly joinedAt: Date;
  readonly lastSeen: Date;
}

/** Everything a backend knows about the cluster at one moment (one store revision). */
export interface ClusterSnapshot {
  readonly members: Iterable<MemberRecord>;
  readonly leader: { readonly id: string; readonly term: number } | undefined;
}

const EMPTY_METADATA: NodeMetadata = Object.freeze({});

/**
 * The cluster as this node sees it, and the one place that turns successive snapshots into ordered
 * change events, so that every backend reports the same transitions in the same order:
 *
 * 1. `leader_lost` (first, so nobody trusts a departed leader a moment longer than needed),
 * 2. `node_left`, 3. `node_joined`, 4. `node_healthy` / `node_unhealthy`, 5. `node_updated`,
 * 6. `leader_elected` (last, once the new leader's own record is current).
 *
 * Within each group nodes come in id order. `lastSeen` alone never makes an event: it moves with every
 * heartbeat and would flood watchers.
 */
export class ClusterView {
  #nodes = new Map<string, Node>();
  #leader: { id: string; term: number } | undefined;

  get state(): ClusterState {
    const leaderNode = this.#leader ? this.#nodes.get(this.#leader.id) : undefined;
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
  }

  /** The changes that lead from an empty cluster to the current one (a new watcher's starting picture). */
  currentAsChanges(timestamp: Date): ClusterStateChange[] {
    const changes: ClusterStateChange[] = this.nodes().map((node) => change('node_joined', node, timestamp));
    const leader = this.leader;
    if (leader && this.#leader) changes.push(change('leader_elected', leader, timestamp, this.#leader.term));
    return changes;
  }

  /** Replaces the view with `snapshot` and returns the changes between them, in the documented order. */
  apply(snapshot: ClusterSnapshot, timestamp: Date): ClusterStateChange[] {
    const previousNodes = this.#nodes;
    const previousLeader = this.#leader;
    const nextLeader = snapshot.leader;
    const nextNodes = new Map<string, Node>();
    for (const member of snapshot.members) {
      nextNodes.set(member.id, toNode(member, member.id === nextLeader?.id));
    }
    // A leader whose member record is missing (e.g. deleted by an operator) still leads: show it.
    if (nextLeader && !nextNodes.has(nextLeader.id)) {
      nextNodes.set(
        nextLeader.id,
        placeholderLeader(nextLeader.id, previousNodes.get(nextLeader.id), timestamp),
      );
    }

    const leaderChanged = previousLeader?.id !== nextLeader?.id || previousLeader?.term !== nextLeader?.term;
    const changes: ClusterStateChange[] = [];
    if (leaderChanged && previousLeader) {
      const lost = previousNodes.get(previousLeader.id);
      if (lost) changes.push(change('leader_lost', lost, timestamp, previousLeader.term));
    }
    const joined: Node[] = [];
    const healthChanged: Node[] = [];
    const updated: Node[] = [];
    for (const node of [...previousNodes.values()].sort(byId)) {
      if (!nextNodes.has(node.id)) changes.push(change('node_left', node, timestamp));
    }
    for (const node of [...nextNodes.values()].sort(byId)) {
      const before = previousNodes.get(node.id);
      if (!before) joined.push(node);
      else {
        if (before.state !== node.state && node.state !== 'unknown') healthChanged.push(node);
        if (before.address !== node.address || !sameMetadata(before.metadata, node.metadata))
          updated.push(node);
        else if (before.state !== node.state && node.state === 'unknown') updated.push(node);
      }
    }
    for (const node of joined) changes.push(change('node_joined', node, timestamp));
    for (const node of healthChanged) {
      changes.push(change(node.state === 'healthy' ? 'node_healthy' : 'node_unhealthy', node, timestamp));
    }
    for (const node of updated) changes.push(change('node_updated', node, timestamp));
    if (leaderChanged && nextLeader) {
      const elected = nextNodes.get(nextLeader.id);
      if (elected) changes.push(change('leader_elected', elected, timestamp, nextLeader.term));
    }

    this.#nodes = nextNodes;
    this.#leader = nextLeader ? { id: nextLeader.id, term: nextLeader.term } : undefined;
    return changes;
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
  });
}

function placeholderLeader(id: string, previous: Node | undefined, timestamp: Date): Node {
  return Object.freeze({
    id,
    address: previous?.address ?? '',
    state: previous?.state ?? 'unknown',
    role: 'leader',
    joinedAt: previous?.joinedAt ?? timestamp,
    lastSeen: previous?.lastSeen ?? timestamp,
    metadata: previous?.metadata ?? EMPTY_METADATA,
  });
}

function sameMetadata(a: NodeMetadata, b: NodeMetadata): boolean {
  const aKeys = Object.keys(a);
  if (aKeys.length !== Object.keys(b).length) return false;
  return aKeys.every((key) => Object.hasOwn(b, key) && a[key] === b[key]);
}

function change(
  type: ClusterStateChange['type'],
  node: Node,
  timestamp: Date,
  term?: number,
): ClusterStateChange {
  return Object.freeze(term === undefined ? { type, node, timestamp } : { type, node, term, timestamp });
}
