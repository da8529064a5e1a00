import { clusterPrefix, EtcdElection, KeyLayout } from '@ztap/cluster-etcd';
import { describeConformance } from '@ztap/testkit';
import { plantCrashedNode, testNodeOptions, uniqueCluster, useEtcd, within } from '../support/etcd.ts';

const etcd = useEtcd();

describeConformance('etcd', async () => {
  const cluster = uniqueCluster('conformance');
  const keys = new KeyLayout(clusterPrefix(cluster));
  const nodes: EtcdElection[] = [];
  const timing = { heartbeatInterval: 200, electionTimeout: 2000 };
  return {
    timing,
    createNode: (nodeId, options = {}) => {
      const election = new EtcdElection({
        ...testNodeOptions(etcd, nodeId, cluster),
        ...(options.address ? { nodeAddress: options.address } : {}),
        ...(options.metadata ? { metadata: options.metadata } : {}),
        ...(options.healthCheck ? { healthCheck: options.healthCheck } : {}),
        ...(options.drainTimeout === undefined ? {} : { drainTimeout: options.drainTimeout }),
        ...timing,
      });
      nodes.push(election);
      return election;
    },
    crashedHolder: async (nodeId, address) => {
      await plantCrashedNode(etcd.client, keys, nodeId, address);
    },
    settle: (promise) => within(promise),
    cleanup: async () => {
      await Promise.all(nodes.map((election) => election.stop()));
    },
  };
});
