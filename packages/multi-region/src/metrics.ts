/**
 * `@ztap/cluster-multi-region/metrics`: Prometheus metrics of a multi-region node (prom-client, an
 * optional peer dependency: only this entry point loads it). Gauges are read at scrape time.
 * @module @ztap/cluster-multi-region/metrics
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { MultiRegionNode } from './multi-region-node.ts';
import { RESYNC_REASONS } from './replicator.ts';

export interface MultiRegionMetrics extends AsyncDisposable {
  /** Stops following the node and unregisters the metrics. */
  dispose(): Promise<void>;
}

/**
 * Registers the multi-region metrics of `node` on `options.registry` (see docs/metrics.md): whether
 * it leads globally and the global term it sees, its region's replication lag, and the global
 * version of every policy its region holds; counters of global leaderships and resyncs.
 */
export function registerMultiRegionMetrics(
  node: MultiRegionNode,
  options: { readonly registry: Registry },
): MultiRegionMetrics {
  const registers = [options.registry];
  const region = node.region;
  const metrics = [
    new Gauge({
      name: 'ztap_region_global_leader',
      help: 'Whether this node leads globally (1) or not (0).',
      labelNames: ['region', 'node'],
      registers,
      collect() {
        this.set({ region, node: node.nodeId }, node.isGlobalLeader() ? 1 : 0);
      },
    }),
    new Gauge({
      name: 'ztap_region_global_term',
      help: 'The term of the global leader as this node knows it (absent while it knows none).',
      labelNames: ['region', 'leader_region'],
      registers,
      collect() {
        this.reset();
        const leader = node.globalLeader;
        if (leader) this.set({ region, leader_region: leader.region }, leader.term);
      },
    }),
    new Gauge({
      name: 'ztap_region_replication_lag_seconds',
      help: "Time since this region's copy of the global policies was last confirmed current (absent until confirmed once).",
      labelNames: ['region'],
      registers,
      collect() {
        this.reset();
        const lag = node.replicationLagMs;
        if (lag !== undefined) this.set({ region }, lag / 1000);
      },
    }),
    new Gauge({
      name: 'ztap_region_replicated_policy_version',
      help: 'The global version of each global policy as this region holds it.',
      labelNames: ['region', 'policy'],
      registers,
      collect() {
        this.reset();
        for (const policy of node.policies.list()) this.set({ region, policy: policy.name }, policy.version);
      },
    }),
  ];
  const leaderships = new Counter({
    name: 'ztap_region_global_leaderships_total',
    help: 'How many times this node became global leader.',
    labelNames: ['region'],
    registers,
  });
  leaderships.inc({ region }, 0);
  const resyncs = new Counter({
    name: 'ztap_region_replication_resyncs_total',
    help: 'Full resyncs of this region from the global store while this node led it, by reason.',
    labelNames: ['region', 'reason'],
    registers,
  });
  for (const reason of RESYNC_REASONS) resyncs.inc({ region, reason }, 0);
  const subscriptions = [
    node.telemetry.onGlobalLeadership((event) => {
      if (event.leading) leaderships.inc({ region });
    }),
    node.telemetry.onReplication((event) => {
      if (event.type === 'resync') resyncs.inc({ region, reason: event.reason });
    }),
  ];
  const dispose = async () => {
    for (const subscription of subscriptions) subscription.dispose();
    for (const metric of [...metrics, leaderships, resyncs])
      options.registry.removeSingleMetric((metric as unknown as { name: string }).name);
  };
  return { dispose, [Symbol.asyncDispose]: dispose };
}
