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

/** What a backend reports for monitoring (the metrics integration listens to these). */
export interface ElectionTelemetry {
  /** This node's own leadership began or ended. */
  readonly onLeadership: Event<LeadershipEvent>;
  /** Each heartbeat (etcd: keepalive round trip) with how long it took and whether it succeeded. */
  readonly onHeartbeat: Event<{ readonly latencySeconds: number; readonly ok: boolean }>;
  /**
   * A failed call to the backend, by kind (`unavailable`, `nospace`, `permission`, `auth`, `request`),
   * or `node_id_in_use` (a `NodeIdInUseError`): another live node took this running node's id while
   * its record was gone; it stands aside until the id is free. Reported once per such episode.
   */
  readonly onBackendError: Event<{ readonly kind: string; readonly error: Error }>;
  /** The view was rebuilt from a full list (after a reconnect, a compaction or a stuck watch). */
  readonly onResync: Event<void>;
}
