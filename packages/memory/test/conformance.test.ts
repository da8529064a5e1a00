import { ManualClock } from '@ztap/cluster-testing';
import { describeConformance } from '@ztap/testkit';
import { stateOf } from '../src/hub.ts';
import { InMemoryElection, MemoryHub } from '../src/index.ts';

describeConformance('memory', async () => {
  const clock = new ManualClock();
  const hub = new MemoryHub({ clock });
  const nodes: InMemoryElection[] = [];
  const timing = { heartbeatInterval: 100, electionTimeout: 300 };
  return {
    timing,
    createNode: (nodeId, options = {}) => {
      const { onStartIo, healthCheck } = options;
      // The in-memory store is reached in one synchronous step after the start's health check: that
      // check is the last point a start can be interrupted.
      let began = false;
      const check = onStartIo
        ? (checkOptions: { signal: AbortSignal }) => {
            if (!began) onStartIo();
            began = true;
            return healthCheck ? healthCheck(checkOptions) : true;
          }
        : healthCheck;
      const election = new InMemoryElection({
        nodeId,
        nodeAddress: options.address ?? '127.0.0.1:9090',
        ...(options.metadata ? { metadata: options.metadata } : {}),
        ...(check ? { healthCheck: check } : {}),
        ...(options.drainTimeout === undefined ? {} : { drainTimeout: options.drainTimeout }),
        ...(options.priority === undefined ? {} : { priority: options.priority }),
        ...(options.minLeadership === undefined ? {} : { minLeadership: options.minLeadership }),
        ...(options.role ? { role: options.role } : {}),
        ...(options.view ? { view: options.view } : {}),
        ...timing,
        initialLeadership: options.initialLeadership ?? 0,
        clock,
        hub,
      });
      nodes.push(election);
      return election;
    },
    crashedHolder: async (nodeId, address) => {
      stateOf(hub).join(
        { id: nodeId, address, healthy: true, electionTimeout: 300, initialLeadership: 0, mayLead: true },
        Symbol(nodeId),
      );
    },
    settle: (promise) => clock.settle(promise),
    leftovers: async (nodeId) =>
      [...stateOf(hub).snapshot().members]
        .filter((member) => member.id === nodeId)
        .map((member) => `member ${member.id}`),
    cleanup: async () => {
      await Promise.all(nodes.map((election) => election.stop()));
    },
  };
});
