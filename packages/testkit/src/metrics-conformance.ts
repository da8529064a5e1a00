import {
  type Clock,
  isNotLeaderError,
  type LeaderElection,
  type LeaderElectionConfig,
  type PolicySync,
} from '@ztap/cluster';
import { ManualClock } from '@ztap/cluster-testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startStubbornWork } from './stubborn-work.ts';

/** One metrics package's registration for one election, read back in Prometheus terms. */
export interface MetricsUnderTest {
  /**
   * A sample by its Prometheus name and exact labels (`ztap_cluster_node_joins_total`,
   * `ztap_cluster_heartbeat_latency_seconds_count`, ...): its value, or undefined when it is not
   * exported (for a gauge: not observed at this collection).
   */
  sample(name: string, labels?: Record<string, string>): Promise<number | undefined>;
  instrumentPolicySync(policies: PolicySync): PolicySync;
  dispose(): Promise<void>;
}

/**
 * The in-memory backend's classes (`import * as memory from '@ztap/cluster-memory'`): the suite runs
 * on them, and the testkit does not depend on that package (it depends on the testkit).
 */
export interface MemoryBackend {
  readonly MemoryHub: new (options: { clock: Clock }) => unknown;
  readonly InMemoryElection: new (options: LeaderElectionConfig & { hub: never }) => LeaderElection;
  readonly InMemoryPolicySync: new (election: never) => PolicySync;
}

/** Registers the metrics package under test for `election`. */
export type RegisterMetrics = (
  election: LeaderElection,
  options: { policies?: PolicySync },
) => MetricsUnderTest;

/** Elections on one in-memory hub and one manual clock: heartbeat 100 ms, timeout 300 ms, lead at once. */
class MemoryCluster {
  readonly clock = new ManualClock();
  readonly #backend: MemoryBackend;
  readonly #hub: unknown;
  readonly #elections: LeaderElection[] = [];

  constructor(backend: MemoryBackend) {
    this.#backend = backend;
    this.#hub = new backend.MemoryHub({ clock: this.clock });
  }

  node(nodeId: string, options: { drainTimeout?: number } = {}): LeaderElection {
    const election = new this.#backend.InMemoryElection({
      nodeId,
      nodeAddress: '127.0.0.1:1',
      heartbeatInterval: 100,
      electionTimeout: 300,
      initialLeadership: 0,
      clock: this.clock,
      hub: this.#hub as never,
      ...options,
    });
    this.#elections.push(election);
    return election;
  }

  policies(election: LeaderElection): PolicySync {
    return new this.#backend.InMemoryPolicySync(election as never);
  }

  async stop(): Promise<void> {
    await Promise.all(this.#elections.map((election) => election.stop()));
  }
}

const LABEL_VALUES = {
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
  ztap_cluster_drains_total: ['outcome', ['settled', 'timeout', 'deadline', 'lease_lost']],
} as const;

/**
 * The measurements every metrics package records, as tests: `@ztap/cluster-metrics` and
 * `@ztap/cluster-otel` both pass them, so they count the same things the same way.
 */
