import { EtcdElection, EtcdPolicySync } from '@ztap/cluster-etcd';
import type { Cluster, FencedStore } from './cluster.ts';

/**
 * The production wiring of every example: an `EtcdElection` configured from the environment.
 *
 *   NODE_ID              this node's id, unique in the cluster (default `<name>-<pid>`)
 *   NODE_ADDRESS         where this node serves, host:port (default `nodeAddress`, else 127.0.0.1:8080)
 *   ZTAP_ETCD_ENDPOINTS  comma-separated etcd URLs (default http://127.0.0.1:2379)
 *   ZTAP_CLUSTER         cluster name: keys live under /ztap/clusters/<name>/ (default `examples`)
 *
 * Timings are the library defaults: a 5 s lease, and a new node waits 3 s before it may lead.
 */
export function etcdCluster(options: { name: string; nodeAddress?: string }): Cluster & {
  election: EtcdElection;
} {
  const env = process.env;
  const election = new EtcdElection({
    nodeId: env.NODE_ID ?? `${options.name}-${process.pid}`,
    nodeAddress: env.NODE_ADDRESS ?? options.nodeAddress ?? '127.0.0.1:8080',
    endpoints: (env.ZTAP_ETCD_ENDPOINTS ?? 'http://127.0.0.1:2379').split(','),
    cluster: env.ZTAP_CLUSTER ?? 'examples',
    // TLS and RBAC: tls: { ca, cert, key } (PEM contents), auth: { username, password }
  });
  return {
    election,
    policies: new EtcdPolicySync(election),
    store: etcdStore(election),
    backendError: () => election.lastError,
  };
}

/**
 * Results live under `<cluster prefix>results/<key>`. `guardedTxn` makes etcd itself compare the
 * leader's campaign key with `term`, so a deposed leader's write is refused even before it knows.
 * Use it while the election runs: it borrows the election's etcd client.
 */
function etcdStore(election: EtcdElection): FencedStore {
  const keyOf = (key: string) => Buffer.from(`${election.prefix}results/${key}`);
  return {
    async put(term, key, value) {
      await election.guardedTxn({
        term,
        success: [{ request_put: { key: keyOf(key), value: Buffer.from(value) } }],
      });
    },
    async get(key) {
      return (await election.client.get(keyOf(key)).string()) ?? undefined;
    },
  };
}
