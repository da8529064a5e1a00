import {
  isElectionStoppedError,
  isLeadershipLostError,
  isNodeIdInUseError,
  type Liveness,
} from '@ztap/cluster';
import { describe, expect, it } from 'vitest';
import { stateOf } from '../src/hub.ts';
import { HEARTBEAT_MS, TIMEOUT_MS, useMemoryCluster } from './memory-cluster.ts';

const cluster = useMemoryCluster();
const election = cluster.election;

/** A candidate that joined and then crashed: it never heartbeats, and never leaves. */
function crashedHolder(id: string, address: string): symbol {
  const token = Symbol(`crashed ${id}`);
  stateOf(cluster.hub).join(
    { id, address, healthy: true, electionTimeout: TIMEOUT_MS, initialLeadership: 0, mayLead: true },
    token,
  );
  return token;
}

/** Records whether a promise has settled, without awaiting it. */
function track<T>(promise: Promise<T>): { readonly settled: boolean; readonly promise: Promise<T> } {
  const state = { settled: false, promise };
  promise.then(
    () => (state.settled = true),
    () => (state.settled = true),
  );
  return state;
}

describe('one node id, one node (memory)', () => {
  it('refuses a second node with a running node’s id within one heartbeat, naming the holder', async () => {
    const first = election('node-1', { nodeAddress: '10.0.0.7:9090' });
    await first.start();
    const term = first.term;
    await cluster.clock.advance(60_000);
    const second = election('node-1', { nodeAddress: '10.0.0.8:9090' });
    const starting = track(second.start());
    await cluster.clock.advance(HEARTBEAT_MS);
    expect(starting.settled).toBe(true);
    const error: unknown = await starting.promise.catch((caught: unknown) => caught);
    expect(isNodeIdInUseError(error)).toBe(true);
    expect(error).toMatchObject({
      code: 'ZTAP_NODE_ID_IN_USE',
      nodeId: 'node-1',
      holder: { address: '10.0.0.7:9090', since: new Date('2026-01-01T00:00:00Z') },
      message:
        'node id "node-1" is in use by a running node at 10.0.0.7:9090 (since 2026-01-01T00:00:00Z); ' +
        'pick another node id, or stop that node first',
    });
    expect(first.isLeader()).toBe(true);
    expect(first.term).toBe(term);
    expect(first.getNode('node-1')).toMatchObject({ address: '10.0.0.7:9090', state: 'healthy' });
    expect(second.isLeader()).toBe(false);
    expect(second.getNodes()).toEqual([]);
    expect([...stateOf(cluster.hub).snapshot().members].map((member) => member.address)).toEqual([
      '10.0.0.7:9090',
    ]);
  });

  it('a node restarted after a crash waits until its predecessor has been silent for electionTimeout, then leads with a new term', async () => {
    crashedHolder('node-1', '10.0.0.7:9090');
    const crashedTerm = stateOf(cluster.hub).snapshot().leader?.term as number;
    expect(stateOf(cluster.hub).snapshot().leader?.id).toBe('node-1');
    const reborn = election('node-1', { nodeAddress: '10.0.0.9:9090' });
    const starting = track(reborn.start());
    await cluster.clock.advance(TIMEOUT_MS);
    expect(starting.settled).toBe(false);
    await cluster.clock.advance(1);
    expect(starting.settled).toBe(true);
    await starting.promise;
    expect(reborn.isLeader()).toBe(true);
    expect(reborn.term).toBeGreaterThan(crashedTerm);
    expect(reborn.getNode('node-1')).toMatchObject({
      address: '10.0.0.9:9090',
      joinedAt: cluster.clock.wallNow(),
    });
  });

  it('a holder silent for longer than electionTimeout is taken over at once', async () => {
    crashedHolder('node-1', '10.0.0.7:9090');
    await cluster.clock.advance(TIMEOUT_MS + 1);
    const reborn = election('node-1');
    await reborn.start();
    expect(reborn.isLeader()).toBe(true);
  });

  it('aborting the start signal ends the wait for a crashed predecessor, and nothing joins later', async () => {
    crashedHolder('node-1', '10.0.0.7:9090');
    const controller = new AbortController();
    const reborn = election('node-1', { nodeAddress: '10.0.0.9:9090' });
    const starting = reborn.start({ signal: controller.signal });
    await cluster.clock.advance(HEARTBEAT_MS);
    controller.abort(new Error('operator gave up'));
    await expect(starting).rejects.toThrow('operator gave up');
    await cluster.clock.advance(2 * TIMEOUT_MS);
    expect([...stateOf(cluster.hub).snapshot().members].map((member) => member.address)).toEqual([
      '10.0.0.7:9090',
    ]);
  });

  it('stop() during the wait rejects start() and nothing joins later', async () => {
    crashedHolder('node-1', '10.0.0.7:9090');
    const reborn = election('node-1', { nodeAddress: '10.0.0.9:9090' });
    const starting = reborn.start();
    await cluster.clock.advance(HEARTBEAT_MS);
    await reborn.stop();
    await expect(starting).rejects.toSatisfy(isElectionStoppedError);
    await cluster.clock.advance(2 * TIMEOUT_MS);
    expect([...stateOf(cluster.hub).snapshot().members].map((member) => member.address)).toEqual([
      '10.0.0.7:9090',
    ]);
  });

  it('a running node whose record was removed and taken by a live node with its id says so in its liveness and does not fight', async () => {
    const first = election('node-1', { nodeAddress: '10.0.0.7:9090' });
    await first.start();
    const changes: Liveness[] = [];
    first.telemetry.onLiveness((liveness) => changes.push(liveness));
    const signal = first.leadershipSignal;
    const operator = election('ops');
    await operator.start();
    await operator.deregisterNode('node-1');
    const usurper = election('node-1', { nodeAddress: '10.0.0.8:9090' });
    await usurper.start();
    await cluster.clock.advance(3 * HEARTBEAT_MS);
    expect(isLeadershipLostError(signal.reason) && signal.reason.reason).toBe('lease_lost');
    expect(first.isLeader()).toBe(false);
    const standingAside = {
      ok: false,
      reason:
        'node id "node-1" is in use by a running node at 10.0.0.8:9090 (since 2026-01-01T00:00:00Z): ' +
        'this node stands aside until the id is free',
    };
    expect(first.liveness).toEqual(standingAside);
    expect(changes.filter((change) => change.reason === standingAside.reason)).toHaveLength(1);
    expect(operator.getNode('node-1')?.address).toBe('10.0.0.8:9090');
    expect(usurper.isLeader()).toBe(true);

    await usurper.stop();
    await cluster.clock.advance(HEARTBEAT_MS);
    expect(operator.getNode('node-1')?.address).toBe('10.0.0.7:9090');
    expect(first.isLeader()).toBe(true);
    expect(first.liveness).toEqual({ ok: true });
  });
});
