import {
  BACKEND_ERROR_KINDS,
  type ClusterStateChange,
  type Disposable,
  HEARTBEAT_FAILURE_KINDS,
  isZtapError,
  LEADERSHIP_LOSS_REASONS,
  type LeaderElection,
  NODE_STATES,
  type PolicySync,
} from '@ztap/cluster';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface ClusterMetricsOptions {
  /** Where the metrics are registered. Required: nothing is registered on prom-client's global registry. */
  readonly registry: Registry;
  /** Also export the version of every policy, followed through this subscription. */
  readonly policies?: PolicySync;
}

/**
 * Metrics for one election, registered on one registry. `dispose()` stops following and unregisters;
 * call it when the election stops (a policy subscription keeps its backend connection open until then).
 */
export interface ClusterMetrics extends AsyncDisposable {
  /** Wraps a PolicySync so failed writes are counted in `ztap_cluster_policy_sync_failures_total`. */
  instrumentPolicySync(policies: PolicySync): PolicySync;
  dispose(): Promise<void>;
}

/** The `reason` label of a failed policy write, by error code; anything else is `backend`. */
const FAILURE_REASONS: Record<string, string> = {
  ZTAP_NOT_LEADER: 'not_leader',
  ZTAP_FENCED: 'fenced',
  ZTAP_POLICY_VERSION_CONFLICT: 'conflict',
  ZTAP_VALIDATION: 'invalid',
};
const POLICY_FAILURE_REASONS = [...Object.values(FAILURE_REASONS), 'backend'];

/**
 * A labelled counter exports nothing for a label value until its first increment, so `increase()`
 * cannot see that first event (there is no earlier sample). Every value starts at 0 instead.
 */
function startAtZero<L extends string>(counter: Counter<L>, label: L, values: readonly string[]): void {
  for (const value of values) counter.inc({ [label]: value } as Partial<Record<L, string>>, 0);
}

const HEARTBEAT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/**
 * Registers the cluster metrics of `election` on `options.registry` (see docs/metrics.md). Gauges are
 * read at scrape time; counters follow the election's change stream and telemetry events.
 */
