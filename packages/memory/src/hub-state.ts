import {
  type Clock,
  NodeExistsError,
  NodeIdInUseError,
  type NodeMetadata,
  NodeNotFoundError,
  type NodeRegistration,
  type NodeState,
} from '@ztap/cluster';
import type { ClusterSnapshot, MemberRecord, PriorityCandidate } from '@ztap/cluster/backend';
import { MemoryPolicyStore } from './policy-store.ts';

/** A running election's claim on a member record: only its owner heartbeats, leaves or resigns it. */
export type CandidateToken = symbol;

interface HubMember {
  readonly id: string;
  address: string;
  metadata: NodeMetadata;
  state: NodeState;
  /** Since when (monotonic ms) it has been healthy without interruption; for the priority rule. */
  healthySinceMs: number;
  priority: number;
  joinedAt: Date;
  lastSeen: Date;
  lastHeartbeatMs: number;
  /** Silence longer than this makes the member unhealthy (the electionTimeout of whoever added it). */
  timeoutMs: number;
  /** Set while a running election holds the record; `mayLead` is false for a `member` (it never campaigns). */
  candidate: { token: CandidateToken; eligibleAtMs: number; yieldRank: number; mayLead: boolean } | undefined;
}

/** Whether `a` comes before `b` among candidates of one priority: resigned-most-recently last, then id. */
function comesFirst(a: HubMember, b: HubMember): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  const rankA = a.candidate?.yieldRank ?? Number.POSITIVE_INFINITY;
  const rankB = b.candidate?.yieldRank ?? Number.POSITIVE_INFINITY;
  return rankA < rankB || (rankA === rankB && a.id < b.id);
}

export interface CandidateJoin extends NodeRegistration {
  readonly healthy: boolean;
  /** Default 0. */
  readonly priority?: number;
  readonly electionTimeout: number;
  readonly initialLeadership: number;
  /** False for a `member`: registered and health-tracked, never chosen as leader. */
  readonly mayLead: boolean;
}

/** What `HubState.attach` calls with every new snapshot. */
export type HubListener = (snapshot: ClusterSnapshot) => void;

/**
 * The store behind a `MemoryHub`: the members, the leader and its term. Elections that share a hub
 * see each other, like nodes sharing one etcd. Every change is pushed synchronously, in order, to
 * every attached election. Only this package's elections reach it (see hub.ts): nobody holding a hub
 * can join, heartbeat or resign on a node's behalf.
 *
 * The leader is the eligible candidate that comes first by (resigned-most-recently last, id): the seed's
 * lexicographic rule, except that a node that resigned queues behind the others until it leads again.
 * A candidate is eligible when it is healthy and its `initialLeadership` has passed; a `member`
 * holds a record and heartbeats like a candidate but is never eligible. Priorities come first when a
 * leader is chosen afresh; a leader is only pre-empted within its own priority (see
 * {@link HubState.transfer} and the priority rule, which the leading election applies itself).
 */
export class HubState {
  readonly #clock: Clock;
  /** The cluster's policies; leader writes are fenced by the hub's current term. */
  readonly policies: MemoryPolicyStore;
  readonly #members = new Map<string, HubMember>();
  readonly #listeners = new Set<HubListener>();
  readonly #eligibilityTimers = new Map<string, unknown>();
  #leader: { id: string; term: number; token: CandidateToken } | undefined;
  #lastTerm = 0;
  #lastYieldRank = 0;
  #notifying = false;
  #changedWhileNotifying = false;

  constructor(clock: Clock) {
    this.#clock = clock;
    this.policies = new MemoryPolicyStore(this.#clock, () => this.#leader?.term);
  }

  /** Calls `listener` with every new snapshot until the returned function is called. */
  attach(listener: HubListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  snapshot(): ClusterSnapshot {
    const members: MemberRecord[] = [...this.#members.values()].map((member) => ({
      id: member.id,
      address: member.address,
      metadata: member.metadata,
      state: member.state,
      joinedAt: member.joinedAt,
      lastSeen: member.lastSeen,
      priority: member.priority,
    }));
    const leader = this.#leader;
    return { members, leader: leader ? { id: leader.id, term: leader.term } : undefined };
  }

