import type { LeadershipLossReason } from './errors.ts';

/** Stops a subscription. */
export interface Disposable {
  dispose(): void;
}

/** A typed event, cockatiel style: call it with a listener; dispose what it returns to unsubscribe. */
export type Event<T> = (listener: (value: T) => void) => Disposable;

/**
 * Fires typed events to listeners. A listener that throws does not stop the others or the emitter:
 * instrumentation must never break an election.
 */
export class EventEmitter<T> {
  readonly #listeners = new Set<(value: T) => void>();

  readonly event: Event<T> = (listener) => {
    this.#listeners.add(listener);
    return { dispose: () => this.#listeners.delete(listener) };
  };

  fire(value: T): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(value);
      } catch {
        // Instrumentation must never break the caller.
      }
    }
  }
}

/** This node began or stopped leading (with the reason when it stopped). */
export interface LeadershipEvent {
  readonly term: number;
  readonly leading: boolean;
  readonly reason?: LeadershipLossReason;
}

/**
 * How a step-down's wait for leader work ended: `settled` (all of it finished), `timeout`
 * (`drainTimeout` passed first), or the backend could no longer keep successors out while waiting —
 * `deadline` (etcd: the step-down deadline passed, the lease may expire) or `lease_lost`.
 */
export type DrainOutcome = 'settled' | 'timeout' | 'deadline' | 'lease_lost';

/** `resign()` or `stop()` waited for this node's leader work before releasing leadership in the store. */
export interface DrainEvent {
  /** The term stepped down from. */
  readonly term: number;
  readonly outcome: DrainOutcome;
  /** Leader work still running when the node stopped waiting (0 when `settled`). */
  readonly pending: number;
  /** How long it waited, milliseconds on the election's clock. */
  readonly waitedMs: number;
}

/** Leader work run by `lead()` threw while this node still led; the node resigns next. */
export interface LeaderWorkErrorEvent {
  readonly term: number;
  readonly error: unknown;
}

/** What a backend reports for monitoring (the metrics integration listens to these). */
export interface ElectionTelemetry {
  /** This node's own leadership began or ended. */
  readonly onLeadership: Event<LeadershipEvent>;
  /** Each heartbeat (etcd: keepalive round trip) with how long it took and whether it succeeded. */
  readonly onHeartbeat: Event<{ readonly latencySeconds: number; readonly ok: boolean }>;
  /** A failed call to the backend, by kind (`unavailable`, `nospace`, `permission`, `auth`, `request`). */
  readonly onBackendError: Event<{ readonly kind: string; readonly error: Error }>;
  /** The view was rebuilt from a full list (after a reconnect, a compaction or a stuck watch). */
  readonly onResync: Event<void>;
  /** A step-down waited for leader work that was still running (not fired when there was none). */
  readonly onDrain: Event<DrainEvent>;
  /** Leader work run by `lead()` failed while leading (`lead()` then resigns and rejects). */
  readonly onLeaderWorkError: Event<LeaderWorkErrorEvent>;
}
