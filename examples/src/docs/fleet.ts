import { isNarrowViewError, isRoleError } from '@ztap/cluster';
import { EtcdElection, type EtcdElectionOptions } from '@ztap/cluster-etcd';

const endpoints = (process.env.ZTAP_ETCD_ENDPOINTS ?? 'http://127.0.0.1:2379').split(',');
const node = (nodeId: string, options: Partial<EtcdElectionOptions> = {}) =>
  new EtcdElection({ nodeId, nodeAddress: '10.0.0.7:9090', endpoints, cluster: 'fleet', ...options });

// One of a few candidates, and an agent of the fleet: a member that never leads, watching only
// the election keys (and the policies, once it subscribes), so member churn costs it nothing.
const candidate = node('scheduler-1', { initialLeadership: 0 });
const agent = node('host-0417', { role: 'member', view: 'leader' });
await candidate.start();
await agent.start();
await candidate.waitForLeadership();

for await (const leader of agent.leaderChanges()) {
  if (leader === undefined) continue;
  console.log(`host-0417 follows ${leader.id} (term ${agent.getState().term})`);
  break;
}
try {
  agent.getNodes();
} catch (error) {
  if (isNarrowViewError(error)) console.log("getNodes(): no member list with view: 'leader'");
}
await agent.waitForLeadership().catch((error: unknown) => {
  if (isRoleError(error)) console.log('waitForLeadership(): a member never campaigns');
});
await agent.stop();
await candidate.stop();
