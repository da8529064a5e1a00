import { ValidationError } from '@ztap/cluster';

/**
 * Timings for a global etcd whose members are a WAN round trip apart, after etcd's tuning guide:
 * the raft heartbeat about the round-trip time between members, the raft election timeout at least
 * ten times that. The global election's lease must then outlive a raft election of the global etcd
 * (up to twice its election timeout, then a round of votes) with the step-down margin to spare, so
 * that a global leader keeps its term while the global etcd changes raft leaders.
 */
export interface WanTiming {
  /** For the global etcd's members: `--heartbeat-interval`, ms (about one round trip). */
  readonly etcdHeartbeatIntervalMs: number;
  /** For the global etcd's members: `--election-timeout`, ms (at least 10 round trips). */
  readonly etcdElectionTimeoutMs: number;
  /** The global election's lease TTL, ms (whole seconds, at least 2 s). */
  readonly electionTimeout: number;
  /** How often the global lease is kept alive, ms: a fifth of the TTL. */
  readonly heartbeatInterval: number;
  /** How long before its lease could expire a global leader steps down, ms: a fifth of the TTL. */
  readonly stepDownMargin: number;
  /** Deadline of each request to the global etcd, ms: half the TTL, at most 5 s. */
  readonly requestTimeout: number;
  /** How often a regional leader confirms its region against the global store, ms. */
  readonly confirmIntervalMs: number;
}

/** The round trip the defaults are sized for: regions on one continent, or neighbouring ones. */
export const DEFAULT_WAN_RTT_MS = 150;

/** The timings for a global etcd whose members are at most `rttMs` apart (round trip). */
export function wanTiming(rttMs: number): WanTiming {
  if (!Number.isFinite(rttMs) || rttMs <= 0 || rttMs > 5000)
    throw new ValidationError('rttMs', `must be a round-trip time from 1 to 5000 ms (got ${String(rttMs)})`);
  const etcdHeartbeatIntervalMs = Math.max(50, Math.ceil(rttMs / 10) * 10);
  const etcdElectionTimeoutMs = Math.max(1000, 10 * etcdHeartbeatIntervalMs);
  // Outlive the worst raft election (2 × its timeout + a vote round trip) by a fifth (the margin).
  const ttlSeconds = Math.max(2, Math.ceil((1.25 * (2 * etcdElectionTimeoutMs + 2 * rttMs)) / 1000));
  const electionTimeout = ttlSeconds * 1000;
  return Object.freeze({
    etcdHeartbeatIntervalMs,
    etcdElectionTimeoutMs,
    electionTimeout,
    heartbeatInterval: electionTimeout / 5,
    stepDownMargin: electionTimeout / 5,
    requestTimeout: Math.min(5000, electionTimeout / 2),
    confirmIntervalMs: Math.max(1000, Math.ceil(4 * rttMs)),
  });
}

/**
 * The flags for the global etcd's members: raft heartbeat and election timeout from `timing`, and
 * pre-vote on (etcd 3.4 has it off), so a member returning from a partition with a higher raft term
 * does not depose the raft leader, which would cost the global leader its keepalives for a whole
 * raft election.
 */
export function globalEtcdFlags(timing: WanTiming): string[] {
  return [
    '--heartbeat-interval',
    String(timing.etcdHeartbeatIntervalMs),
    '--election-timeout',
    String(timing.etcdElectionTimeoutMs),
    '--pre-vote=true',
  ];
}
