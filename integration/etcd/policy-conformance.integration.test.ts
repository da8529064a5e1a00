import { EtcdElection, EtcdPolicySync } from '@ztap/cluster-etcd';
import { waitUntilLeads } from '@ztap/cluster-testing';
import { describePolicyConformance } from '@ztap/testkit';
import { testNodeOptions, uniqueCluster, useEtcd, within } from '../support/etcd.ts';

const etcd = useEtcd();

describePolicyConformance('etcd', async () => {
  const cluster = uniqueCluster('policies');
  const elections: EtcdElection[] = [];
  const node = async (nodeId: string, healthy: boolean) => {
    const election = new EtcdElection({
      ...testNodeOptions(etcd, nodeId, cluster),
      healthCheck: () => healthy,
    });
    elections.push(election);
    await election.start();
    return { election, policies: new EtcdPolicySync(election) };
  };
  return {
    leader: async (nodeId) => {
      const created = await node(nodeId, true);
      await waitUntilLeads(created.election);
      return created;
    },
    follower: (nodeId) => node(nodeId, false),
    settle: (promise) => within(promise),
    cleanup: async () => {
      await Promise.all(elections.map((election) => election.stop()));
    },
  };
});
