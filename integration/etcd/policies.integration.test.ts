/**
 * Policy sync against a real etcd: fencing of a deposed leader, and subscribers that miss history.
 */
import { isFencedWriteError, isNotLeaderError, type Policy, type PolicyUpdate } from '@ztap/cluster';
import { EtcdElection, EtcdPolicySync } from '@ztap/cluster-etcd';
import { cutOffProxy, type EtcdLink, waitUntilLeads } from '@ztap/cluster-testing';
import { Recorder } from '@ztap/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, uniqueCluster, useEtcd, within } from '../support/etcd.ts';

const etcd = useEtcd();
const elections: EtcdElection[] = [];
const links: EtcdLink[] = [];
afterEach(async () => {
  await Promise.all(elections.splice(0).map((election) => election.stop()));
  await Promise.all(links.splice(0).map((link) => link.close()));
});

function node(nodeId: string, cluster: string, endpoints = etcd.endpoints): EtcdElection {
  const election = new EtcdElection({
    nodeId,
    nodeAddress: '127.0.0.1:9090',
    endpoints,
    cluster,
    heartbeatInterval: 1000,
    electionTimeout: 10_000,
    initialLeadership: 0,
  });
  elections.push(election);
  return election;
}

/** Applies updates the way a subscriber would, to the policies it believes exist. */
function replay(updates: readonly PolicyUpdate[]): Map<string, number> {
  const state = new Map<string, number>();
  for (const update of updates) {
    if (update.type === 'snapshot') {
      state.clear();
      for (const policy of update.policies) state.set(policy.name, policy.version);
    } else if (update.type === 'updated') state.set(update.policy.name, update.policy.version);
    else state.delete(update.name);
  }
  return state;
}

const inEtcd = async (policies: EtcdPolicySync) =>
  new Map((await policies.listPolicies()).map((policy: Policy) => [policy.name, policy.version]));

describe('policy sync on etcd', () => {
  it("a deposed leader's policy write fails with a typed error and writes nothing", async () => {
    const cluster = uniqueCluster('policy-fence');
    const leader = node('a', cluster);
    await leader.start();
    await waitUntilLeads(leader);
    const policies = new EtcdPolicySync(leader);
    await policies.syncPolicy('web', 'allow: [80]\n');
    // Deposed behind its back: the campaign key goes. Whether or not it has noticed yet, the write
    // must fail (NotLeaderError if it noticed, FencedWriteError from etcd if it had not).
    await etcd.client.delete().key(leader.campaignKey as string);
    const error = await policies.syncPolicy('web', 'allow: [80, 443]\n').catch((caught: unknown) => caught);
    expect(isFencedWriteError(error) || isNotLeaderError(error)).toBe(true);
    expect((await policies.getPolicy('web'))?.document).toBe('allow: [80]\n');
  });

  it('a subscriber cut off while policies change and history is compacted ends with every policy at its latest version', async () => {
    const cluster = uniqueCluster('policy-compaction');
    const link = await cutOffProxy(etcd);
    links.push(link);
    const leader = node('leader', cluster);
    await leader.start();
    await waitUntilLeads(leader);
    const policies = new EtcdPolicySync(leader);
    await policies.syncPolicy('keep', 'v: 0\n');
    await policies.syncPolicy('gone', 'v: 0\n');

    const subscriberNode = node('subscriber', cluster, [...link.endpoints]);
    await subscriberNode.start();
    const updates = new Recorder(new EtcdPolicySync(subscriberNode).subscribePolicies());
    await within(updates.until((all) => replay(all).size === 2));

    link.cut();
    for (let round = 1; round <= 20; round++) await policies.syncPolicy(`p${round % 5}`, `v: ${round}\n`);
    await policies.syncPolicy('keep', 'v: 99\n');
    await policies.deletePolicy('gone');
    const { header } = await etcd.client.get('/').exec();
    await etcd.client.kv.compact({ revision: header.revision, physical: true });
    link.heal();

    const expected = await inEtcd(policies);
    expect([...expected.keys()].sort()).toEqual(['keep', 'p0', 'p1', 'p2', 'p3', 'p4']);
    await eventually(
      () => JSON.stringify([...replay(updates.items)].sort()) === JSON.stringify([...expected].sort()),
      15_000,
      'the subscriber to catch up',
    );
  }, 40_000);

  it('a subscriber that stops reading while 3000 updates arrive gets a snapshot, not an unbounded queue', async () => {
    const cluster = uniqueCluster('policy-slow');
    const leader = node('leader', cluster);
    await leader.start();
    await waitUntilLeads(leader);
    const policies = new EtcdPolicySync(leader);
    const stream = policies.subscribePolicies()[Symbol.asyncIterator]();
    expect((await stream.next()).value).toMatchObject({ type: 'snapshot', policies: [] });
    // Not reading while the updates pile up.
    for (let round = 0; round < 3000; round++) await policies.syncPolicy(`p${round % 7}`, `v: ${round}\n`);
    const received: PolicyUpdate[] = [];
    const expected = await inEtcd(policies);
    while (JSON.stringify([...replay(received)].sort()) !== JSON.stringify([...expected].sort())) {
      const { value, done } = await within(stream.next());
      if (done) throw new Error('the subscription ended');
      received.push(value);
    }
    expect(received.some((update) => update.type === 'snapshot')).toBe(true);
    expect(received.length).toBeLessThan(1100);
    await stream.return?.();
  }, 60_000);
});
