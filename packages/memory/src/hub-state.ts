import {
  type Clock,
  NodeExistsError,
  NodeIdInUseError,
  type NodeMetadata,
  NodeNotFoundError,
  type NodeRegistration,
  type NodeState,
} from '@ztap/cluster';
import type { ClusterSnapshot, MemberRecord } from '@ztap/cluster/backend';
import { MemoryPolicyStore } from './policy-store.ts';

/** A running election's claim on a member record: only its owner heartbeats, leaves or resigns it. */
export type CandidateToken = symbol;

interface HubMember {
  readonly id: string;
  address: string;
  metadata: NodeMetadata;
  state: NodeState;
  joinedAt: Date;
  lastSeen: Date;
  lastHeartbeatMs: number;
  /** Silence longer than this makes the member unhealthy (the electionTimeout of whoever added it). */
  timeoutMs: number;
  candidate: { token: CandidateToken; eligibleAtMs: number; yieldRank: number } | undefined;
}

export interface CandidateJoin extends NodeRegistration {
  readonly healthy: boolean;
  readonly electionTimeout: number;
  readonly initialLeadership: number;
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
 * A candidate is eligible when it is healthy and its `initialLeadership` has passed.
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
      joinedAt: existing && !heldByOther ? existing.joinedAt : wallNow,
      lastSeen: wallNow,
      lastHeartbeatMs: nowMs,
      timeoutMs: node.electionTimeout,
      candidate: { token, eligibleAtMs, yieldRank: 0 },
    });
    if (node.initialLeadership > 0) this.#scheduleEligibility(node.id, node.initialLeadership);
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
    member.state = healthy ? 'healthy' : 'unhealthy';
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
        member.state = 'unhealthy';
      }
    }
  }

  #chooseLeader(): HubMember | undefined {
    const nowMs = this.#clock.monotonicNow();
    let best: HubMember | undefined;
    for (const member of this.#members.values()) {
      const candidate = member.candidate;
      if (!candidate || member.state !== 'healthy' || candidate.eligibleAtMs > nowMs) continue;
      const bestRank = best?.candidate?.yieldRank ?? Number.POSITIVE_INFINITY;
      if (
        !best ||
        candidate.yieldRank < bestRank ||
        (candidate.yieldRank === bestRank && member.id < best.id)
      ) {
        best = member;
      }
    }
    return best;
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
