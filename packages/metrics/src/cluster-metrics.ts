import {
  BACKEND_ERROR_KINDS,
  DRAIN_OUTCOMES,
  HEARTBEAT_FAILURE_KINDS,
  HEARTBEAT_LATENCY_BUCKETS,
  LEADERSHIP_LOSS_REASONS,
  type LeaderElection,
  measureCluster,
  NODE_STATES,
  POLICY_SYNC_FAILURE_REASONS,
  type PolicySync,
  reportPolicySyncFailures,
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

/**
 * A labelled counter exports nothing for a label value until its first increment, so `increase()`
 * cannot see that first event (there is no earlier sample). Every value starts at 0 instead.
 */
function startAtZero<L extends string>(counter: Counter<L>, label: L, values: readonly string[]): void {
  for (const value of values) counter.inc({ [label]: value } as Partial<Record<L, string>>, 0);
}

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
  /** A counter with one label whose every value is exported from the start (at 0), so rates and alerts see it. */
  const labelledCounter = <L extends string>(
    name: string,
    help: string,
    label: L,
    values: readonly string[],
  ) => {
    const counter = track(new Counter({ name, help, labelNames: [label], registers }), name);
    startAtZero(counter, label, values);
    return counter;
  };

  track(
    new Gauge({
      name: 'ztap_cluster_nodes_total',
      help: "Number of nodes in the cluster, by state, as this node sees it (none with view: 'leader').",
      labelNames: ['state'],
      registers,
      collect() {
        // A node with view: 'leader' keeps no member list: no series rather than a false count.
        if (election.view !== 'full') return;
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
      help: "The current leader's term (fencing token); 0 while there is no leader.",
      registers,
      collect() {
        // Terms start at 1, so 0 cannot be mistaken for one (and an unlabelled gauge is never absent).
        this.set(election.getState().term ?? 0);
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
      buckets: [...HEARTBEAT_LATENCY_BUCKETS],
      registers,
    }),
    'ztap_cluster_heartbeat_latency_seconds',
  );
  const heartbeatFailures = labelledCounter(
    'ztap_cluster_heartbeat_failures_total',
    'Heartbeats of this node that failed, by kind (timeout, stream, lease_lost).',
    'kind',
    HEARTBEAT_FAILURE_KINDS,
  );
  const losses = labelledCounter(
    'ztap_cluster_leadership_losses_total',
    'Leaderships of this node that ended, by reason (resigned, stopped, superseded, unhealthy, lease_lost, deadline).',
    'reason',
    LEADERSHIP_LOSS_REASONS,
  );
  const resyncs = track(
    new Counter({
      name: 'ztap_cluster_watch_resyncs_total',
      help: 'Times the view was rebuilt from a full list (reconnect, compaction, stuck watch).',
      registers,
    }),
    'ztap_cluster_watch_resyncs_total',
  );
  const backendErrors = labelledCounter(
    'ztap_cluster_etcd_errors_total',
    'Failed calls to the backend after retries, by kind (unavailable, nospace, permission, auth, request).',
    'kind',
    BACKEND_ERROR_KINDS,
  );
  track(
    new Gauge({
      name: 'ztap_cluster_policy_version',
      help: 'Current version of each policy.',
      labelNames: ['policy'],
      registers,
      collect() {
        this.reset();
        for (const [policy, version] of measurement.policyVersions) this.set({ policy }, version);
      },
    }),
    'ztap_cluster_policy_version',
  );
  const policyFailures = labelledCounter(
    'ztap_cluster_policy_sync_failures_total',
    'Policy writes that failed, by reason (not_leader, fenced, conflict, invalid, backend).',
    'reason',
    POLICY_SYNC_FAILURE_REASONS,
  );
  const drains = labelledCounter(
    'ztap_cluster_drains_total',
    'Step-downs that waited for leader work still running, by outcome (settled, timeout, deadline, lease_lost).',
    'outcome',
    DRAIN_OUTCOMES,
  );

  const measurement = measureCluster(
    election,
    {
      leaderElected: () => elections.inc(),
      leaderChanged: () => leaderChanges.inc(),
      nodeJoined: () => joins.inc(),
      heartbeat: (latencySeconds) => heartbeat.observe(latencySeconds),
      heartbeatFailed: (kind) => heartbeatFailures.inc({ kind }),
      leadershipLost: (reason) => losses.inc({ reason }),
      resynced: () => resyncs.inc(),
      backendError: (kind) => backendErrors.inc({ kind }),
      drained: (outcome) => drains.inc({ outcome }),
    },
    { policies: options.policies },
  );

  let disposed = false;
  const dispose = async () => {
    if (disposed) return;
    disposed = true;
    await measurement.stop();
    for (const name of names) options.registry.removeSingleMetric(name);
  };
  return {
    instrumentPolicySync: (policies) =>
      reportPolicySyncFailures(policies, (reason) => policyFailures.inc({ reason })),
    dispose,
    [Symbol.asyncDispose]: dispose,
  };
}
