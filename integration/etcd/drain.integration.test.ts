/**
 * The drain on etcd where the contract suite cannot reach: a leader that loses etcd while it waits for
 * its leader work. The step-down deadline (DESIGN.md §4) beats `drainTimeout`: from that moment the
 * lease may expire and a successor be elected, so waiting longer would protect nothing.
 */
import type { DrainEvent } from '@ztap/cluster';
import { EtcdElection } from '@ztap/cluster-etcd';
import { TcpProxy } from '@ztap/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { uniqueCluster, useEtcd, within } from '../support/etcd.ts';

const etcd = useEtcd();
const elections: EtcdElection[] = [];
const proxies: TcpProxy[] = [];

afterEach(async () => {
  await Promise.all(elections.splice(0).map((election) => election.stop()));
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
});

function node(nodeId: string, cluster: string, endpoints: string[], drainTimeout?: number): EtcdElection {
  const election = new EtcdElection({
    nodeId,
    nodeAddress: '127.0.0.1:9090',
    endpoints,
    cluster,
    heartbeatInterval: 200,
    electionTimeout: 2000,
    initialLeadership: 0,
    requestTimeout: 500,
    ...(drainTimeout === undefined ? {} : { drainTimeout }),
  });
  elections.push(election);
  return election;
}

describe('drain on etcd', () => {
  it('cut off from etcd while draining, stop() ends the drain at the step-down deadline, not after drainTimeout', async () => {
    const cluster = uniqueCluster('drain-cutoff');
    const proxy = await TcpProxy.start(etcd.endpoints[0] as string);
    proxies.push(proxy);
    const leader = node('a', cluster, [proxy.url], 120_000);
    await leader.start();
    const { term } = await within(leader.waitForLeadership());
    const successor = node('b', cluster, etcd.endpoints);
    await successor.start();
    const drains: DrainEvent[] = [];
    leader.telemetry.onDrain((event) => drains.push(event));
    const release = Promise.withResolvers<void>();
    const workStarted = Promise.withResolvers<void>();
    const work = leader.runWhileLeader(async () => {
      workStarted.resolve();
      await release.promise; // ignores its signal: only the deadline can end the drain
    });
    await within(workStarted.promise);

    const stopping = leader.stop();
    proxy.cut();
    // drainTimeout is two minutes: returning within seconds means the deadline ended the drain.
    await within(stopping, 20_000, 'stop() to give up the drain at the step-down deadline');
    expect(drains).toEqual([{ term, outcome: 'deadline', pending: 1, waitedMs: expect.any(Number) }]);
    await within(successor.waitForLeadership(), 15_000, 'the successor, once the lease expired');
    release.resolve();
    await work;
  }, 40_000);
});
