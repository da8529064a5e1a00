import type { Clock } from '@ztap/cluster';

/**
 * How a fleet comes back after an etcd outage longer than its TTL, when every lease is gone at once.
 *
 * Without pacing, every node re-grants, re-registers and re-campaigns in the same instant, and etcd
 * sends each of those writes to every watcher: N nodes on their own clients cost N² watch events in
 * one burst, etcd falls behind on its slowest watchers, and the leader's own view lags by seconds
 * (docs/scaling.md, "Reconnect storms"). Spreading the writes over a window that grows with the
 * fleet but never past the TTL keeps the burst within what etcd sends in time, so recovery is a
 * function of the TTL, not of the fleet; candidates go first, so a leader is not queued behind
 * members re-registering.
 */

/** The write rate a spread-out fleet asks of etcd: one node's grant and join per this many ms. */
export const RECONNECT_SLOT_MS = 2;

/** What decides one node's delay before it asks for a new lease after losing one. */
export interface ReconnectPacing {
  /** Whether this node may lead (candidates go first). */
  readonly candidate: boolean;
  /** How many nodes were in the cluster (its largest view): how many will come back together. */
  readonly fleetSize: number;
  /** The lease TTL, ms: no node waits longer than this. */
  readonly ttlMs: number;
  /** The heartbeat interval, ms: a member's head start to the candidates. */
  readonly heartbeatMs: number;
}

/**
 * The delay, ms, before a node that lost its lease asks for a new one: uniform in a window of
 * `fleetSize × RECONNECT_SLOT_MS` (a 3-node cluster waits a few ms, a thousand nodes spread over up
 * to the TTL), and for a member that cannot lead, after one heartbeat of head start for the
 * candidates. `random` is in [0, 1).
 */
export function reconnectDelayMs(pacing: ReconnectPacing, random: number): number {
  const window = Math.min(pacing.ttlMs, Math.max(0, pacing.fleetSize) * RECONNECT_SLOT_MS);
  const headStart = pacing.candidate ? 0 : Math.min(pacing.heartbeatMs, pacing.ttlMs - window);
  return Math.floor(headStart + window * random);
}

/**
 * The next progress check of a shared watch, ms from now: uniform in `[interval, 1.5 × interval)`,
 * so a thousand clients started together do not all read the store revision in the same instant,
 * interval after interval. Never sooner than the interval: a watch is judged stuck when it is still
 * behind the revision of the previous check, and that must stay at least an interval old (a watch
 * that is merely slow in a storm must not be replaced, which would add a re-list to the storm).
 * A silent watch is noticed within three intervals.
 */
export function progressCheckDelayMs(intervalMs: number, random: number): number {
  return Math.floor(intervalMs + (intervalMs / 2) * random);
}

/** Waits `ms` on `clock`; resolves early (false) when `signal` aborts, true after the wait. */
export function pause(clock: Clock, ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAbort = () => {
      clock.clearTimeout(timer);
      resolve(false);
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
