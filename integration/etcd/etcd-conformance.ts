import { createEtcdClient, EtcdElection } from '@ztap/cluster-etcd';
import { describeConformance } from '@ztap/testkit';
import type { Etcd3 } from 'etcd3';
import {
  plantCrashedNode,
  type SharedEtcd,
  testNodeOptions,
  uniqueCluster,
  within,
} from '../support/etcd.ts';

/** The conformance suite on `etcd` (nodes connect to `etcd.endpoints`: etcd itself or a proxy), as `name`. */
export function describeEtcdConformance(etcd: SharedEtcd, name: string): void {
  describeConformance(name, async () => {
    const cluster = uniqueCluster('conformance');
    const prefix = `/ztap/clusters/${cluster}/`;
    const nodes: EtcdElection[] = [];
    const clients: Etcd3[] = [];
    /** Every lease granted to a node of this test, by node id. */
    const granted = new Map<string, string[]>();
    const timing = { heartbeatInterval: 200, electionTimeout: 2000 };
    return {
      timing,
      createNode: (nodeId, options = {}) => {
        // A client of its own per node, as separate processes would have; its lease grants are seen
        // (and announced to `onStartIo`) on their way to etcd.
        const client = createEtcdClient({ endpoints: etcd.endpoints, requestTimeout: 1000 });
        clients.push(client);
        const grant = client.leaseClient.leaseGrant.bind(client.leaseClient);
        let began = false;
        client.leaseClient.leaseGrant = (request, callOptions) => {
          const answer = grant(request, callOptions);
          if (!began) options.onStartIo?.();
          began = true;
          return answer.then((lease) => {
            granted.set(nodeId, [...(granted.get(nodeId) ?? []), String(lease.ID)]);
            return lease;
          });
        };
        const { endpoints: _endpoints, ...nodeOptions } = testNodeOptions(etcd, nodeId, cluster);
        const election = new EtcdElection({
          ...nodeOptions,
          ...(options.address ? { nodeAddress: options.address } : {}),
          ...(options.metadata ? { metadata: options.metadata } : {}),
          ...(options.healthCheck ? { healthCheck: options.healthCheck } : {}),
          ...(options.drainTimeout === undefined ? {} : { drainTimeout: options.drainTimeout }),
          ...(options.priority === undefined ? {} : { priority: options.priority }),
          ...(options.minLeadership === undefined ? {} : { minLeadership: options.minLeadership }),
          ...(options.role ? { role: options.role } : {}),
          ...(options.view ? { view: options.view } : {}),
          client,
          ...timing,
          ...(options.initialLeadership === undefined
            ? {}
            : { initialLeadership: options.initialLeadership }),
        });
        nodes.push(election);
        return election;
      },
      crashedHolder: async (nodeId, address) => {
        await plantCrashedNode(etcd.client, prefix, nodeId, address);
      },
      settle: (promise) => within(promise),
      leftovers: async (nodeId) => {
        const keys = await etcd.client.getAll().prefix(prefix).strings();
        const ours = Object.entries(keys)
          .filter(
            ([key, value]) =>
              key === `${prefix}members/${nodeId}` ||
              (key.startsWith(`${prefix}election/`) && value === nodeId),
          )
          .map(([key]) => `key ${key}`);
        const alive: string[] = [];
        for (const lease of granted.get(nodeId) ?? []) {
          const { TTL } = await etcd.client.leaseClient.leaseTimeToLive({ ID: lease });
          if (Number(TTL) > 0) alive.push(`lease ${lease} (${TTL} s left)`);
        }
        return [...ours, ...alive];
      },
      cleanup: async () => {
        await Promise.all(nodes.map((election) => election.stop()));
        for (const client of clients) client.close();
      },
    };
  });
}
