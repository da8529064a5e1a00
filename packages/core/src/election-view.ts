import {
  type ClusterReader,
  type ClusterView,
  change,
  type LeaderRecord,
  picture,
  placeholderLeader,
  withRole,
} from './cluster-view.ts';
import type { ClusterState, ClusterStateChange, Node } from './types.ts';

const sameLeader = (a: LeaderRecord | undefined, b: LeaderRecord | undefined) =>
  a?.id === b?.id && a?.term === b?.term;

const EMPTY_STATE: ClusterState = Object.freeze({
  leader: undefined,
  term: undefined,
  nodes: Object.freeze([]),
});

/**
 * One election's picture of a {@link ClusterView} that several elections in a process share (on etcd:
 * the elections on one client and prefix). It is the shared view, with this node's local truth laid
 * over it: a node never shows itself as leader while it may not act as one — it stepped down locally
 * (its lease may be expiring, it is unhealthy, it resigned) before the store noticed.
 *
 * Changes computed once for the shared view are handed on as they are, by reference, to every
 * election whose picture does not differ; only the election that hides itself rewrites them. So a
 * batch costs each watching election O(1) besides delivery, and memory holds one copy of each node.
 */
export class ElectionView implements ClusterReader {
  readonly #selfId: string;
  readonly #mayLead: () => boolean;
  #shared: ClusterView | undefined;
  /** The leader this election's watchers were last shown. */
  #shown: LeaderRecord | undefined;
  #followerSelf: { readonly source: Node; readonly node: Node } | undefined;

  /** `mayLead` answers whether this node may act as leader right now (its local leadership). */
  constructor(selfId: string, mayLead: () => boolean) {
    this.#selfId = selfId;
    this.#mayLead = mayLead;
  }

  /** Follows `shared` from now on; returns the starting picture for watchers. */
  attach(shared: ClusterView, timestamp: Date): ClusterStateChange[] {
    this.#shared = shared;
    this.#shown = this.leaderRecord;
    return this.currentAsChanges(timestamp);
  }

  /** Shows nothing any more (the election stopped). */
  reset(): void {
    this.#shared = undefined;
    this.#shown = undefined;
    this.#followerSelf = undefined;
  }

  /** Watchers begin to follow: what they are shown starts from the current picture. */
  resetShown(): void {
    this.#shown = this.leaderRecord;
  }

  get leaderRecord(): LeaderRecord | undefined {
    const record = this.#shared?.leaderRecord;
    return record && record.id === this.#selfId && !this.#mayLead() ? undefined : record;
  }

  get leader(): Node | undefined {
    const record = this.leaderRecord;
    return record ? this.#shared?.getNode(record.id) : undefined;
  }

  get term(): number | undefined {
    return this.leaderRecord?.term;
  }

  get state(): ClusterState {
    if (!this.#shared) return EMPTY_STATE;
    const leader = this.leader;
    return Object.freeze({
      leader,
      term: leader ? this.leaderRecord?.term : undefined,
      nodes: Object.freeze(this.nodes()),
    });
  }

  getNode(id: string): Node | undefined {
    const node = this.#shared?.getNode(id);
    return node && this.#overlaid(node);
  }

  nodes(): Node[] {
    const nodes = this.#shared?.nodes() ?? [];
    const self = nodes.findIndex((node) => node.id === this.#selfId);
    if (self >= 0) nodes[self] = this.#overlaid(nodes[self] as Node);
    return nodes;
  }

  currentAsChanges(timestamp: Date): ClusterStateChange[] {
    return picture(this.nodes(), this.leader, this.term, timestamp);
  }

  /**
   * This election's changes for one batch of the shared view: `changes` as the shared view computed
   * them, `sharedBefore` its leader before the batch. The same array when nothing differs.
   */
  follow(
    changes: readonly ClusterStateChange[],
    sharedBefore: LeaderRecord | undefined,
    timestamp: Date,
  ): readonly ClusterStateChange[] {
    const shown = this.#shown;
    const now = this.leaderRecord;
    this.#shown = now;
    if (sameLeader(shown, sharedBefore) && sameLeader(now, this.#shared?.leaderRecord)) return changes;
    const rewritten: ClusterStateChange[] = [];
    const lost = !sameLeader(shown, now) && shown ? this.#lostChange(shown, changes, timestamp) : undefined;
    if (lost) rewritten.push(lost);
    for (const item of changes) {
      if (item.type === 'leader_lost' || item.type === 'leader_elected') continue;
      const node = this.#overlaid(item.node);
      rewritten.push(node === item.node ? item : { ...item, node });
    }
    const elected = !sameLeader(shown, now) && now ? this.#electedChange(now, timestamp) : undefined;
    if (elected) rewritten.push(elected);
    return rewritten;
  }

  /** The changes since watchers were last shown the leader, when only local leadership moved. */
  refresh(timestamp: Date): ClusterStateChange[] {
    const shown = this.#shown;
    const now = this.leaderRecord;
    if (sameLeader(shown, now)) return [];
    this.#shown = now;
    const changes: ClusterStateChange[] = [];
    const lost = shown && this.#lostChange(shown, [], timestamp);
    if (lost) changes.push(lost);
    const elected = now && this.#electedChange(now, timestamp);
    if (elected) changes.push(elected);
    return changes;
  }

  /** Self, shown as a follower while the shared view has it lead but it may not. */
  #overlaid(node: Node): Node {
    if (node.id !== this.#selfId || node.role !== 'leader' || this.#mayLead()) return node;
    if (this.#followerSelf?.source !== node)
      this.#followerSelf = { source: node, node: withRole(node, 'follower') };
    return this.#followerSelf.node;
  }

  #lostChange(
    leader: LeaderRecord,
    changes: readonly ClusterStateChange[],
    timestamp: Date,
  ): ClusterStateChange {
    // As last seen: a node that left in this batch is only in the batch.
    const node =
      changes.find((item) => item.node.id === leader.id && item.type === 'node_left')?.node ??
      this.#shared?.getNode(leader.id) ??
      placeholderLeader(leader.id, timestamp);
    return change('leader_lost', withRole(node, 'leader'), timestamp, leader.term);
  }

  #electedChange(leader: LeaderRecord, timestamp: Date): ClusterStateChange | undefined {
    const node = this.#shared?.getNode(leader.id);
    return node ? change('leader_elected', withRole(node, 'leader'), timestamp, leader.term) : undefined;
  }
}
