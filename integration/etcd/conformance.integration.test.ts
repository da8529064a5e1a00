import { clusterPrefix, EtcdElection, encodeMember, KeyLayout } from '@ztap/cluster-etcd';
import { describeConformance } from '@ztap/testkit';
import { uniqueCluster, useEtcd, within } from '../support/etcd.ts';

const etcd = useEtcd();
const TTL_SECONDS = 2;

describeConformance('etcd', async () => {
  const cluster = uniqueCluster('conformance');
  const keys = new KeyLayout(clusterPrefix(cluster));
  const nodes: EtcdElection[] = [];
  return {
    createNode: (nodeId, options = {}) => {
      const election = new EtcdElection({
        nodeId,
        nodeAddress: options.address ?? '127.0.0.1:9090',
        ...(options.metadata ? { metadata: options.metadata } : {}),
        ...(options.healthCheck ? { healthCheck: options.healthCheck } : {}),
        endpoints: etcd.endpoints,
        cluster,
        heartbeatInterval: 200,
        electionTimeout: TTL_SECONDS * 1000,
        initialLeadership: 0,
      });
      nodes.push(election);
      return election;
    },
    // What a crashed node leaves: its record and campaign key on a lease nobody keeps alive.
    crashedHolder: async (nodeId, address) => {
      const { ID: leaseId } = await etcd.client.leaseClient.leaseGrant({ TTL: TTL_SECONDS });
      const record = encodeMember({
        address,
        metadata: {},
        joinedAt: new Date().toISOString(),
        health: 'healthy',
      });
      await etcd.client.put(keys.memberKey(nodeId)).value(record).lease(leaseId).exec();
      await etcd.client.put(keys.campaignKey(leaseId)).value(nodeId).lease(leaseId).exec();
    },
    settle: (promise) => within(promise),
    cleanup: async () => {
      await Promise.all(nodes.map((election) => election.stop()));
    },
  };
});
