import { EtcdElection, EtcdPolicySync } from '@ztap/cluster-etcd';
import { registerClusterMetrics } from '@ztap/cluster-metrics';
import { Registry } from 'prom-client';

const election = new EtcdElection({
  nodeId: 'node-1',
  nodeAddress: '10.0.0.7:9090',
  endpoints: (process.env.ZTAP_ETCD_ENDPOINTS ?? 'http://127.0.0.1:2379').split(','),
  cluster: 'metrics',
});
const policies = new EtcdPolicySync(election);
await election.start();

const registry = new Registry();
const metrics = registerClusterMetrics(election, { registry, policies });
const policySync = metrics.instrumentPolicySync(policies); // counts failed writes
// A new node waits initialLeadership (3 s) before it may lead: this write fails, and is counted.
await policySync.syncPolicy('web', 'allow: []\n').catch((error: Error) => console.log(error.name));
// Serve `await registry.metrics()` with `registry.contentType` on /metrics; here, print it once.
console.log(await registry.metrics());
// Stops following and unregisters: before election.stop(), since the policy subscription shares the
// election's etcd client.
await metrics.dispose();
await election.stop();
