import { EtcdElection } from '@ztap/cluster-etcd';
import { describeConformance } from '@ztap/testkit';
import { uniqueCluster, useEtcd, within } from '../support/etcd.ts';

const etcd = useEtcd();

describeConformance('etcd', async () => {
  const cluster = uniqueCluster('conformance');
  const nodes: EtcdElection[] = [];
  const timing = { heartbeatInterval: 200, electionTimeout: 2000 };
  return {
    timing,
    createNode: (nodeId, options = {}) => {
      const election = new EtcdElection({
        nodeId,
        nodeAddress: options.address ?? '127.0.0.1:9090',
        ...(options.metadata ? { metadata: options.metadata } : {}),
        ...(options.healthCheck ? { healthCheck: options.healthCheck } : {}),
        ...(options.drainTimeout === undefined ? {} : { drainTimeout: options.drainTimeout }),
        endpoints: etcd.endpoints,
        cluster,
        ...timing,
        initialLeadership: 0,
      });
      nodes.push(election);
      return election;
    },
    settle: (promise) => within(promise),
    cleanup: async () => {
      await Promise.all(nodes.map((election) => election.stop()));
    },
  };
});
