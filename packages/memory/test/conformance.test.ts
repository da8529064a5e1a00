import { InMemoryElection, MemoryHub } from '@ztap/cluster-memory';
import { ManualClock } from '@ztap/cluster-testing';
import { describeConformance } from '@ztap/testkit';

describeConformance('memory', async () => {
  const clock = new ManualClock();
  const hub = new MemoryHub({ clock });
  const nodes: InMemoryElection[] = [];
  const timing = { heartbeatInterval: 100, electionTimeout: 300 };
  return {
    timing,
    createNode: (nodeId, options = {}) => {
      const election = new InMemoryElection({
        nodeId,
        nodeAddress: options.address ?? '127.0.0.1:9090',
        ...(options.metadata ? { metadata: options.metadata } : {}),
        ...(options.healthCheck ? { healthCheck: options.healthCheck } : {}),
        ...(options.drainTimeout === undefined ? {} : { drainTimeout: options.drainTimeout }),
        ...timing,
        initialLeadership: 0,
        clock,
        hub,
      });
      nodes.push(election);
      return election;
    },
    crashedHolder: async (nodeId, address) => {
      hub.join(
        { id: nodeId, address, healthy: true, electionTimeout: 300, initialLeadership: 0 },
        Symbol(nodeId),
      );
    },
    settle: (promise) => clock.settle(promise),
    cleanup: async () => {
      await Promise.all(nodes.map((election) => election.stop()));
    },
  };
});
