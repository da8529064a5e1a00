import {
  ElectionStoppedError,
  type LeadershipLossReason,
  LeadershipLostError,
  NotLeaderError,
} from './errors.ts';
import type { LeadershipEvent } from './events.ts';
import type { Leadership } from './types.ts';
import { Waiters } from './waiters.ts';

/**
 * This node's own leadership: the term it holds, the signal that aborts when it ends, and callers
 * waiting to become leader. Backends decide *when* leadership begins and ends; this class makes the
 * local consequences (signal, waiters) happen the same way everywhere.
 */
export class LeadershipTracker {
  #current: { term: number; controller: AbortController } | undefined;
  #lastEndedTerm = 0;
  readonly #waiters = new Waiters<Leadership>();

  readonly #nodeId: string;
  readonly #onChange: (event: LeadershipEvent) => void;

  constructor(nodeId: string, onChange: (event: LeadershipEvent) => void = () => {}) {
    this.#nodeId = nodeId;
    this.#onChange = onChange;
  }

  get isLeader(): boolean {
    return this.#current !== undefined;
  }

  get term(): number | undefined {
    return this.#current?.term;
  }

  /** The highest term whose leadership has ended here (0 if none): an ended term never comes back. */
  get lastEndedTerm(): number {
    return this.#lastEndedTerm;
  }

  get current(): Leadership | undefined {
    const current = this.#current;
    return current ? { term: current.term, signal: current.controller.signal } : undefined;
  }

  /** The current leadership's signal; while not leader, an already aborted one. */
  get signal(): AbortSignal {
    return (
      this.#current?.controller.signal ?? AbortSignal.abort(new NotLeaderError(this.#nodeId, 'act as leader'))
    );
  }

  /**
   * Leadership of `term` begins (a no-op if it already holds that term). Returns true if it began
   * now. A term at or below one that already ended is refused: a store view that lags behind our own
   * resignation must never hand us the old term back.
   */
  gain(term: number): boolean {
    if (this.#current?.term === term || term <= this.#lastEndedTerm) return false;
    if (this.#current) this.lose('superseded');
    this.#current = { term, controller: new AbortController() };
    this.#onChange({ term, leading: true });
    this.#waiters.resolveAll(this.current as Leadership);
    return true;
  }

  /** Leadership ends now: its signal aborts with a {@link LeadershipLostError}. Returns the ended term. */
  lose(reason: LeadershipLossReason, cause?: unknown): number | undefined {
    const current = this.#current;
    if (!current) return undefined;
    this.#current = undefined;
    this.#lastEndedTerm = Math.max(this.#lastEndedTerm, current.term);
    this.#onChange({ term: current.term, leading: false, reason });
    current.controller.abort(
      new LeadershipLostError(current.term, reason, cause === undefined ? undefined : { cause }),
    );
    return current.term;
  }

  /** Resolves with the leadership once this node leads (at once if it does). */
  waitFor(signal?: AbortSignal): Promise<Leadership> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const current = this.current;
    if (current) return Promise.resolve(current);
    return this.#waiters.wait(signal);
  }

  /** Rejects everyone waiting to lead (the election stopped). */
  rejectWaiters(detail: string): void {
    this.#waiters.rejectAll(new ElectionStoppedError(this.#nodeId, detail));
  }
}
