/**
 * Global policies replicated into every region on a loopback WAN: fenced by the regional term,
 * resumed from the region's checkpoint, rebuilt after a compaction, served by a region cut off from
 * the global store (with its lag), and never mixed with a region's own policies.
 */
import type { PolicyUpdate } from '@ztap/cluster';
import { createEtcdClient } from '@ztap/cluster-etcd';
import {
  type MultiRegionNode,
  type ReplicationEvent,
  readMultiRegionStatus,
} from '@ztap/cluster-multi-region';
import { registerMultiRegionMetrics } from '@ztap/cluster-multi-region/metrics';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { eventually } from '../support/etcd.ts';
import {
  CONFIRM_INTERVAL_MS,
  globalLeaderAmong,
  globalOperator,
  globalPolicies,
  pushWhenWritable,
  regionPolicies,
  uniqueCluster,
  useRegionNodes,
  useWanTopology,
} from '../support/multi-region.ts';

const shared = useWanTopology();
const { create: nodesIn } = useRegionNodes(shared);

/** Every replication event of `node`, in order. */
function recordReplication(node: MultiRegionNode): ReplicationEvent[] {
  const events: ReplicationEvent[] = [];
  node.telemetry.onReplication((event) => events.push(event));
  return events;
}

/** Resolves once every node holds exactly `expected` (name → global version). */
async function converged(nodes: readonly MultiRegionNode[], expected: Record<string, number>, what: string) {
  const held = (node: MultiRegionNode) =>
    JSON.stringify(Object.fromEntries(node.policies.list().map((policy) => [policy.name, policy.version])));
  await eventually(() => nodes.every((node) => held(node) === JSON.stringify(expected)), 20_000, what);
}

