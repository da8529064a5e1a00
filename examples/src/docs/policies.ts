import { EtcdElection, EtcdPolicySync } from '@ztap/cluster-etcd';

const election = new EtcdElection({
  nodeId: 'node-1',
  nodeAddress: '10.0.0.7:9090',
  endpoints: (process.env.ZTAP_ETCD_ENDPOINTS ?? 'http://127.0.0.1:2379').split(','),
  cluster: 'edge',
});
await election.start();
const policies = new EtcdPolicySync(election); // InMemoryPolicySync(election) on the memory backend
const shutdown = new AbortController();
process.once('SIGTERM', () => shutdown.abort());

// Leader only: fenced by the leader's term.
await election.runWhileLeader(async () => {
  await policies.syncPolicy('web', 'allow:\n  - port: 443\n');
});

// Everyone: a snapshot first, then every change, until SIGTERM.
for await (const update of policies.subscribePolicies({ signal: shutdown.signal })) {
  if (update.type === 'snapshot') console.log(`snapshot: ${update.policies.map((p) => p.name).join(', ')}`);
  else if (update.type === 'updated') console.log(`updated: ${update.policy.name} v${update.policy.version}`);
  else console.log(`deleted: ${update.name}`);
}
await election.stop();
