import {
  type ClusterStateChange,
  isLeadershipLostError,
  isValidationError,
  isWatchOverflowError,
} from '@ztap/cluster';
import { Recorder } from '@ztap/testkit';
import { describe, expect, it } from 'vitest';
import { stateOf } from '../src/hub.ts';
import { InMemoryElection, MemoryHub } from '../src/index.ts';
import { useMemoryCluster } from './memory-cluster.ts';

const cluster = useMemoryCluster();
const election = cluster.election;

const summary = (changes: readonly ClusterStateChange[]) =>
  changes.map((change) => `${change.type}:${change.node.id}`);

describe('InMemoryElection', () => {
  it('uses the seed defaults and does no work in the constructor', () => {
    const idle = new InMemoryElection({
      nodeId: 'n1',
      nodeAddress: '127.0.0.1:9090',
      clock: cluster.clock,
      hub: cluster.hub,
    });
    expect(cluster.clock.pendingTimers).toBe(0);
    expect(stateOf(cluster.hub).snapshot().members).toEqual([]);
    expect(idle.isLeader()).toBe(false);
    expect(idle.getNodes()).toEqual([]);
  });

  it('a hub is only a handle: holding one does not let anyone join, heartbeat, resign or leave for a node', () => {
    const handle = cluster.hub as unknown as Record<string, unknown>;
    for (const method of [
      'join',
      'heartbeat',
      'resign',
      'leave',
      'attach',
      'register',
      'deregister',
      'holds',
    ])
      expect(handle[method], method).toBeUndefined();
    expect(Object.keys(cluster.hub)).toEqual([]);
  });

  it('elects the healthy candidate with the lowest id, whatever the start order', async () => {
    const nodes = [election('node-3'), election('node-1'), election('node-2')];
    for (const node of nodes) await node.start();
    expect(nodes.map((node) => node.isLeader())).toEqual([false, true, false]);
    expect(nodes[0]?.getLeader()?.id).toBe('node-1');
  });

  it('chosen afresh, the highest priority leads; the lowest id only breaks ties, and pre-empts only within a priority', async () => {
    const nodes = [
      election('node-1', { priority: -1 }),
      election('node-2', { priority: 5 }),
      election('node-3', { priority: 5 }),
    ];
    for (const node of nodes) await node.start();
    expect(nodes.map((node) => node.isLeader())).toEqual([false, true, false]);
    // node-2 stops: node-3 (the same priority) leads, not the lower id with the lower priority.
    await nodes[1]?.stop();
    expect(nodes[2]?.isLeader()).toBe(true);
    // A higher priority joining does not pre-empt at once: the leader hands over by the priority rule.
    const top = election('node-0', { priority: 9 });
    await top.start();
    expect(top.isLeader()).toBe(false);
    expect(await cluster.clock.settle(top.waitForLeadership())).toMatchObject({ term: expect.any(Number) });
  });

  it('lets a fresh node lead only after initialLeadership, then by the lexicographic rule', async () => {
    const late = election('b');
    await late.start();
    const early = election('a', { initialLeadership: 3000 });
    await early.start();
    expect(late.isLeader()).toBe(true);
    const lateLeadership = late.leadershipSignal;
    await cluster.clock.advance(2999);
    expect(early.isLeader()).toBe(false);
    await cluster.clock.advance(1);
    expect(early.isLeader()).toBe(true);
    expect(isLeadershipLostError(lateLeadership.reason) && lateLeadership.reason.reason).toBe('superseded');
  });

  it('marks a node that misses heartbeats for electionTimeout unhealthy and elects another', async () => {
    const follower = election('b');
    await follower.start();
    // A candidate that joined and then went silent (its process hung): only the hub knows it.
    const frozen = Symbol('frozen');
    stateOf(cluster.hub).join(
      {
        id: 'a',
        address: 'a.internal:9090',
        healthy: true,
        electionTimeout: 5000,
        initialLeadership: 0,
        mayLead: true,
      },
      frozen,
    );
    expect(follower.getLeader()?.id).toBe('a');
    const changes = new Recorder(follower.watch());
    await cluster.clock.advance(5000);
    expect(follower.getNode('a')?.state).toBe('healthy');
    await cluster.clock.advance(1000);
    expect(follower.getNode('a')?.state).toBe('unhealthy');
    expect(follower.isLeader()).toBe(true);
    expect(summary(changes.items)).toEqual(['leader_lost:a', 'node_unhealthy:a', 'leader_elected:b']);
  });

  it('a failing application health check makes the node unhealthy; it recovers when it passes', async () => {
    let healthy = true;
    const node = election('a', { healthCheck: () => healthy });
    const other = election('b');
    await node.start();
    await other.start();
    expect(node.isLeader()).toBe(true);
    healthy = false;
    await cluster.clock.advance(1000);
    expect(node.getNode('a')?.state).toBe('unhealthy');
    expect(other.isLeader()).toBe(true);
    healthy = true;
    await cluster.clock.advance(1000);
    expect(node.getNode('a')?.state).toBe('healthy');
    expect(node.isLeader()).toBe(true); // lexicographic rule: a leads again
  });

  it('a node whose health check fails at start joins as unhealthy and does not lead', async () => {
    const node = election('a', { healthCheck: () => false });
    await node.start();
    expect(node.getNode('a')?.state).toBe('unhealthy');
    expect(node.getLeader()).toBeUndefined();
  });

  it('registers and deregisters nodes; registered nodes turn unhealthy when never heard from', async () => {
    const node = election('a');
    await node.start();
    await node.registerNode({ id: 'node-2', address: '192.168.1.2:9090', metadata: { zone: 'z2' } });
    expect(node.getNode('node-2')).toMatchObject({
      state: 'unknown',
      role: 'follower',
      metadata: { zone: 'z2' },
    });
    await cluster.clock.advance(6000);
    expect(node.getNode('node-2')?.state).toBe('unhealthy');
    await node.deregisterNode('node-2');
    expect(node.getNode('node-2')).toBeUndefined();
  });

  it('a running node adopts a record an operator registered under its id', async () => {
    const operator = election('ops');
    await operator.start();
    await operator.registerNode({ id: 'worker', address: 'old.internal:1' });
    const worker = election('worker', { nodeAddress: 'new.internal:2' });
    await worker.start();
    expect(operator.getNode('worker')).toMatchObject({ state: 'healthy', address: 'new.internal:2' });
  });

  it('a running node removed by an operator steps down and joins again on its next heartbeat', async () => {
    const node = election('a');
    const other = election('b');
    await node.start();
    await other.start();
    const signal = node.leadershipSignal;
    await other.deregisterNode('a');
    expect(isLeadershipLostError(signal.reason) && signal.reason.reason).toBe('lease_lost');
    expect(other.isLeader()).toBe(true);
    await cluster.clock.advance(1000);
    expect(other.getNode('a')?.state).toBe('healthy');
  });

  it('notifies watchers of joins, leaves, health changes and leaders, in order', async () => {
    const watcherNode = election('w');
    await watcherNode.start();
    const changes = new Recorder(watcherNode.watch());
    const a = election('a');
    await a.start();
    await a.stop();
    await changes.until((items) => items.length >= 6);
    expect(summary(changes.items)).toEqual([
      'leader_lost:w',
      'node_joined:a',
      'leader_elected:a',
      'leader_lost:a',
      'node_left:a',
      'leader_elected:w',
    ]);
    expect(changes.items.every((change) => change.timestamp instanceof Date)).toBe(true);
  });

  it('a watcher that stops reading gets its buffer, then a WatchOverflowError, and others are unaffected', async () => {
    const node = election('a', { watchBufferSize: 5 });
    await node.start();
    const stalled = node.watch();
    const healthy = new Recorder(node.watch());
    for (let n = 0; n < 20; n++) await node.registerNode({ id: `x${n}`, address: '127.0.0.1:1' });
    const delivered: string[] = [];
    await expect(
      (async () => {
        for await (const change of stalled) delivered.push(`${change.type}:${change.node.id}`);
      })(),
    ).rejects.toSatisfy(isWatchOverflowError);
    expect(delivered).toEqual([
      'node_joined:x0',
      'node_joined:x1',
      'node_joined:x2',
      'node_joined:x3',
      'node_joined:x4',
    ]);
    expect(healthy.items).toHaveLength(20);
  });

  it('stops and starts again (restartable lifecycle) without leaking timers', async () => {
    const node = election('a');
    await node.start();
    expect(node.isLeader()).toBe(true);
    await node.stop();
    await node.stop();
    expect(cluster.clock.pendingTimers).toBe(0);
    expect(node.isLeader()).toBe(false);
    expect(node.getNodes()).toEqual([]);
    expect(stateOf(cluster.hub).snapshot().members).toEqual([]);
    await node.start();
    expect(node.isLeader()).toBe(true);
    expect(node.term).toBe(2);
  });

  it('aborting the start signal later stops the election', async () => {
    const controller = new AbortController();
    const node = election('a');
    await node.start({ signal: controller.signal });
    controller.abort();
    await cluster.clock.settle(new Recorder(node.watch()).ended().then(() => undefined));
    expect(stateOf(cluster.hub).snapshot().members).toEqual([]);
  });

  it('a leadership-abort handler may stop the election without corrupting anyone’s view', async () => {
    const a = election('a');
    const b = election('b');
    const c = election('c');
    for (const node of [a, b, c]) await node.start();
    // b would be next in line, but it stops from inside the handler that runs when a's leadership ends.
    a.leadershipSignal.addEventListener('abort', () => void b.stop());
    await a.resign();
    expect(b.isLeader()).toBe(false);
    expect(c.getLeader()?.id).toBe('c');
    expect(c.isLeader()).toBe(true);
    expect(c.getNodes().map((node) => node.id)).toEqual(['a', 'c']);
    expect(a.getNodes().map((node) => node.id)).toEqual(['a', 'c']);
  });

  it('validates the config when constructed, naming the field', () => {
    expect(() => election('a', { heartbeatInterval: 2000, electionTimeout: 5000 })).toThrow(
      'heartbeatInterval must be at most a third of electionTimeout',
    );
    try {
      election('a', { nodeAddress: 'nowhere' });
    } catch (error) {
      expect(isValidationError(error) && error.field).toBe('nodeAddress');
    }
  });

  it('elections without a hub share the process-wide default hub', async () => {
    const one = new InMemoryElection({ nodeId: 'one', nodeAddress: '127.0.0.1:1', initialLeadership: 0 });
    const two = new InMemoryElection({ nodeId: 'two', nodeAddress: '127.0.0.1:2', initialLeadership: 0 });
    try {
      expect(one.hub).toBe(MemoryHub.default);
      await one.start();
      await two.start();
      expect(two.getLeader()?.id).toBe('one');
    } finally {
      await one.stop();
      await two.stop();
    }
  });

  describe('liveness and heartbeat telemetry', () => {
    it('is not ok until started and after stop, ok while running and heard', async () => {
      const node = election('a');
      expect(node.liveness).toEqual({ ok: false, reason: 'the election is not running' });
      await node.start();
      expect(node.liveness).toEqual({ ok: true });
      await cluster.clock.advance(3000);
      expect(node.liveness.ok).toBe(true);
      await node.stop();
      expect(node.liveness).toEqual({ ok: false, reason: 'the election is not running' });
    });

    it('reports a confirmed heartbeat as ok, and one whose record was gone as a failure', async () => {
      const node = election('a');
      const heartbeats: { ok: boolean; failure?: string }[] = [];
      node.telemetry.onHeartbeat((heartbeat) => heartbeats.push(heartbeat));
      await node.start();
      await cluster.clock.advance(1000);
      expect(heartbeats).toEqual([{ ok: true, latencySeconds: 0 }]);

      await node.deregisterNode('a');
      expect(node.liveness).toEqual({
        ok: false,
        reason: "this node's record was removed from the hub; it joins again at its next heartbeat",
      });
      await cluster.clock.advance(1000);
      expect(heartbeats.at(-1)).toEqual({ ok: false, latencySeconds: 0, failure: 'lease_lost' });
      expect(node.liveness.ok).toBe(true);
      await cluster.clock.advance(1000);
      expect(heartbeats.at(-1)).toEqual({ ok: true, latencySeconds: 0 });
    });

    it('says why the health check fails, and reports each change once', async () => {
      let failure: string | undefined;
      const node = election('a', {
        healthCheck: () => {
          if (failure) throw new Error(failure);
          return true;
        },
      });
      const changes: unknown[] = [];
      node.telemetry.onLiveness((liveness) => changes.push(liveness));
      await node.start();
      failure = 'disk full';
      await cluster.clock.advance(3000);
      expect(node.liveness).toEqual({ ok: false, reason: 'the health check fails: disk full' });
      failure = undefined;
      await cluster.clock.advance(1000);
      expect(node.liveness.ok).toBe(true);
      expect(changes).toEqual([
        { ok: true },
        { ok: false, reason: 'the health check fails: disk full' },
        { ok: true },
      ]);
    });

    it('is not ok from the moment its own heartbeats are overdue by electionTimeout (a frozen process)', async () => {
      const node = election('a');
      await node.start();
      await cluster.clock.advance(500);
      cluster.clock.freeze(5000); // last heartbeat at 0: 5500 ms of silence
      expect(node.liveness).toEqual({
        ok: false,
        reason: 'this node has not heartbeated for longer than its electionTimeout (5000 ms)',
      });
      await cluster.clock.advance(0); // the overdue heartbeat runs
      expect(node.liveness.ok).toBe(true);
    });
  });
});
