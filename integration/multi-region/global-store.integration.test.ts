/**
 * A region whose replication meets another global store than the one it replicated from (restored
 * from a backup, recreated: other cluster id, revisions going backwards) rebuilds itself from it.
 */
import { EtcdClusterClient } from '@ztap/cluster-etcd';
import { MultiRegionNode, type ReplicationEvent } from '@ztap/cluster-multi-region';
import { type EtcdCluster, startEtcdCluster } from '@ztap/cluster-testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/etcd.ts';

describe('multi-region: the global store replaced', () => {
  let regional: EtcdCluster;
  let first: EtcdCluster;
  let second: EtcdCluster;
  let third: EtcdCluster;
  beforeAll(async () => {
    [regional, first, second, third] = await Promise.all([
      startEtcdCluster({ members: 1 }),
      startEtcdCluster({ members: 1 }),
      startEtcdCluster({ members: 1 }),
      startEtcdCluster({ members: 1 }),
    ]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([regional?.stop(), first?.stop(), second?.stop(), third?.stop()]);
  });

  const node = (nodeId: string, global: EtcdCluster, cluster = 'replaced') =>
    new MultiRegionNode({
      nodeId,
      nodeAddress: '127.0.0.1:9090',
      region: 'eu',
      cluster,
      regional: {
        endpoints: [...regional.endpoints],
        heartbeatInterval: 200,
        electionTimeout: 2000,
        initialLeadership: 0,
      },
      global: {
        endpoints: [...global.endpoints],
        electionTimeout: 2000,
        heartbeatInterval: 400,
        stepDownMargin: 400,
      },
      replication: { confirmInterval: 200 },
    });
  const operator = (global: EtcdCluster, cluster = 'replaced') =>
    new EtcdClusterClient({ endpoints: [...global.endpoints], prefix: `/ztap/global/${cluster}/` });

  it('rebuilds the region from the new store, following it even where its versions are lower', async () => {
    await using before = operator(first);
    // Push the old store's revisions well past the new one's.
    for (let round = 0; round < 5; round++) await before.policies.push('web', `round: ${round}\n`);
    const web = await before.policies.push('web', 'from: first\n');
    const old = node('eu-1', first);
    await old.start();
    await eventually(
      () => old.policies.get('web')?.version === web.version,
      20_000,
      'the first store replicated',
    );
    await old.stop();

    await using after = operator(second);
    const replaced = await after.policies.push('db', 'from: second\n');
    expect(replaced.version).toBeLessThan(web.version);
    await expectRebuiltFrom(node('eu-2', second), 'the second store', {
      db: [replaced.version, 'from: second\n'],
    });
  });

  it('rebuilds the region from another store whose revisions are ahead of it (only its cluster id differs)', async () => {
    const cluster = 'ahead';
    await using before = operator(first, cluster);
    const web = await before.policies.push('web', 'from: first\n');
    const old = node('eu-3', first, cluster);
    await old.start();
    await eventually(
      () => old.policies.get('web')?.version === web.version,
      20_000,
      'the first store replicated',
    );
    await old.stop();

    // A store whose history runs past the region's checkpoint: resuming there would replay its
    // changes on top of what the first store left, and keep "web" forever.
    await using after = operator(third, cluster);
    for (let round = 0; round < 10; round++) await after.policies.push('db', `round: ${round}\n`);
    const db = await after.policies.push('db', 'from: third\n');
    expect(db.version).toBeGreaterThan(web.version);
    await expectRebuiltFrom(node('eu-4', third, cluster), 'the third store', {
      db: [db.version, 'from: third\n'],
    });
  });
});

/** Starts `successor` and expects its region rebuilt (reason `store_changed`) to hold exactly `expected`. */
async function expectRebuiltFrom(
  successor: MultiRegionNode,
  store: string,
  expected: Record<string, [number, string]>,
): Promise<void> {
  const events: ReplicationEvent[] = [];
  successor.telemetry.onReplication((event) => events.push(event));
  await successor.start();
  try {
    await eventually(
      () => JSON.stringify(held(successor)) === JSON.stringify(expected),
      20_000,
      `the region to hold what ${store} holds, and only that`,
    );
    expect(
      events
        .filter((event) => event.type === 'resync')
        .map((event) => event.type === 'resync' && event.reason),
    ).toEqual(['store_changed']);
  } finally {
    await successor.stop();
  }
}

/** What a node's region holds: name → [global version, document]. */
const held = (one: MultiRegionNode) =>
  Object.fromEntries(one.policies.list().map((policy) => [policy.name, [policy.version, policy.document]]));
