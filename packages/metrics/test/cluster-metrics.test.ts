import { isNotLeaderError } from '@ztap/cluster';
import { InMemoryElection, InMemoryPolicySync, MemoryHub } from '@ztap/cluster-memory';
import { registerClusterMetrics } from '@ztap/cluster-metrics';
import { ManualClock } from '@ztap/cluster-testing';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

let clock: ManualClock;
let hub: MemoryHub;
let elections: InMemoryElection[];
beforeEach(() => {
  clock = new ManualClock();
  hub = new MemoryHub({ clock });
  elections = [];
});
afterEach(async () => {
  await Promise.all(elections.map((election) => election.stop()));
});

const node = (nodeId: string) => {
  const election = new InMemoryElection({
    nodeId,
    nodeAddress: '127.0.0.1:1',
    heartbeatInterval: 100,
    electionTimeout: 300,
    initialLeadership: 0,
    clock,
    hub,
  });
  elections.push(election);
  return election;
};

/** The value of one sample in the exposition text, e.g. value(text, 'ztap_cluster_is_leader'). */
function value(text: string, sample: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

describe('registerClusterMetrics', () => {
  it('registers the product metrics on the given registry only, with their types', async () => {
    const registry = new Registry();
    const metrics = registerClusterMetrics(node('a'), { registry });
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
    ]) {
      expect(text, name).toContain(`# TYPE ${name} ${type}`);
    }
    const { register: globalRegistry } = await import('prom-client');
    expect(await globalRegistry.metrics()).not.toContain('ztap_cluster');
    await metrics.dispose();
    expect(await registry.metrics()).not.toContain('ztap_cluster');
  });

  it('moves with the cluster: joins, elections, leadership, heartbeats, losses', async () => {
    const registry = new Registry();
    const a = node('a');
    const metrics = registerClusterMetrics(a, { registry });
    await a.start();
    const b = node('b');
    await b.start();
    await clock.advance(250);
    let text = await registry.metrics();
    expect(value(text, 'ztap_cluster_is_leader{node="a"}')).toBe(1);
    expect(value(text, 'ztap_cluster_term')).toBe(a.term);
    expect(value(text, 'ztap_cluster_nodes_total{state="healthy"}')).toBe(2);
    expect(value(text, 'ztap_cluster_node_joins_total')).toBe(2);
    expect(value(text, 'ztap_cluster_leader_elections_total')).toBe(1);
    expect(value(text, 'ztap_cluster_heartbeat_latency_seconds_count')).toBeGreaterThanOrEqual(2);

    await a.resign();
    await clock.advance(10);
    text = await registry.metrics();
    expect(value(text, 'ztap_cluster_is_leader{node="a"}')).toBe(0);
    expect(value(text, 'ztap_cluster_leader_elections_total')).toBe(2);
    expect(value(text, 'ztap_cluster_leadership_losses_total{reason="resigned"}')).toBe(1);
    await metrics.dispose();
  });

  it('exports every label value of every labelled counter at 0 from the start', async () => {
    const registry = new Registry();
    const metrics = registerClusterMetrics(node('a'), { registry });
    const text = await registry.metrics();
    const expected = {
      ztap_cluster_leadership_losses_total: [
        'reason',
        ['resigned', 'stopped', 'superseded', 'unhealthy', 'lease_lost', 'deadline'],
      ],
      ztap_cluster_etcd_errors_total: ['kind', ['unavailable', 'nospace', 'permission', 'auth', 'request']],
      ztap_cluster_heartbeat_failures_total: ['kind', ['timeout', 'stream', 'lease_lost']],
      ztap_cluster_policy_sync_failures_total: [
        'reason',
        ['not_leader', 'fenced', 'conflict', 'invalid', 'backend'],
      ],
    } as const;
    for (const [name, [label, values]] of Object.entries(expected)) {
      for (const labelValue of values)
        expect(value(text, `${name}{${label}="${labelValue}"}`), `${name} ${labelValue}`).toBe(0);
    }
    await metrics.dispose();
  });

  it('counts every change of leader this node sees, "no leader" included', async () => {
    const registry = new Registry();
    const observer = node('z');
    const metrics = registerClusterMetrics(observer, { registry });
    await observer.start(); // z leads alone: 1
    const a = node('a');
    await a.start(); // a has the lower id: 2
    await a.stop(); // z again: 3
    const changes = () => registry.metrics().then((text) => value(text, 'ztap_cluster_leader_changes_total'));
    expect(await changes()).toBe(3);
    await observer.deregisterNode('z'); // z's record is gone: no leader (4) until it joins again (5)
    expect(await changes()).toBe(4);
    await clock.advance(100);
    expect(await changes()).toBe(5);
    await metrics.dispose();
  });

  it('counts heartbeat failures by kind, and observes only confirmed heartbeats as latencies', async () => {
    const registry = new Registry();
    const a = node('a');
    const metrics = registerClusterMetrics(a, { registry });
    await a.start();
    await clock.advance(100);
    await a.deregisterNode('a'); // the next heartbeat finds no record: it failed
    await clock.advance(100);
    const text = await registry.metrics();
    expect(value(text, 'ztap_cluster_heartbeat_failures_total{kind="lease_lost"}')).toBe(1);
    expect(value(text, 'ztap_cluster_heartbeat_failures_total{kind="timeout"}')).toBe(0);
    expect(value(text, 'ztap_cluster_heartbeat_latency_seconds_count')).toBe(1);
    await metrics.dispose();
  });

  it('follows policy versions and counts failed policy writes by reason', async () => {
    const registry = new Registry();
    const leader = node('a');
    const follower = node('b');
    await leader.start();
    await follower.start();
    const leaderPolicies = new InMemoryPolicySync(leader);
    const metrics = registerClusterMetrics(follower, {
      registry,
      policies: new InMemoryPolicySync(follower),
    });
    const web = await leaderPolicies.syncPolicy('web', 'allow: [80]\n');
    await clock.advance(10);
    expect(value(await registry.metrics(), 'ztap_cluster_policy_version{policy="web"}')).toBe(web.version);

    const instrumented = metrics.instrumentPolicySync(new InMemoryPolicySync(follower));
    await expect(instrumented.syncPolicy('web', 'x: 1\n')).rejects.toSatisfy(isNotLeaderError);
    await expect(
      metrics.instrumentPolicySync(leaderPolicies).syncPolicy('web', 'not: [yaml\n'),
    ).rejects.toThrow('not valid YAML');
    const text = await registry.metrics();
    expect(value(text, 'ztap_cluster_policy_sync_failures_total{reason="not_leader"}')).toBe(1);
    expect(value(text, 'ztap_cluster_policy_sync_failures_total{reason="invalid"}')).toBe(1);
    expect(value(text, 'ztap_cluster_policy_sync_failures_total{reason="fenced"}')).toBe(0);

    await leaderPolicies.deletePolicy('web');
    await clock.advance(10);
    expect(await registry.metrics()).not.toContain('ztap_cluster_policy_version{policy="web"}');
    await metrics.dispose();
  });
});