export function describeMetricsConformance(
  name: string,
  backend: MemoryBackend,
  register: RegisterMetrics,
): void {
  describe(`cluster measurements (${name})`, () => {
    let cluster: MemoryCluster;
    beforeEach(() => {
      cluster = new MemoryCluster(backend);
    });
    afterEach(() => cluster.stop());
    const fixture = {
      node: (nodeId: string, options?: { drainTimeout?: number }) => cluster.node(nodeId, options),
      policies: (election: LeaderElection) => cluster.policies(election),
      advance: (ms: number) => cluster.clock.advance(ms),
      register: (election: LeaderElection, options: { policies?: PolicySync } = {}) =>
        register(election, options),
    };

    it('move with the cluster: joins, elections, leadership, term, heartbeats, losses', async () => {
      const a = fixture.node('a');
      const metrics = fixture.register(a);
      await a.start();
      const b = fixture.node('b');
      await b.start();
      await fixture.advance(250);
      expect(await metrics.sample('ztap_cluster_is_leader', { node: 'a' })).toBe(1);
      expect(await metrics.sample('ztap_cluster_term')).toBe(a.term);
      expect(await metrics.sample('ztap_cluster_nodes_total', { state: 'healthy' })).toBe(2);
      expect(await metrics.sample('ztap_cluster_nodes_total', { state: 'unhealthy' })).toBe(0);
      expect(await metrics.sample('ztap_cluster_node_joins_total')).toBe(2);
      expect(await metrics.sample('ztap_cluster_leader_elections_total')).toBe(1);
      expect(await metrics.sample('ztap_cluster_heartbeat_latency_seconds_count')).toBeGreaterThanOrEqual(2);

      await a.resign();
      await fixture.advance(10);
      expect(await metrics.sample('ztap_cluster_is_leader', { node: 'a' })).toBe(0);
      expect(await metrics.sample('ztap_cluster_term')).toBe(b.term);
      expect(await metrics.sample('ztap_cluster_leader_elections_total')).toBe(2);
      expect(await metrics.sample('ztap_cluster_leadership_losses_total', { reason: 'resigned' })).toBe(1);
      await metrics.dispose();
    });

    it('export term 0 while there is no leader', async () => {
      const a = fixture.node('a');
      const metrics = fixture.register(a);
      expect(await metrics.sample('ztap_cluster_term')).toBe(0);
      await a.start();
      expect(await metrics.sample('ztap_cluster_term')).toBe(a.term);
      await a.stop();
      expect(await metrics.sample('ztap_cluster_term')).toBe(0);
      expect(await metrics.sample('ztap_cluster_is_leader', { node: 'a' })).toBe(0);
      await metrics.dispose();
    });

    it('export every label value of every labelled counter at 0 from the start', async () => {
      const metrics = fixture.register(fixture.node('a'));
      for (const [metric, [label, values]] of Object.entries(LABEL_VALUES)) {
        for (const value of values)
          expect(await metrics.sample(metric, { [label]: value }), `${metric} ${value}`).toBe(0);
      }
      for (const metric of [
        'ztap_cluster_leader_elections_total',
        'ztap_cluster_leader_changes_total',
        'ztap_cluster_node_joins_total',
        'ztap_cluster_watch_resyncs_total',
      ])
        expect(await metrics.sample(metric), metric).toBe(0);
      await metrics.dispose();
    });

    it('count every change of leader this node sees, "no leader" included', async () => {
      const observer = fixture.node('z');
      const metrics = fixture.register(observer);
      await observer.start(); // z leads alone: 1
      const a = fixture.node('a');
      await a.start(); // a has the lower id: 2
      await a.stop(); // z again: 3
      const changes = () => metrics.sample('ztap_cluster_leader_changes_total');
      expect(await changes()).toBe(3);
      await observer.deregisterNode('z'); // z's record is gone: no leader (4) until it joins again (5)
      expect(await changes()).toBe(4);
      await fixture.advance(100);
      expect(await changes()).toBe(5);
      await metrics.dispose();
    });

    it('count heartbeat failures by kind, and time only confirmed heartbeats', async () => {
      const a = fixture.node('a');
      const metrics = fixture.register(a);
      await a.start();
      await fixture.advance(100);
      await a.deregisterNode('a'); // the next heartbeat finds no record: it failed
      await fixture.advance(100);
      expect(await metrics.sample('ztap_cluster_heartbeat_failures_total', { kind: 'lease_lost' })).toBe(1);
      expect(await metrics.sample('ztap_cluster_heartbeat_failures_total', { kind: 'timeout' })).toBe(0);
      expect(await metrics.sample('ztap_cluster_heartbeat_latency_seconds_count')).toBe(1);
      await metrics.dispose();
    });

    it('count step-downs that waited for leader work, by outcome', async () => {
      const a = fixture.node('a', { drainTimeout: 50 });
      const metrics = fixture.register(a);
      await a.start();
      const work = await startStubbornWork(a); // the drain gives up after drainTimeout
      const resigned = a.resign();
      await fixture.advance(50);
      await resigned;
      await work.finish();
      expect(await metrics.sample('ztap_cluster_drains_total', { outcome: 'timeout' })).toBe(1);
      expect(await metrics.sample('ztap_cluster_drains_total', { outcome: 'settled' })).toBe(0);
      await metrics.dispose();
    });

    it('follow policy versions and count failed policy writes by reason', async () => {
      const leader = fixture.node('a');
      const follower = fixture.node('b');
      await leader.start();
      await follower.start();
      const leaderPolicies = fixture.policies(leader);
      const metrics = fixture.register(follower, { policies: fixture.policies(follower) });
      const web = await leaderPolicies.syncPolicy('web', 'allow: [80]\n');
      await fixture.advance(10);
      expect(await metrics.sample('ztap_cluster_policy_version', { policy: 'web' })).toBe(web.version);

      const instrumented = metrics.instrumentPolicySync(fixture.policies(follower));
      await expect(instrumented.syncPolicy('web', 'x: 1\n')).rejects.toSatisfy(isNotLeaderError);
      await expect(
        metrics.instrumentPolicySync(leaderPolicies).syncPolicy('web', 'not: [yaml\n'),
      ).rejects.toThrow('not valid YAML');
      const failures = (reason: string) =>
        metrics.sample('ztap_cluster_policy_sync_failures_total', { reason });
      expect(await failures('not_leader')).toBe(1);
      expect(await failures('invalid')).toBe(1);
      expect(await failures('fenced')).toBe(0);

      await leaderPolicies.deletePolicy('web');
      await fixture.advance(10);
      expect(await metrics.sample('ztap_cluster_policy_version', { policy: 'web' })).toBeUndefined();
      await metrics.dispose();
    });
  });
}
