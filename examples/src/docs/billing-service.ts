import { EtcdElection } from '@ztap/cluster-etcd';
import { settleInvoices } from './billing.ts';

const election = new EtcdElection({
  nodeId: process.env.HOSTNAME ?? 'node-1', // unique in the cluster
  nodeAddress: '10.0.0.7:9090', // where this instance serves
  // e.g. ZTAP_ETCD_ENDPOINTS=https://etcd-1:2379,https://etcd-2:2379,https://etcd-3:2379
  endpoints: (process.env.ZTAP_ETCD_ENDPOINTS ?? 'http://127.0.0.1:2379').split(','),
  cluster: 'billing', // keys under /ztap/clusters/billing/
});
await election.start();
// SIGTERM aborts the work below; stop() waits for it to settle (drainTimeout), then resigns, and a
// successor takes over in milliseconds.
process.once('SIGTERM', () => void election.stop());

try {
  // Each time this node becomes leader: settleInvoices with the term and a signal that aborts the
  // moment this node may no longer act as leader. Ends when the election stops.
  await election.lead(({ term, signal }) => settleInvoices({ term, signal }));
} finally {
  await election.stop();
}
