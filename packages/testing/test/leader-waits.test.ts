import { isElectionStoppedError, isValidationError, type LeaderElection } from '@ztap/cluster';
import { InMemoryElection, MemoryHub } from '@ztap/cluster-memory';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  isWaitTimeoutError,
  ManualClock,
  waitForLeader,
  waitForNoLeader,
  waitUntilLeads,
} from '../src/index.ts';

/** Nodes of one in-memory cluster on a manual clock; `healthy[id] = false` fails a node's health check. */
function memoryCluster(...ids: string[]) {
  const clock = new ManualClock();
  const hub = new MemoryHub({ clock });
  const healthy: Record<string, boolean> = {};
  const nodes = ids.map((nodeId, index) => {
    healthy[nodeId] = true;
    return new InMemoryElection({
      nodeId,
      nodeAddress: `127.0.0.1:${9001 + index}`,
      heartbeatInterval: 100,
      electionTimeout: 300,
      initialLeadership: 0,
      healthCheck: () => healthy[nodeId] as boolean,
      clock,
      hub,
    });
  });
  return { clock, healthy, nodes };
}

/** What a promise rejects with (or `'resolved'`). */
const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => 'resolved',
    (error: unknown) => error,
  );

describe('leader waits on the in-memory backend', () => {
  const running: LeaderElection[] = [];
  afterEach(async () => {
    vi.useRealTimers();
    await Promise.all(running.splice(0).map((node) => node.stop()));
  });
  const started = async (...nodes: LeaderElection[]) => {
    running.push(...nodes);
    for (const node of nodes) await node.start();
    return nodes;
  };

  it('waitForLeader resolves with the leader every node agrees on, which knows it leads', async () => {
    const { clock, nodes } = memoryCluster('a', 'b', 'c');
    await started(...nodes);
    const leader = await clock.settle(waitForLeader(nodes));
    expect(leader.id).toBe('a'); // the lowest id leads in memory
    expect(nodes.filter((node) => node.isLeader()).map((node) => node.nodeId)).toEqual(['a']);
    expect((await waitForLeader(nodes[1] as LeaderElection)).id).toBe('a');
  });

  it('waitUntilLeads resolves with the leadership once that node takes over', async () => {
    const { clock, nodes } = memoryCluster('a', 'b');
    const [a, b] = (await started(...nodes)) as [LeaderElection, LeaderElection];
    const firstTerm = (await clock.settle(waitUntilLeads(a))).term;
    const takeover = waitUntilLeads(b);
    await a.stop();
    const leadership = await clock.settle(takeover);
    expect(leadership.term).toBeGreaterThan(firstTerm);
    expect(leadership.signal.aborted).toBe(false);
    expect(b.isLeader()).toBe(true);
  });

  it('waitForNoLeader resolves once nobody leads (every candidate unhealthy)', async () => {
    const { clock, healthy, nodes } = memoryCluster('a', 'b');
    await started(...nodes);
    await clock.settle(waitForLeader(nodes));
    const nobody = waitForNoLeader(nodes);
    healthy.a = false;
    healthy.b = false;
    await clock.settle(nobody);
    expect(nodes.map((node) => [node.isLeader(), node.getLeader()])).toEqual([
      [false, undefined],
      [false, undefined],
    ]);
  });

  it('fails within its bound, saying what each node saw instead', async () => {
    const { clock, nodes } = memoryCluster('a', 'b');
    const [a, b] = nodes as LeaderElection[] as [LeaderElection, LeaderElection];
    await started(a);
    await clock.settle(waitUntilLeads(a));

    const noAgreement = await rejection(waitForLeader([a, b], { timeoutMs: 50 }));
    expect(isWaitTimeoutError(noAgreement)).toBe(true);
    expect(noAgreement).toHaveProperty(
      'message',
      expect.stringMatching(
        /^timed out after 50 ms waiting for a leader that a and b agree on; seen instead: a leads \(term 1\); b sees no leader \(not live: .+\)$/,
      ),
    );

    await started(b);
    await clock.advance(0);
    expect(await rejection(waitUntilLeads(b, { timeoutMs: 50 }))).toHaveProperty(
      'message',
      'timed out after 50 ms waiting for b to lead; seen instead: b sees a lead (term 1)',
    );
    expect(await rejection(waitForNoLeader([a, b], { timeoutMs: 50 }))).toHaveProperty(
      'message',
      'timed out after 50 ms waiting for a and b to see no leader; seen instead: a leads (term 1); b sees a lead (term 1)',
    );
  });

  it("keeps its bound in real time under a test runner's fake timers", async () => {
    const { nodes } = memoryCluster('a');
    vi.useFakeTimers(); // nothing advances them: a bound on the faked globals would never expire
    const error = await rejection(waitForLeader(nodes, { timeoutMs: 50 }));
    expect(isWaitTimeoutError(error)).toBe(true);
  });

  it('stops waiting when its signal aborts, or when the election is not running', async () => {
    const { nodes } = memoryCluster('a', 'b');
    const [a, b] = nodes as LeaderElection[] as [LeaderElection, LeaderElection];
    const abort = new AbortController();
    const waiting = waitForLeader([a, b], { signal: abort.signal });
    abort.abort(new Error('test over'));
    expect(await rejection(waiting)).toHaveProperty('message', 'test over');
    expect(
      await rejection(waitForNoLeader(a, { signal: AbortSignal.abort(new Error('gone')) })),
    ).toHaveProperty('message', 'gone');
    expect(isElectionStoppedError(await rejection(waitUntilLeads(b)))).toBe(true);
  });

  it('refuses an empty list or a bound that is not positive, naming the argument', async () => {
    const { nodes } = memoryCluster('a');
    const fieldOf = (error: unknown) => (isValidationError(error) ? error.field : error);
    expect(fieldOf(await rejection(waitForLeader([])))).toBe('elections');
    expect(fieldOf(await rejection(waitForNoLeader(nodes, { timeoutMs: 0 })))).toBe('timeoutMs');
    expect(fieldOf(await rejection(waitUntilLeads(nodes[0] as LeaderElection, { timeoutMs: -5 })))).toBe(
      'timeoutMs',
    );
  });
});
