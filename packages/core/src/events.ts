import type { LeadershipLossReason } from './errors.ts';
import type { Liveness } from './liveness.ts';
import type { Node } from './types.ts';

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
  readonly #onActiveChange: ((active: boolean) => void) | undefined;

  /** `onActiveChange` hears when the first listener comes and the last one goes. */
  constructor(options: { onActiveChange?: (active: boolean) => void } = {}) {
    this.#onActiveChange = options.onActiveChange;
  }

  readonly event: Event<T> = (listener) => {
    this.#listeners.add(listener);
    if (this.#listeners.size === 1) this.#onActiveChange?.(true);
    return {
      dispose: () => {
        if (this.#listeners.delete(listener) && this.#listeners.size === 0) this.#onActiveChange?.(false);
      },
    };
  };

  /** Whether anyone listens. */
  get active(): boolean {
    return this.#listeners.size > 0;
  }

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
 * Why a heartbeat failed: `timeout` (no answer within the request timeout), `stream` (the channel
 * carrying heartbeats broke or could not be opened), `lease_lost` (the backend no longer knows this
 * node's lease: etcd answered "lease not found", or the in-memory record was removed).
 */
export type HeartbeatFailureKind = 'timeout' | 'stream' | 'lease_lost';

export const HEARTBEAT_FAILURE_KINDS: readonly HeartbeatFailureKind[] = Object.freeze([
  'timeout',
  'stream',
  'lease_lost',
]);

/** One heartbeat of this node: confirmed by the backend (`ok`) or failed, with why. */
export type HeartbeatEvent =
  | {
      readonly ok: true;
      /** From sending the heartbeat to its confirmation. */
      readonly latencySeconds: number;
    }
  | {
      readonly ok: false;
      /** From sending the heartbeat to the moment it was given up. */
      readonly latencySeconds: number;
      readonly failure: HeartbeatFailureKind;
      /** What the backend said, when it said anything. */
      readonly error?: Error;
    };

/** The kind of a failed backend call (the label of `ztap_cluster_etcd_errors_total`). */
export type BackendErrorKind = 'unavailable' | 'nospace' | 'permission' | 'auth' | 'request';

export const BACKEND_ERROR_KINDS: readonly BackendErrorKind[] = Object.freeze([
  'unavailable',
  'nospace',
  'permission',
  'auth',
  'request',
]);

/** The leader in this node's view changed: a new leader or term, or no leader any more. */
export interface LeaderChangeEvent {
  readonly leader: Node | undefined;
  readonly term: number | undefined;
}

/**
 * How a step-down's wait for leader work ended: `settled` (all of it finished), `timeout`
 * (`drainTimeout` passed first), or the backend could no longer keep successors out while waiting —
 * `deadline` (etcd: the step-down deadline passed, the lease may expire) or `lease_lost`.
 */
export type DrainOutcome = 'settled' | 'timeout' | 'deadline' | 'lease_lost';

export const DRAIN_OUTCOMES: readonly DrainOutcome[] = Object.freeze([
  'settled',
  'timeout',
  'deadline',
  'lease_lost',
]);

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

/**
 * A transfer of this node's leadership ended: `successorTerm` when the target leads, `error` when it
 * failed (a `TransferError` naming why, or what else ended it).
 */
export interface TransferEvent {
  /** The node leadership was handed to. */
  readonly target: string;
  /** The term handed over. */
  readonly term: number;
  /** True when a priority moved leadership (see the `priority` option), false when asked for. */
  readonly automatic: boolean;
  /** The target's term, once it leads. */
  readonly successorTerm?: number;
  readonly error?: Error;
}

/** What a backend reports for monitoring (the metrics integration listens to these). */
export interface ElectionTelemetry {
  /** This node's own leadership began or ended. */
  readonly onLeadership: Event<LeadershipEvent>;
  /**
   * Each heartbeat, confirmed or failed (etcd: each lease keepalive; it fails when it is not answered
   * within the request timeout, the keepalive stream breaks, or etcd no longer knows the lease).
   */
  readonly onHeartbeat: Event<HeartbeatEvent>;
  /** A failed call to the backend after retries, by kind. */
  readonly onBackendError: Event<{ readonly kind: BackendErrorKind; readonly error: Error }>;
  /** The view was rebuilt from a full list (after a reconnect, a compaction or a stuck watch). */
  readonly onResync: Event<void>;
  /** The leader this node sees changed, "no leader" included: every change, none skipped. */
  readonly onLeaderChange: Event<LeaderChangeEvent>;
  /** This node's `liveness` changed (ok, or the reason). */
  readonly onLiveness: Event<Liveness>;
  /** A step-down waited for leader work that was still running (not fired when there was none). */
  readonly onDrain: Event<DrainEvent>;
  /** Leader work run by `lead()` failed while leading (`lead()` then resigns and rejects). */
  readonly onLeaderWorkError: Event<LeaderWorkErrorEvent>;
  /** A transfer of this node's leadership (asked for, or moved by a priority) succeeded or failed. */
  readonly onTransfer: Event<TransferEvent>;
}
