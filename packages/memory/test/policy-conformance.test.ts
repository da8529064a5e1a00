import { ManualClock } from '@ztap/cluster-testing';
import { describePolicyConformance } from '@ztap/testkit';
import { InMemoryElection, InMemoryPolicySync, MemoryHub } from '../src/index.ts';

describePolicyConformance('memory', async () => {
  const clock = new ManualClock();
  const hub = new MemoryHub({ clock });
  const elections: InMemoryElection[] = [];
  const node = async (nodeId: string, healthy: boolean) => {
    const election = new InMemoryElection({
      nodeId,
      nodeAddress: '127.0.0.1:9090',
      heartbeatInterval: 100,
      electionTimeout: 300,
      initialLeadership: 0,
      healthCheck: () => healthy,
      clock,
      hub,
    });
    elections.push(election);
    await election.start();
    return { election, policies: new InMemoryPolicySync(election) };
  };
  return {
    leader: async (nodeId) => {
      const created = await node(nodeId, true);
      await clock.settle(created.election.waitForLeadership());
      return created;
    },
    follower: (nodeId) => node(nodeId, false),
    settle: (promise) => clock.settle(promise),
    cleanup: async () => {
      await Promise.all(elections.map((election) => election.stop()));
    },
  };
});