  /** Whether `id` is currently held by the running election with `token`. */
  holds(id: string, token: CandidateToken): boolean {
    return this.#members.get(id)?.candidate?.token === token;
  }

  /**
   * A running election joins as a candidate. It adopts a record an operator registered under its id,
   * and takes over one whose election fell silent for longer than its electionTimeout (a crashed
   * process); a record held by another live election is refused with `NodeIdInUseError`.
   */
  join(node: CandidateJoin, token: CandidateToken): void {
    const refusal = this.refusalFor(node.id, token);
    if (refusal) throw refusal;
    const existing = this.#members.get(node.id);
    const heldByOther = existing?.candidate !== undefined && existing.candidate.token !== token;
    const nowMs = this.#clock.monotonicNow();
    const wallNow = this.#clock.wallNow();
    const eligibleAtMs = nowMs + node.initialLeadership;
    this.#members.set(node.id, {
      id: node.id,
      address: node.address,
      metadata: node.metadata ?? {},
      state: node.healthy ? 'healthy' : 'unhealthy',
      healthySinceMs: existing?.state === 'healthy' && !heldByOther ? existing.healthySinceMs : nowMs,
      priority: node.priority ?? 0,
      joinedAt: existing && !heldByOther ? existing.joinedAt : wallNow,
      lastSeen: wallNow,
      lastHeartbeatMs: nowMs,
      timeoutMs: node.electionTimeout,
      candidate: { token, eligibleAtMs, yieldRank: 0, mayLead: node.mayLead },
    });
    if (node.mayLead && node.initialLeadership > 0)
      this.#scheduleEligibility(node.id, node.initialLeadership);
    this.#changed();
  }

  /** The `NodeIdInUseError` that {@link join} would throw for `token` (none given: for a newcomer), if any. */
  refusalFor(id: string, token?: CandidateToken): NodeIdInUseError | undefined {
    const existing = this.#members.get(id);
    if (!existing?.candidate || existing.candidate.token === token || this.#lapsed(existing))
      return undefined;
    return new NodeIdInUseError(id, { address: existing.address, since: existing.joinedAt });
  }

  /**
   * Waits on the election holding `id`: resolves `false` as soon as it heartbeats (it is alive),
   * `true` once its claim is gone (it left, was removed, or stayed silent past its electionTimeout).
   * Rejects with the signal's reason when it aborts.
   */
  whenHolderSettles(id: string, signal: AbortSignal): Promise<boolean> {
    const holder = this.#members.get(id);
    const token = holder?.candidate?.token;
    if (!holder || token === undefined) return Promise.resolve(true);
    const heardAtMs = holder.lastHeartbeatMs;
    return new Promise<boolean>((resolve, reject) => {
      let timer: unknown;
      const finish = (outcome: boolean | { error: unknown }) => {
        this.#clock.clearTimeout(timer);
        detach();
        signal.removeEventListener('abort', onAbort);
        if (typeof outcome === 'boolean') resolve(outcome);
        else reject(outcome.error);
      };
      const check = () => {
        const current = this.#members.get(id);
        if (current?.candidate?.token !== token || this.#lapsed(current)) finish(true);
        else if (current.lastHeartbeatMs !== heardAtMs) finish(false);
        else
          timer = this.#clock.setTimeout(
            check,
            heardAtMs + current.timeoutMs + 1 - this.#clock.monotonicNow(),
          );
      };
      const onAbort = () => finish({ error: signal.reason });
      const detach = this.attach(() => {
        this.#clock.clearTimeout(timer);
        check();
      });
      signal.addEventListener('abort', onAbort, { once: true });
      if (signal.aborted) onAbort();
      else check();
    });
  }

  /** The owner reports it is alive and whether its health check passes. Returns false if its record is gone. */
  heartbeat(id: string, token: CandidateToken, healthy: boolean): boolean {
    const member = this.#members.get(id);
    if (member?.candidate?.token !== token) return false;
    member.lastHeartbeatMs = this.#clock.monotonicNow();
    member.lastSeen = this.#clock.wallNow();
    this.#setState(member, healthy ? 'healthy' : 'unhealthy');
    this.#markSilentMembersUnhealthy();
    this.#changed();
    return true;
  }

  /** The owner leaves: its record goes, and with it any leadership it held. */
  leave(id: string, token: CandidateToken): void {
    if (this.#members.get(id)?.candidate?.token !== token) return;
    this.#members.delete(id);
    this.#clearEligibilityTimer(id);
    this.#changed();
  }

  /** The owner gives up leadership and queues behind every other candidate. */
  resign(id: string, token: CandidateToken): void {
    const member = this.#members.get(id);
    if (member?.candidate?.token !== token) return;
    member.candidate.yieldRank = ++this.#lastYieldRank;
    // Forget the leader so that even a lone candidate that is chosen again starts a new term.
    if (this.#leader?.id === id) this.#leader = undefined;
    this.#changed();
  }

  /** An operator adds a member that no election runs for (yet): `unknown` until heard from. */
  register(node: NodeRegistration, electionTimeout: number): void {
    if (this.#members.has(node.id)) throw new NodeExistsError(node.id);
    const wallNow = this.#clock.wallNow();
    this.#members.set(node.id, {
      id: node.id,
      address: node.address,
      metadata: node.metadata ?? {},
      state: 'unknown',
      healthySinceMs: 0,
      priority: 0,
      joinedAt: wallNow,
      lastSeen: wallNow,
      lastHeartbeatMs: this.#clock.monotonicNow(),
      timeoutMs: electionTimeout,
      candidate: undefined,
    });
    this.#changed();
  }

  /** An operator removes a member. A running election whose record is removed joins again on its next heartbeat. */
  deregister(id: string): void {
    if (!this.#members.delete(id)) throw new NodeNotFoundError(id);
    this.#clearEligibilityTimer(id);
    this.#changed();
  }

  /** A candidate silent for longer than its timeout: its process is presumed gone. */
  #lapsed(member: HubMember): boolean {
    return this.#clock.monotonicNow() - member.lastHeartbeatMs > member.timeoutMs;
  }

  #markSilentMembersUnhealthy(): void {
    const nowMs = this.#clock.monotonicNow();
    for (const member of this.#members.values()) {
      if (member.state !== 'unhealthy' && nowMs - member.lastHeartbeatMs > member.timeoutMs) {
        this.#setState(member, 'unhealthy');
      }
    }
  }

  #setState(member: HubMember, state: NodeState): void {
    if (state === 'healthy' && member.state !== 'healthy') member.healthySinceMs = this.#clock.monotonicNow();
    member.state = state;
  }

  /** Running, healthy and past its `initialLeadership`: it may lead. */
  #eligible(member: HubMember, nowMs: number): boolean {
    return (
      member.candidate?.mayLead === true &&
      member.state === 'healthy' &&
      member.candidate.eligibleAtMs <= nowMs
    );
  }

  /**
   * The current leader stays unless an eligible candidate of its own priority comes first by
   * (resigned-most-recently last, id) — the seed's pre-emptive rule, within a priority. Higher
   * priorities do not pre-empt: the leader hands over to them itself, by the priority rule (after a
   * drain, and not before its `minLeadership`), as on etcd. Without a leader, the best eligible
   * candidate leads: highest priority first.
   */
  #chooseLeader(): HubMember | undefined {
    const nowMs = this.#clock.monotonicNow();
    const current = this.#leader && this.#members.get(this.#leader.id);
    const holding =
      current && current.candidate?.token === this.#leader?.token && this.#eligible(current, nowMs)
        ? current
        : undefined;
    let best: HubMember | undefined;
    for (const member of this.#members.values()) {
      if (!this.#eligible(member, nowMs)) continue;
      if (holding && member.priority !== holding.priority) continue;
      if (!best || comesFirst(member, best)) best = member;
    }
    return best;
  }

  /**
   * Whether `id` could take leadership now, and if not why: what `transferLeadership` checks before
   * it steps down.
   */
  candidacyOf(
    id: string,
  ):
    | { ok: true }
    | { ok: false; reason: 'unknown_target' | 'unhealthy_target' | 'not_candidate'; detail?: string } {
    const member = this.#members.get(id);
    if (!member) return { ok: false, reason: 'unknown_target' };
    if (member.state !== 'healthy')
      return { ok: false, reason: 'unhealthy_target', detail: `state ${member.state}` };
    if (member.candidate && !member.candidate.mayLead)
      return { ok: false, reason: 'not_candidate', detail: 'its role never campaigns' };
    if (!this.#eligible(member, this.#clock.monotonicNow()))
      return { ok: false, reason: 'not_candidate', detail: 'it is not past its initialLeadership' };
    return { ok: true };
  }

  /** The eligible candidates other than `token`'s, as the priority rule sees them (order: by id). */
  priorityCandidates(token: CandidateToken): PriorityCandidate[] {
    const nowMs = this.#clock.monotonicNow();
    const members = [...this.#members.values()]
      .filter((member) => member.candidate?.token !== token && this.#eligible(member, nowMs))
      .sort((a, b) => (a.id < b.id ? -1 : 1));
    return members.map((member, order) => ({
      id: member.id,
      priority: member.priority,
      healthySinceMs: member.healthySinceMs,
      order,
    }));
  }

  /**
   * The leader (`token`, still leading with `term`) hands leadership to `targetId`: as on etcd, every
   * candidate that would come before the target (the leader included) goes behind it, so the target
   * keeps leading under the pre-emptive rule; it leads with a new term. Returns that term, or why not.
   */
  transfer(
    token: CandidateToken,
    term: number,
    targetId: string,
  ): { ok: true; term: number } | { ok: false; reason: 'not_leader' | 'target_withdrew' } {
    const leader = this.#leader;
    if (leader?.token !== token || leader.term !== term) return { ok: false, reason: 'not_leader' };
    const target = this.#members.get(targetId);
    const nowMs = this.#clock.monotonicNow();
    if (!target?.candidate || !this.#eligible(target, nowMs)) return { ok: false, reason: 'target_withdrew' };
    const ahead = [...this.#members.values()]
      .filter(
        (member) =>
          member !== target &&
          member.priority === target.priority &&
          this.#eligible(member, nowMs) &&
          comesFirst(member, target),
      )
      .sort((a, b) => (comesFirst(a, b) ? -1 : 1));
    const former = this.#members.get(leader.id);
    if (former && !ahead.includes(former)) ahead.push(former);
    for (const member of ahead) if (member.candidate) member.candidate.yieldRank = ++this.#lastYieldRank;
    this.#leader = { id: target.id, term: ++this.#lastTerm, token: target.candidate.token };
    this.#changed();
    return { ok: true, term: this.#leader.term };
  }

  #changed(): void {
    const chosen = this.#chooseLeader();
    // By token, not id: a node that took over a crashed holder's id is a new leadership, with a new term.
    if (chosen?.candidate?.token !== this.#leader?.token) {
      this.#leader = chosen?.candidate
        ? { id: chosen.id, term: ++this.#lastTerm, token: chosen.candidate.token }
        : undefined;
    }
    if (chosen?.candidate) chosen.candidate.yieldRank = 0;
    this.#notify();
  }

  // A listener may change the hub while being notified (e.g. stop() inside a leadership-abort
  // handler). Nested changes are folded into another round, so every listener sees snapshots in order.
  #notify(): void {
    if (this.#notifying) {
      this.#changedWhileNotifying = true;
      return;
    }
    this.#notifying = true;
    try {
      do {
        this.#changedWhileNotifying = false;
        const snapshot = this.snapshot();
        for (const listener of [...this.#listeners]) listener(snapshot);
      } while (this.#changedWhileNotifying);
    } finally {
      this.#notifying = false;
    }
  }

  #scheduleEligibility(id: string, delayMs: number): void {
    this.#clearEligibilityTimer(id);
    const timer = this.#clock.setTimeout(() => {
      this.#eligibilityTimers.delete(id);
      this.#changed();
    }, delayMs);
    this.#eligibilityTimers.set(id, timer);
  }

  #clearEligibilityTimer(id: string): void {
    const timer = this.#eligibilityTimers.get(id);
    if (timer !== undefined) this.#clock.clearTimeout(timer);
    this.#eligibilityTimers.delete(id);
  }
}
