import { isTransferError } from '@ztap/cluster';
import { EtcdElection } from '@ztap/cluster-etcd';

const endpoints = (process.env.ZTAP_ETCD_ENDPOINTS ?? 'http://127.0.0.1:2379').split(',');
const node = (nodeId: string) =>
  new EtcdElection({
    nodeId,
    nodeAddress: `${nodeId}.internal:8080`,
    endpoints,
    cluster: 'transfer-demo',
    initialLeadership: 0,
  });

// Started one after the other: api-1 is first in etcd's queue, so it leads.
const [api1, api2, api3] = [node('api-1'), node('api-2'), node('api-3')];
for (const election of [api1, api2, api3]) await election.start();
const { term } = await api1.waitForLeadership();
console.log(`api-1 leads with term ${term}`);

// A rolling deploy is about to restart api-1: hand over to api-3 first (api-2, ahead of it, steps aside).
const handover = await api1.transferLeadership('api-3');
console.log(`${handover.nodeId} leads with a higher term: ${handover.term > term}`);

// Refusals are typed, and change nothing.
try {
  await api3.transferLeadership('api-9');
} catch (error) {
  if (!isTransferError(error)) throw error;
  console.log(`refused: ${error.reason}`);
}
for (const election of [api1, api2, api3]) await election.stop();