export function registerClusterMetrics(
  election: LeaderElection,
  options: ClusterMetricsOptions,
): ClusterMetrics {
  const registers = [options.registry];
  const names: string[] = [];
  const track = <T>(metric: T, name: string): T => {
    names.push(name);
    return metric;
  };

  track(
    new Gauge({
      name: 'ztap_cluster_nodes_total',
      help: 'Number of nodes in the cluster, by state, as this node sees it.',
      labelNames: ['state'],
      registers,
      collect() {
        const nodes = election.getNodes();
        for (const state of NODE_STATES)
          this.set({ state }, nodes.filter((node) => node.state === state).length);
      },
    }),
    'ztap_cluster_nodes_total',
  );
  track(
    new Gauge({
      name: 'ztap_cluster_is_leader',
      help: '1 while this node (label node: its id) may act as leader, else 0.',
      labelNames: ['node'],
      registers,
      collect() {
        this.set({ node: election.nodeId }, election.isLeader() ? 1 : 0);
      },
    }),
    'ztap_cluster_is_leader',
  );
  track(
    new Gauge({
      name: 'ztap_cluster_term',
      help: "The current leader's term (fencing token); absent while there is no leader.",
      registers,
      collect() {
        const term = election.getState().term;
        this.reset();
        if (term !== undefined) this.set(term);
      },
    }),
    'ztap_cluster_term',
  );
  const elections = track(
    new Counter({
      name: 'ztap_cluster_leader_elections_total',
      help: 'Leaders elected, as seen by this node.',
      registers,
    }),
    'ztap_cluster_leader_elections_total',
  );
  const leaderChanges = track(
    new Counter({
      name: 'ztap_cluster_leader_changes_total',
      help: 'Changes of the leader seen by this node: a new leader or term, or no leader any more.',
      registers,
    }),
    'ztap_cluster_leader_changes_total',
  );
  const joins = track(
    new Counter({
      name: 'ztap_cluster_node_joins_total',
      help: 'Nodes that joined, as seen by this node.',
      registers,
    }),
    'ztap_cluster_node_joins_total',
  );
  const heartbeat = track(
    new Histogram({
      name: 'ztap_cluster_heartbeat_latency_seconds',
      help: 'Heartbeat round trips (on etcd: lease keepalive request to answer).',
      buckets: HEARTBEAT_BUCKETS,
      registers,
    }),
    'ztap_cluster_heartbeat_latency_seconds',
  );
  const heartbeatFailures = track(
    new Counter({
      name: 'ztap_cluster_heartbeat_failures_total',
      help: 'Heartbeats of this node that failed, by kind (timeout, stream, lease_lost).',
      labelNames: ['kind'],
      registers,
    }),
    'ztap_cluster_heartbeat_failures_total',
  );
  startAtZero(heartbeatFailures, 'kind', HEARTBEAT_FAILURE_KINDS);
  const losses = track(
    new Counter({
      name: 'ztap_cluster_leadership_losses_total',
      help: 'Leaderships of this node that ended, by reason (resigned, stopped, superseded, unhealthy, lease_lost, deadline).',
      labelNames: ['reason'],
      registers,
    }),
    'ztap_cluster_leadership_losses_total',
  );
  startAtZero(losses, 'reason', LEADERSHIP_LOSS_REASONS);
  const resyncs = track(
    new Counter({
      name: 'ztap_cluster_watch_resyncs_total',
      help: 'Times the view was rebuilt from a full list (reconnect, compaction, stuck watch).',
      registers,
    }),
    'ztap_cluster_watch_resyncs_total',
  );
  const backendErrors = track(
    new Counter({
      name: 'ztap_cluster_etcd_errors_total',
      help: 'Failed calls to the backend after retries, by kind (unavailable, nospace, permission, auth, request).',
      labelNames: ['kind'],
      registers,
    }),
    'ztap_cluster_etcd_errors_total',
  );
  startAtZero(backendErrors, 'kind', BACKEND_ERROR_KINDS);
  const policyVersions = track(
    new Gauge({
      name: 'ztap_cluster_policy_version',
      help: 'Current version of each policy.',
      labelNames: ['policy'],
      registers,
    }),
    'ztap_cluster_policy_version',
  );
  const policyFailures = track(
    new Counter({
      name: 'ztap_cluster_policy_sync_failures_total',
      help: 'Policy writes that failed, by reason (not_leader, fenced, conflict, invalid, backend).',
      labelNames: ['reason'],
      registers,
    }),
    'ztap_cluster_policy_sync_failures_total',
  );
  startAtZero(policyFailures, 'reason', POLICY_FAILURE_REASONS);

  const stop = new AbortController();
  const subscriptions: Disposable[] = [
    election.telemetry.onHeartbeat((event) => {
      if (event.ok) heartbeat.observe(event.latencySeconds);
      else heartbeatFailures.inc({ kind: event.failure });
    }),
    election.telemetry.onLeaderChange(() => leaderChanges.inc()),
    election.telemetry.onBackendError(({ kind }) => backendErrors.inc({ kind })),
    election.telemetry.onResync(() => resyncs.inc()),
    election.telemetry.onLeadership((event) => {
      if (!event.leading) losses.inc({ reason: event.reason ?? 'unknown' });
    }),
  ];
  const countChange = (change: ClusterStateChange) => {
    if (change.type === 'leader_elected') elections.inc();
    if (change.type === 'node_joined') joins.inc();
  };
  const following = [followChanges(election, stop.signal, countChange)];
  if (options.policies) following.push(followPolicies(options.policies, stop.signal, policyVersions));

  const dispose = async () => {
    if (stop.signal.aborted) return;
    stop.abort();
    for (const subscription of subscriptions) subscription.dispose();
    await Promise.allSettled(following);
    for (const name of names) options.registry.removeSingleMetric(name);
  };
  return {
    instrumentPolicySync: (policies) => instrument(policies, (reason) => policyFailures.inc({ reason })),
    dispose,
    [Symbol.asyncDispose]: dispose,
  };
}

/** Counts changes across restarts of the election: a stopped election ends its streams, so follow anew. */
async function followChanges(
  election: LeaderElection,
  signal: AbortSignal,
  onChange: (change: ClusterStateChange) => void,
) {
  while (!signal.aborted) {
    for await (const change of election.watch({ signal })) onChange(change);
  }
}

async function followPolicies(policies: PolicySync, signal: AbortSignal, versions: Gauge<'policy'>) {
  try {
    for await (const update of policies.subscribePolicies({ signal })) {
      if (update.type === 'snapshot') {
        versions.reset();
        for (const policy of update.policies) versions.set({ policy: policy.name }, policy.version);
      } else if (update.type === 'updated')
        versions.set({ policy: update.policy.name }, update.policy.version);
      else versions.remove({ policy: update.name });
    }
  } catch {
    // The subscription failed (backend gone): the gauges keep their last values until disposed.
  }
}

function instrument(policies: PolicySync, onFailure: (reason: string) => void): PolicySync {
  const counted = async <T>(write: () => Promise<T>): Promise<T> => {
    try {
      return await write();
    } catch (error) {
      const code = isZtapError(error) ? error.code : '';
      onFailure(FAILURE_REASONS[code] ?? 'backend');
      throw error;
    }
  };
  return {
    syncPolicy: (name, document, options) => counted(() => policies.syncPolicy(name, document, options)),
    deletePolicy: (name, options) => counted(() => policies.deletePolicy(name, options)),
    getPolicyVersion: (name) => policies.getPolicyVersion(name),
    getPolicy: (name) => policies.getPolicy(name),
    listPolicies: () => policies.listPolicies(),
    subscribePolicies: (options) => policies.subscribePolicies(options),
  };
}
