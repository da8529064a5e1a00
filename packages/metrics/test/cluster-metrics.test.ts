import * as memory from '@ztap/cluster-memory';
import { ManualClock } from '@ztap/cluster-testing';
import { describeMetricsConformance, samplesOf, sampleValue } from '@ztap/testkit';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { registerClusterMetrics } from '../src/index.ts';

describeMetricsConformance('prom-client', memory, (election, options) => {
  const registry = new Registry();
  const metrics = registerClusterMetrics(election, { registry, ...options });
  return {
    sample: async (name, labels) => sampleValue(samplesOf(await registry.metrics()), name, labels),
    instrumentPolicySync: (policies) => metrics.instrumentPolicySync(policies),
    dispose: () => metrics.dispose(),
  };
});

describe('registerClusterMetrics', () => {
  it('registers the product metrics on the given registry only, with their types, and unregisters them', async () => {
    const election = new memory.InMemoryElection({
      nodeId: 'a',
      nodeAddress: '127.0.0.1:1',
      clock: new ManualClock(),
      hub: new memory.MemoryHub(),
    });
    const registry = new Registry();
    const metrics = registerClusterMetrics(election, { registry });
    const text = await registry.metrics();
    for (const [name, type] of [
      ['ztap_cluster_nodes_total', 'gauge'],
      ['ztap_cluster_leader_elections_total', 'counter'],
      ['ztap_cluster_leader_changes_total', 'counter'],
      ['ztap_cluster_heartbeat_failures_total', 'counter'],
      ['ztap_cluster_node_joins_total', 'counter'],
      ['ztap_cluster_heartbeat_latency_seconds', 'histogram'],
      ['ztap_cluster_is_leader', 'gauge'],
      ['ztap_cluster_term', 'gauge'],
      ['ztap_cluster_leadership_losses_total', 'counter'],
      ['ztap_cluster_watch_resyncs_total', 'counter'],
      ['ztap_cluster_etcd_errors_total', 'counter'],
      ['ztap_cluster_policy_version', 'gauge'],
      ['ztap_cluster_policy_sync_failures_total', 'counter'],
      ['ztap_cluster_drains_total', 'counter'],
    ]) {
      expect(text, name).toContain(`# TYPE ${name} ${type}`);
    }
    const { register: globalRegistry } = await import('prom-client');
    expect(await globalRegistry.metrics()).not.toContain('ztap_cluster');
    await metrics.dispose();
    expect(await registry.metrics()).not.toContain('ztap_cluster');
  });
});
