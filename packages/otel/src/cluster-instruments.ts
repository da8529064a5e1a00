import {
  type Attributes,
  type BatchObservableResult,
  type MeterProvider,
  metrics,
  ValueType,
} from '@opentelemetry/api';
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
import { clusterMeter } from './meter.ts';

export interface ClusterInstrumentsOptions {
  /**
   * Where the instruments are created. Default: the global one (`metrics.getMeterProvider()` of
   * `@opentelemetry/api`), which records nothing until the application registers an SDK.
   */
  readonly meterProvider?: MeterProvider;
  /** Also observe the version of every policy, followed through this subscription. */
  readonly policies?: PolicySync;
}

/**
 * The instruments of one election. `dispose()` stops recording and observing; call it when the
 * election stops (a policy subscription keeps its backend connection open until then).
 */
export interface ClusterInstruments extends AsyncDisposable {
  /** Wraps a PolicySync so failed writes are counted in `ztap.cluster.policy_sync_failures`. */
  instrumentPolicySync(policies: PolicySync): PolicySync;
  dispose(): Promise<void>;
}

/** The attribute a counter is split by, and every value it takes. */
type CounterAttribute = readonly [name: string, values: readonly string[]];

/**
 * Records the measurements of `@ztap/cluster-metrics` for `election` through OpenTelemetry, on the
 * meter `@ztap/cluster-otel` of `options.meterProvider` (see docs/telemetry.md for the instruments
 * and their Prometheus names). Gauges are observed at collection; counters and the histogram follow
 * the election's change stream and telemetry events.
 */
export function registerClusterInstruments(
  election: LeaderElection,
  options: ClusterInstrumentsOptions = {},
): ClusterInstruments {
  const meter = clusterMeter(options.meterProvider ?? metrics.getMeterProvider());
  // A counter exports nothing for an attribute set until its first `add`, so a query for the first
  // event would see no earlier point to compare with: each starts at 0, every attribute value of it.
  const counter = (name: string, description: string, unit: string, attribute?: CounterAttribute) => {
    const created = meter.createCounter(`ztap.cluster.${name}`, {
      description,
      unit,
      valueType: ValueType.INT,
    });
    if (!attribute) created.add(0);
    else for (const value of attribute[1]) created.add(0, { [attribute[0]]: value });
    return created;
  };
  // No unit "1" on the dimensionless gauges: a collector's Prometheus translation would append _ratio.
  const gauge = (name: string, description: string, unit?: string) =>
    meter.createObservableGauge(`ztap.cluster.${name}`, {
      description,
      valueType: ValueType.INT,
      ...(unit ? { unit } : {}),
    });

  const nodes = gauge(
    'nodes_total',
    'Number of nodes in the cluster, by state, as this node sees it.',
    '{node}',
  );
  const isLeader = gauge(
    'is_leader',
    '1 while this node (attribute node: its id) may act as leader, else 0.',
  );
  const term = gauge('term', "The current leader's term (fencing token); 0 while there is no leader.");
  const policyVersion = gauge('policy_version', 'Current version of each policy.');
  const elections = counter('leader_elections', 'Leaders elected, as seen by this node.', '{election}');
  const leaderChanges = counter(
    'leader_changes',
    'Changes of the leader seen by this node: a new leader or term, or no leader any more.',
    '{change}',
  );
  const joins = counter('node_joins', 'Nodes that joined, as seen by this node.', '{node}');
  const heartbeat = meter.createHistogram('ztap.cluster.heartbeat_latency_seconds', {
    description: 'Heartbeat round trips (on etcd: lease keepalive request to answer).',
    unit: 's',
    advice: { explicitBucketBoundaries: [...HEARTBEAT_LATENCY_BUCKETS] },
  });
  const heartbeatFailures = counter(
    'heartbeat_failures',
    'Heartbeats of this node that failed, by kind (timeout, stream, lease_lost).',
    '{heartbeat}',
    ['kind', HEARTBEAT_FAILURE_KINDS],
  );
  const losses = counter(
    'leadership_losses',
    'Leaderships of this node that ended, by reason (resigned, stopped, superseded, unhealthy, lease_lost, deadline).',
    '{leadership}',
    ['reason', LEADERSHIP_LOSS_REASONS],
  );
  const resyncs = counter(
    'watch_resyncs',
    'Times the view was rebuilt from a full list (reconnect, compaction, stuck watch).',
    '{resync}',
  );
  const backendErrors = counter(
    'etcd_errors',
    'Failed calls to the backend after retries, by kind (unavailable, nospace, permission, auth, request).',
    '{error}',
    ['kind', BACKEND_ERROR_KINDS],
  );
  const policyFailures = counter(
    'policy_sync_failures',
    'Policy writes that failed, by reason (not_leader, fenced, conflict, invalid, backend).',
    '{write}',
    ['reason', POLICY_SYNC_FAILURE_REASONS],
  );
  const drains = counter(
    'drains',
    'Step-downs that waited for leader work still running, by outcome (settled, timeout, deadline, lease_lost).',
    '{drain}',
    ['outcome', DRAIN_OUTCOMES],
  );

  const measurement = measureCluster(
    election,
    {
      leaderElected: () => elections.add(1),
      leaderChanged: () => leaderChanges.add(1),
      nodeJoined: () => joins.add(1),
      heartbeat: (latencySeconds) => heartbeat.record(latencySeconds),
      heartbeatFailed: (kind) => heartbeatFailures.add(1, { kind }),
      leadershipLost: (reason) => losses.add(1, { reason }),
      resynced: () => resyncs.add(1),
      backendError: (kind) => backendErrors.add(1, { kind }),
      drained: (outcome) => drains.add(1, { outcome }),
    },
    { policies: options.policies },
  );

  const observeGauges = (result: BatchObservableResult<Attributes>) => {
    // A node with view: 'leader' keeps no member list: no observation rather than a false count.
    if (election.view === 'full') {
      const states = election.getNodes().map((node) => node.state);
      for (const state of NODE_STATES) {
        result.observe(nodes, states.filter((one) => one === state).length, { state });
      }
    }
    result.observe(isLeader, election.isLeader() ? 1 : 0, { node: election.nodeId });
    // Terms start at 1: 0 cannot be mistaken for one, and the series never goes stale.
    result.observe(term, election.getState().term ?? 0);
    for (const [policy, version] of measurement.policyVersions)
      result.observe(policyVersion, version, { policy });
  };
  const observables = [nodes, isLeader, term, policyVersion];
  meter.addBatchObservableCallback(observeGauges, observables);

  let disposed = false;
  const dispose = async () => {
    if (disposed) return;
    disposed = true;
    // OpenTelemetry cannot delete instruments: the gauges go quiet, the counters keep their totals.
    meter.removeBatchObservableCallback(observeGauges, observables);
    await measurement.stop();
  };
  return {
    instrumentPolicySync: (policies) =>
      reportPolicySyncFailures(policies, (reason) => policyFailures.add(1, { reason })),
    dispose,
    [Symbol.asyncDispose]: dispose,
  };
}
