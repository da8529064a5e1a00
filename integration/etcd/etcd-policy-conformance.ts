import { EtcdElection, EtcdPolicySync } from '@ztap/cluster-etcd';
import { waitUntilLeads } from '@ztap/cluster-testing';
import { describePolicyConformance } from '@ztap/testkit';
import { type SharedEtcd, testNodeOptions, uniqueCluster, within } from '../support/etcd.ts';

/** The policy conformance suite with nodes on `etcd.endpoints` (etcd itself or a proxy), as `name`. */
export function describeEtcdPolicyConformance(etcd: SharedEtcd, name: string): void {
  describePolicyConformance(name, async () => {
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
}
