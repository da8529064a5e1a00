/**
 * What the metrics packages (`@ztap/cluster-metrics` for prom-client, `@ztap/cluster-otel` for
 * OpenTelemetry) measure, written once so both record the same things: telemetry events and the
 * change stream, the version of every policy, failed policy writes by reason, and the heartbeat
 * histogram's buckets. Each package only maps them to its instruments.
 */
import type { LeaderElection } from './election.ts';
import { isZtapError, type LeadershipLossReason } from './errors.ts';
import type { BackendErrorKind, Disposable, DrainOutcome, HeartbeatFailureKind } from './events.ts';
import type { PolicySync } from './policy.ts';
import type { ClusterStateChange } from './types.ts';

/** Upper bounds of the heartbeat latency histogram, in seconds (0.5 ms to 2.5 s). */
export const HEARTBEAT_LATENCY_BUCKETS: readonly number[] = Object.freeze([
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
]);

/**
 * Why a policy write failed: `not_leader`, `fenced` (the writer's term is stale), `conflict` (a
 * compare-and-set found another version), `invalid` (bad name or document), `backend` (anything else).
 */
export type PolicySyncFailureReason = 'not_leader' | 'fenced' | 'conflict' | 'invalid' | 'backend';

export const POLICY_SYNC_FAILURE_REASONS: readonly PolicySyncFailureReason[] = Object.freeze([
  'not_leader',
  'fenced',
  'conflict',
  'invalid',
  'backend',
]);

const REASON_BY_CODE: Readonly<Record<string, PolicySyncFailureReason>> = {
  ZTAP_NOT_LEADER: 'not_leader',
  ZTAP_FENCED: 'fenced',
  ZTAP_POLICY_VERSION_CONFLICT: 'conflict',
  ZTAP_VALIDATION: 'invalid',
};

/** The {@link PolicySyncFailureReason} of an error a policy write rejected with. */
export function policySyncFailureReason(error: unknown): PolicySyncFailureReason {
  return (isZtapError(error) && REASON_BY_CODE[error.code]) || 'backend';
}

/** `policies`, reporting each failed write (`syncPolicy`, `deletePolicy`) to `onFailure` before it rejects. */
export function reportPolicySyncFailures(
  policies: PolicySync,
  onFailure: (reason: PolicySyncFailureReason) => void,
): PolicySync {
  const reported = async <T>(write: () => Promise<T>): Promise<T> => {
    try {
      return await write();
    } catch (error) {
      onFailure(policySyncFailureReason(error));
      throw error;
    }
  };
  return {
    syncPolicy: (name, document, options) => reported(() => policies.syncPolicy(name, document, options)),
    deletePolicy: (name, options) => reported(() => policies.deletePolicy(name, options)),
    // The reads pass their options on: a caller's signal must still reach the backend.
    getPolicyVersion: (name, options) => policies.getPolicyVersion(name, options),
    getPolicy: (name, options) => policies.getPolicy(name, options),
    listPolicies: (options) => policies.listPolicies(options),
    subscribePolicies: (options) => policies.subscribePolicies(options),
  };
}

/**
 * Where {@link measureCluster} reports: one method per thing counted or timed. A metrics package maps
 * each to an instrument.
 */
export interface ClusterMeasurementSink {
  /** A leader was elected (a new term), as this node sees it. */
  leaderElected(): void;
  /** The leader this node sees changed: a new leader or term, or no leader any more. */
  leaderChanged(): void;
  /** A node joined, as this node sees it. */
  nodeJoined(): void;
  /** A heartbeat of this node was confirmed, after `latencySeconds`. */
  heartbeat(latencySeconds: number): void;
  heartbeatFailed(kind: HeartbeatFailureKind): void;
  /** A leadership of this node ended. */
  leadershipLost(reason: LeadershipLossReason): void;
  /** The view was rebuilt from a full list. */
  resynced(): void;
  /** A call to the backend failed after retries. */
  backendError(kind: BackendErrorKind): void;
  /** A step-down waited for leader work still running. */
  drained(outcome: DrainOutcome): void;
}

/** What {@link measureCluster} keeps up to date until stopped. */
export interface ClusterMeasurement {
  /** The current version of each policy by name (always empty without `policies`). */
  readonly policyVersions: ReadonlyMap<string, number>;
  /** Stops measuring; resolves once the subscriptions have ended. */
  stop(): Promise<void>;
}

/**
 * Reports what happens to `election` to `sink`: its telemetry events, and its change stream
 * followed across restarts (a stopped election ends its streams, so this watches again). With
 * `policies`, also keeps the version of every policy; if that subscription fails (its backend went
 * away), the versions keep their last values.
 */
export function measureCluster(
  election: LeaderElection,
  sink: ClusterMeasurementSink,
  options: { readonly policies?: PolicySync | undefined } = {},
): ClusterMeasurement {
  const { telemetry } = election;
  const subscriptions: Disposable[] = [
    telemetry.onHeartbeat((event) => {
      if (event.ok) sink.heartbeat(event.latencySeconds);
      else sink.heartbeatFailed(event.failure);
    }),
    telemetry.onLeaderChange(() => sink.leaderChanged()),
    telemetry.onBackendError(({ kind }) => sink.backendError(kind)),
    telemetry.onResync(() => sink.resynced()),
    telemetry.onLeadership(({ leading, reason }) => {
      if (!leading && reason) sink.leadershipLost(reason);
    }),
    telemetry.onDrain(({ outcome }) => sink.drained(outcome)),
  ];
  const stopping = new AbortController();
  const policyVersions = new Map<string, number>();
  const following = [
    followChanges(election, stopping.signal, (change) => {
      if (change.type === 'leader_elected') sink.leaderElected();
      if (change.type === 'node_joined') sink.nodeJoined();
    }),
  ];
  if (options.policies) following.push(followPolicies(options.policies, stopping.signal, policyVersions));
  return {
    policyVersions,
    stop: async () => {
      for (const subscription of subscriptions) subscription.dispose();
      stopping.abort();
      await Promise.allSettled(following);
    },
  };
}

async function followChanges(
  election: LeaderElection,
  signal: AbortSignal,
  onChange: (change: ClusterStateChange) => void,
): Promise<void> {
  while (!signal.aborted) {
    for await (const change of election.watch({ signal })) onChange(change);
  }
}

async function followPolicies(
  policies: PolicySync,
  signal: AbortSignal,
  versions: Map<string, number>,
): Promise<void> {
  try {
    for await (const update of policies.subscribePolicies({ signal })) {
      if (update.type === 'snapshot') {
        versions.clear();
        for (const policy of update.policies) versions.set(policy.name, policy.version);
      } else if (update.type === 'updated') versions.set(update.policy.name, update.policy.version);
      else versions.delete(update.name);
    }
  } catch {
    // The subscription failed (backend gone): the versions keep their last values.
  }
}