describe('multi-region: global policies in every region', () => {
  it("reach every region's nodes with their global version; a region's own policies never collide with them", async () => {
    const cluster = uniqueCluster('replicate');
    const nodes = nodesIn(cluster, { eu: ['eu-1', 'eu-2'], us: ['us-1'], ap: ['ap-1', 'ap-2'] });
    await Promise.all(nodes.map((node) => node.start()));
    await using operator = globalOperator(shared.topology.region('eu'), cluster);
    const web = await operator.policies.push('web', 'allow:\n  - port: 443\n');
    const db = await operator.policies.push('db', 'allow:\n  - port: 5432\n');
    await converged(nodes, { db: db.version, web: web.version }, 'every node to hold web and db');
    for (const node of nodes) expect(node.policies.get('web')?.document).toBe('allow:\n  - port: 443\n');

    // A regional policy of the same name lives in the region only, beside the replicated one.
    const euLeader = nodes.find(
      (node) => node.region === 'eu' && node.regional.isLeader(),
    ) as MultiRegionNode;
    await euLeader.regional.runWhileLeader(() => euLeader.regionalPolicies.syncPolicy('web', 'allow: []\n'));
    for (const node of nodes.filter((one) => one.region === 'eu')) {
      expect((await node.regionalPolicies.getPolicy('web'))?.document).toBe('allow: []\n');
      expect(node.policies.get('web')?.document).toBe('allow:\n  - port: 443\n');
    }

    const updates: PolicyUpdate[] = [];
    const following = (async () => {
      for await (const update of (nodes[4] as MultiRegionNode).policies.subscribe({
        signal: AbortSignal.timeout(20_000),
      })) {
        updates.push(update);
        if (update.type === 'deleted') return;
      }
    })();
    await eventually(() => updates.length > 0, 5_000, 'the snapshot');
    await operator.policies.delete('db');
    await following;
    expect(updates.map((update) => update.type)).toEqual(['snapshot', 'deleted']);
    const deleted = updates[1] as Extract<PolicyUpdate, { type: 'deleted' }>;
    expect(deleted.name).toBe('db');
    expect(deleted.version).toBeGreaterThan(db.version);
    await converged(nodes, { web: web.version }, 'db to be gone everywhere');
    for (const region of shared.topology.regions)
      expect(await regionPolicies(region, cluster)).toEqual(await globalPolicies(region, cluster));
  });

  it("a new regional leader resumes from the region's checkpoint instead of resyncing", async () => {
    const cluster = uniqueCluster('resume');
    const [first] = nodesIn(cluster, { eu: ['eu-1'] });
    const firstEvents = recordReplication(first as MultiRegionNode);
    await first?.start();
    await using operator = globalOperator(shared.topology.region('eu'), cluster);
    const before = await operator.policies.push('web', 'v: 1\n');
    await converged([first as MultiRegionNode], { web: before.version }, 'the first leader to replicate');
    expect(
      firstEvents
        .filter((event) => event.type === 'resync')
        .map((event) => event.type === 'resync' && event.reason),
    ).toEqual(['first']);

    const [successor] = nodesIn(cluster, { eu: ['eu-2'] });
    const events = recordReplication(successor as MultiRegionNode);
    await successor?.start();
    await first?.stop();
    await successor?.regional.waitForLeadership();
    const after = await operator.policies.push('web', 'v: 2\n');
    await converged([successor as MultiRegionNode], { web: after.version }, 'the successor to replicate');
    expect(events.filter((event) => event.type === 'resync')).toEqual([]);
    const writes = events.filter((event) => event.type === 'write' && event.ok);
    expect(writes.length).toBeGreaterThan(0);
  });

  it('a region cut off keeps serving its last policies while its lag grows, then catches up', async () => {
    const cluster = uniqueCluster('cut-off');
    const nodes = nodesIn(cluster, { eu: ['eu-1'], ap: ['ap-1', 'ap-2'] });
    await Promise.all(nodes.map((node) => node.start()));
    await using operator = globalOperator(shared.topology.region('eu'), cluster);
    const web = await operator.policies.push('web', 'v: 1\n');
    await converged(nodes, { web: web.version }, 'web everywhere');
    await eventually(
      () => nodes.every((node) => node.replicationLagMs !== undefined),
      20_000,
      'a first confirmation',
    );
    const ap = nodes.filter((node) => node.region === 'ap');
    shared.topology.isolate('ap');
    try {
      // If ap's member led the global etcd's raft, the others elect a new raft leader first.
      const changed = await pushWhenWritable(operator, 'web', 'v: 2\n');
      const added = await pushWhenWritable(operator, 'db', 'v: 1\n');
      await converged(
        [nodes[0] as MultiRegionNode],
        { db: added.version, web: changed.version },
        'eu to follow',
      );
      // Cut off: ap still serves what it had, and says it is stale.
      await eventually(
        () => ap.every((node) => (node.replicationLagMs ?? 0) > 4 * CONFIRM_INTERVAL_MS),
        20_000,
        "ap's lag to grow",
      );
      for (const node of ap)
        expect(node.policies.list().map((policy) => [policy.name, policy.version])).toEqual([
          ['web', web.version],
        ]);
    } finally {
      shared.topology.rejoin('ap');
    }
    const expected = await globalPolicies(shared.topology.region('eu'), cluster);
    await converged(nodes, expected, 'ap to catch up');
    await eventually(
      () => ap.every((node) => (node.replicationLagMs ?? Number.POSITIVE_INFINITY) < 4 * CONFIRM_INTERVAL_MS),
      20_000,
      "ap's lag to recover",
    );
  }, 60_000);

  it('a region that returns after missed updates and a compaction rebuilds itself from the global store', async () => {
    const cluster = uniqueCluster('compacted');
    const [eu] = nodesIn(cluster, { eu: ['eu-1'] });
    const [away] = nodesIn(cluster, { ap: ['ap-1'] });
    await Promise.all([eu?.start(), away?.start()]);
    await using operator = globalOperator(shared.topology.region('eu'), cluster);
    for (const name of ['a', 'b', 'c']) await operator.policies.push(name, `${name}: 1\n`);
    await converged(
      [eu as MultiRegionNode, away as MultiRegionNode],
      await globalPolicies(shared.topology.region('eu'), cluster),
      'a, b and c everywhere',
    );
    // The region goes away; meanwhile policies change, go, and the history is compacted.
    await away?.stop();
    await operator.policies.push('a', 'a: 2\n');
    await operator.policies.delete('b');
    await operator.policies.push('d', 'd: 1\n');
    const client = createEtcdClient({
      endpoints: [shared.topology.region('eu').globalEndpoint],
      requestTimeout: 3000,
    });
    const local = createEtcdClient({
      endpoints: [shared.topology.region('ap').globalEndpoint],
      requestTimeout: 3000,
    });
    try {
      const { header } = await client.kv.range({ key: Buffer.from('/') });
      await client.kv.compact({ revision: header.revision, physical: true });
      // Every member applies the compaction on its own: wait until ap's has, or a watch there could
      // still replay the history (no resync needed then, which is fine, but not what this tests).
      const before = String(Number(header.revision) - 1);
      await eventually(
        () =>
          local.kv.range({ key: Buffer.from('/'), revision: before }).then(
            () => false,
            (error: unknown) => /compacted/.test(String(error)),
          ),
        20_000,
        "ap's global member to apply the compaction",
      );
    } finally {
      client.close();
      local.close();
    }
    const [returned] = nodesIn(cluster, { ap: ['ap-2'] });
    const events = recordReplication(returned as MultiRegionNode);
    await returned?.start();
    const expected = await globalPolicies(shared.topology.region('eu'), cluster);
    await converged([returned as MultiRegionNode], expected, 'ap to hold the global policies again');
    expect(
      events
        .filter((event) => event.type === 'resync')
        .map((event) => event.type === 'resync' && event.reason),
    ).toEqual(['compacted']);
    expect(await regionPolicies(shared.topology.region('ap'), cluster)).toEqual(expected);
  });

  it('ztap region status reads every region: leader, term, lag, reachability, and the global leader', async () => {
    const cluster = uniqueCluster('status');
    const nodes = nodesIn(cluster, { eu: ['eu-1'], us: ['us-1'], ap: ['ap-1'] });
    await Promise.all(nodes.map((node) => node.start()));
    const leader = await globalLeaderAmong(nodes);
    await eventually(
      () => nodes.every((node) => node.replicationLagMs !== undefined),
      20_000,
      'every region to confirm once',
    );
    const read = () =>
      readMultiRegionStatus({
        cluster,
        global: { endpoints: [shared.topology.region('us').globalEndpoint] },
        requestTimeout: 3000,
      });
    // Each regional leader registers its region in the global store once it campaigns there.
    let status = await read();
    await eventually(
      async () => {
        status = await read();
        return status.regions.length === 3 && status.global.leader !== undefined;
      },
      20_000,
      'every region in the directory',
    );
    expect(status.global).toMatchObject({
      reachable: true,
      leader: { node: `${leader.nodeId}@${leader.region}`, region: leader.region, term: leader.globalTerm },
    });
    expect(status.regions.map((region) => region.name)).toEqual(['ap', 'eu', 'us']);
    for (const region of status.regions) {
      const node = nodes.find((one) => one.region === region.name) as MultiRegionNode;
      expect(region).toMatchObject({
        reachable: true,
        leader: { nodeId: node.nodeId, term: node.regional.term },
      });
      expect(region.replication?.lagMs).toBeTypeOf('number');
    }
    const regional = shared.topology.region('ap').etcd.members[0];
    await regional?.kill('SIGKILL');
    try {
      const later = await readMultiRegionStatus({
        cluster,
        global: { endpoints: [shared.topology.region('us').globalEndpoint] },
        requestTimeout: 1000,
      });
      expect(later.regions.find((region) => region.name === 'ap')).toMatchObject({
        reachable: false,
        error: expect.stringMatching(/unreachable/),
      });
    } finally {
      await regional?.restart();
    }
  });

  it('exports global leadership, replication lag and replicated policy versions as metrics', async () => {
    const cluster = uniqueCluster('metrics');
    const nodes = nodesIn(cluster, { eu: ['eu-1'], us: ['us-1'] });
    const registries = nodes.map((node) => {
      const registry = new Registry();
      return { node, registry, metrics: registerMultiRegionMetrics(node, { registry }) };
    });
    await Promise.all(nodes.map((node) => node.start()));
    const leader = await globalLeaderAmong(nodes);
    await using operator = globalOperator(shared.topology.region('us'), cluster);
    const web = await operator.policies.push('web', 'v: 1\n');
    await converged(nodes, { web: web.version }, 'web everywhere');
    await eventually(
      () => nodes.every((node) => node.replicationLagMs !== undefined),
      20_000,
      'a confirmation',
    );
    for (const { node, registry, metrics } of registries) {
      const text = await registry.metrics();
      const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1]);
      expect(
        value(
          new RegExp(
            `^ztap_region_global_leader\\{region="${node.region}",node="${node.nodeId}"\\} (\\d+)$`,
            'm',
          ),
        ),
      ).toBe(node === leader ? 1 : 0);
      expect(
        value(
          new RegExp(
            `^ztap_region_replicated_policy_version\\{region="${node.region}",policy="web"\\} (\\d+)$`,
            'm',
          ),
        ),
      ).toBe(web.version);
      expect(
        value(
          new RegExp(`^ztap_region_replication_lag_seconds\\{region="${node.region}"\\} ([\\d.e-]+)$`, 'm'),
        ),
      ).toBeGreaterThanOrEqual(0);
      expect(
        value(
          new RegExp(
            `^ztap_region_replication_resyncs_total\\{region="${node.region}",reason="first"\\} (\\d+)$`,
            'm',
          ),
        ),
      ).toBe(1);
      await metrics.dispose();
      expect(await registry.metrics()).not.toMatch(/ztap_region_/);
    }
  });
});
