import { InMemoryElection } from '@ztap/cluster-memory';

const election = new InMemoryElection({
  nodeId: 'node-1',
  nodeAddress: '127.0.0.1:9090',
  initialLeadership: 0,
});
await election.start();

// Leader-only work: the signal aborts the moment this node may no longer act as leader.
const report = await election.runWhileLeader(async ({ term, signal }) => {
  signal.throwIfAborted();
  return `node-1 leads with fencing token ${term}`;
});
console.log(report);

for await (const change of election.watch({ includeExisting: true })) {
  console.log(change.type, change.node.id); // node_joined node-1, then leader_elected node-1
  if (change.type === 'leader_elected') break;
}
await election.stop();
