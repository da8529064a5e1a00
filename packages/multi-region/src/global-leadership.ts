import {
  ElectionStoppedError,
  type Leadership,
  type LeadershipLossReason,
  LeadershipLostError,
  NotLeaderError,
} from '@ztap/cluster';
import { Waiters } from '@ztap/cluster/backend';
import type { EtcdElection } from '@ztap/cluster-etcd';
import { Emitter } from './emitter.ts';

/** This node began or stopped leading globally. */
export interface GlobalLeadershipEvent {
  /** The global term (the fencing token of global writes). */
  readonly term: number;
  readonly leading: boolean;
  /**
   * Why it ended: the global election's own reason, or `unhealthy` when this node lost its region
   * (the regional loss is then the `cause` of the signal's `LeadershipLostError`).
   */
  readonly reason?: LeadershipLossReason;
}

/**
 * This node's global leadership as the application sees it: held only while the node leads its
 * region AND the global election says it leads globally. Its signal depends on the regional
 * leadership signal (`AbortSignal.any`), so it is aborted at the very instant the regional one is,
 * before any listener of either runs and before the global election is told to let go in etcd;
 * every query re-checks both elections, so a regional step-down no event has announced yet (a
 * missed deadline after a pause) already reads as "not global leader".
 */
export class GlobalLeadership {
  readonly #regional: EtcdElection;
  readonly #global: EtcdElection;
  readonly #nodeId: string;
  #current: { term: number; controller: AbortController; signal: AbortSignal } | undefined;
  #lastEndedTerm = 0;
  readonly #waiters = new Waiters<Leadership>();
  readonly #events = new Emitter<GlobalLeadershipEvent>();
  readonly onChange = this.#events.event;

  constructor(regional: EtcdElection, global: EtcdElection) {
    this.#regional = regional;
    this.#global = global;
    this.#nodeId = regional.nodeId;
  }

  /** Whether this node leads globally now (both elections checked, deadlines included). */
  isLeader(): boolean {
    const current = this.#current;
    if (!current) return false;
    if (!this.#regional.isLeader()) {
      this.lose('unhealthy', this.#regional.leadershipSignal.reason);
      return false;
    }
    if (!this.#global.isLeader() || this.#global.term !== current.term) {
      this.lose('superseded');
      return false;
    }
    return true;
  }

  get term(): number | undefined {
    return this.isLeader() ? this.#current?.term : undefined;
  }

  /** Aborts when this global leadership ends; already aborted while not global leader. */
  get signal(): AbortSignal {
    if (this.isLeader() && this.#current) return this.#current.signal;
    return AbortSignal.abort(new NotLeaderError(this.#nodeId, 'act as global leader'));
  }

  get current(): Leadership | undefined {
    return this.isLeader() && this.#current
      ? { term: this.#current.term, signal: this.#current.signal }
      : undefined;
  }

  /**
   * The global election elected us under `term`; counts only while we lead our region. When the
   * region is lost, the signal's reason is the regional `LeadershipLostError` (it aborted first).
   */
  gain(term: number): void {
    if (term <= this.#lastEndedTerm || this.#current?.term === term || !this.#regional.isLeader()) return;
    if (this.#current) this.lose('superseded');
    const controller = new AbortController();
    const signal = AbortSignal.any([controller.signal, this.#regional.leadershipSignal]);
    this.#current = { term, controller, signal };
    this.#events.fire({ term, leading: true });
    this.#waiters.resolveAll({ term, signal });
  }

  lose(reason: LeadershipLossReason, cause?: unknown): void {
    const current = this.#current;
    if (!current) return;
    this.#current = undefined;
    this.#lastEndedTerm = Math.max(this.#lastEndedTerm, current.term);
    this.#events.fire({ term: current.term, leading: false, reason });
    current.controller.abort(
      new LeadershipLostError(current.term, reason, cause === undefined ? undefined : { cause }),
    );
  }

  /** Resolves with the next global leadership (at once if this node leads now). */
  waitFor(signal?: AbortSignal): Promise<Leadership> {
    const now = this.current;
    if (now) return Promise.resolve(now);
    return this.#waiters.wait(signal);
  }

  /** The node stopped: nobody waits for a leadership that cannot come. */
  rejectWaiters(): void {
    this.#waiters.rejectAll(new ElectionStoppedError(this.#nodeId, 'the multi-region node stopped'));
  }
}
