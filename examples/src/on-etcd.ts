import { EtcdElection } from '@ztap/cluster-etcd';

const election = new EtcdElection({
  nodeId: process.env.NODE_ID ?? 'node-1',
  nodeAddress: '10.0.0.7:9090',
  endpoints: (process.env.ZTAP_ETCD_ENDPOINTS ?? 'http://127.0.0.1:2379').split(','),
  cluster: 'payments', // keys under /ztap/clusters/payments/
  // TLS and RBAC: tls: { ca, cert, key } (PEM contents), auth: { username, password }
});
await election.start();
const ran = await election.runWhileLeader(async ({ term, signal }) => {
  const key = Buffer.from(`${election.prefix}jobs/last-run`);
  // etcd refuses this write once `term` is stale, even before this node notices it was deposed.
  await election.guardedTxn({
    term,
    success: [{ request_put: { key, value: Buffer.from(`term ${term}`) } }],
  });
  signal.throwIfAborted(); // long work listens to the signal and stops the moment it aborts
  return `ran the leader-only job with term ${term}`;
});
console.log(ran);
await election.stop();
