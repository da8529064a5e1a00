/**
 * One node id, one node, on a real etcd: what the conformance suite cannot see from the outside —
 * that a refused node leaves no lease behind, that a restart really waited for its predecessor's
 * lease, and that a running node never fights another live lease over its member record.
 */
import {
  isElectionStoppedError,
  isLeadershipLostError,
  isNodeIdInUseError,
  type Liveness,
  NodeIdInUseError,
} from '@ztap/cluster';
import { EtcdElection, type EtcdElectionOptions } from '@ztap/cluster-etcd';
import { waitUntilLeads } from '@ztap/cluster-testing';
import { Recorder } from '@ztap/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import {
  memberRecord,
  plantCrashedNode,
  TEST_TTL_SECONDS,
  testNodeOptions,
  uniqueCluster,
  useEtcd,
  within,
} from '../support/etcd.ts';

const etcd = useEtcd();
const elections: EtcdElection[] = [];

afterEach(async () => {
  await Promise.all(elections.splice(0).map((election) => election.stop()));
});

function node(nodeId: string, cluster: string, options: Partial<EtcdElectionOptions> = {}): EtcdElection {
  const election = new EtcdElection({ ...testNodeOptions(etcd, nodeId, cluster), ...options });
  elections.push(election);
  return election;
}

const leaseIds = async () =>
  new Set((await etcd.client.leaseClient.leaseLeases()).leases.map((lease) => String(lease.ID)));

const recordOf = async (election: EtcdElection, nodeId: string) => {
  const response = await etcd.client.kv.range({ key: Buffer.from(`${election.prefix}members/${nodeId}`) });
  const kv = response.kvs[0];
  return kv
    ? { lease: String(kv.lease), record: JSON.parse(kv.value.toString()) as { address: string } }
    : undefined;
};

/** Resolves once `election` can vouch for its membership again. */
function eventuallyLive(election: EtcdElection): Promise<void> {
  if (election.liveness.ok) return Promise.resolve();
  return new Promise((resolve) => {
    const subscription = election.telemetry.onLiveness((liveness) => {
      if (!liveness.ok) return;
      subscription.dispose();
      resolve();
    });
  });
}

/** Resolves after `count` more heartbeats (keepalive round trips) of `election`. */
function heartbeatsOf(election: EtcdElection, count: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const subscription = election.telemetry.onHeartbeat(() => {
      if (++seen < count) return;
      subscription.dispose();
      resolve();
    });
  });
}

describe('one node id, one node (etcd)', () => {
  it('a refused duplicate grants no lease and writes nothing', async () => {
    const cluster = uniqueCluster('id-no-trace');
    const first = node('node-1', cluster, { nodeAddress: '10.0.0.7:9090' });
    await first.start();
    const before = await leaseIds();
    const revision = Number((await etcd.client.kv.range({ key: Buffer.from('/') })).header.revision);
    const duplicate = node('node-1', cluster, { nodeAddress: '10.0.0.8:9090' });
    const startedAt = performance.now();
    const error = await duplicate.start().catch((caught: unknown) => caught);
    const refusedMs = Math.round(performance.now() - startedAt);
    expect(error).toBeInstanceOf(NodeIdInUseError);
    expect(error).toMatchObject({ holder: { address: '10.0.0.7:9090', leaseId: first.leaseId } });
    expect([...(await leaseIds())].filter((id) => !before.has(id))).toEqual([]);
    const after = Number((await etcd.client.kv.range({ key: Buffer.from('/') })).header.revision);
    expect(after).toBe(revision);
    console.info(`[node-identity] duplicate refused after ${refusedMs} ms (heartbeat 200 ms, TTL 2 s)`);
    expect(await recordOf(first, 'node-1')).toMatchObject({
      lease: first.leaseId,
      record: { address: '10.0.0.7:9090' },
    });
  });

  it('with the default timings (heartbeat 1 s, TTL 5 s) a duplicate is refused in about a second or two', async () => {
    const cluster = uniqueCluster('id-defaults');
    const defaults = { heartbeatInterval: 1000, electionTimeout: 5000 };
    await node('node-1', cluster, defaults).start();
    const startedAt = performance.now();
    const error = await node('node-1', cluster, defaults)
      .start()
      .catch((caught: unknown) => caught);
    const refusedMs = Math.round(performance.now() - startedAt);
    expect(isNodeIdInUseError(error)).toBe(true);
    console.info(`[node-identity] duplicate refused after ${refusedMs} ms (heartbeat 1 s, TTL 5 s)`);
  });

  it('a restarted node starts only after its crashed predecessor’s lease is gone', async () => {
    const cluster = uniqueCluster('id-restart');
    const reborn = node('node-1', cluster, { nodeAddress: '10.0.0.9:9090' });
    const oldLease = await plantCrashedNode(etcd.client, reborn.prefix, 'node-1', '10.0.0.7:9090');
    const startedAt = performance.now();
    await reborn.start();
    const waitedMs = Math.round(performance.now() - startedAt);
    const old = await etcd.client.leaseClient.leaseTimeToLive({ ID: oldLease });
    expect(Number(old.TTL)).toBe(-1);
    expect(await recordOf(reborn, 'node-1')).toMatchObject({
      lease: reborn.leaseId,
      record: { address: '10.0.0.9:9090' },
    });
    await waitUntilLeads(reborn);
    console.info(
      `[node-identity] restart waited ${waitedMs} ms for the predecessor's lease (TTL ${TEST_TTL_SECONDS} s)`,
    );
  });

  it.each(['stop()', 'the start signal'])(
    '%s during the wait for a crashed predecessor rejects start(), and the node never claims the id later',
    async (how) => {
      const cluster = uniqueCluster('id-end-wait');
      const observer = node('observer', cluster);
      await observer.start();
      const seen = new Recorder(observer.watch());
      const reborn = node('node-1', cluster, { nodeAddress: '10.0.0.9:9090' });
      await plantCrashedNode(etcd.client, reborn.prefix, 'node-1', '10.0.0.7:9090');
      const controller = new AbortController();
      const ownView = new Recorder(reborn.watch());
      const starting = reborn.start({ signal: controller.signal });
      // It shows the cluster before it waits for its id: from here on it is waiting.
      await within(ownView.first((change) => change.type === 'node_joined' && change.node.id === 'node-1'));
      if (how === 'stop()') {
        await reborn.stop();
        await expect(starting).rejects.toSatisfy(isElectionStoppedError);
      } else {
        controller.abort(new Error('gave up'));
        await expect(starting).rejects.toThrow('gave up');
      }
      await within(seen.first((change) => change.type === 'node_left' && change.node.id === 'node-1'));
      // Anything the node wrote after that would precede this marker in the observer's stream.
      await observer.registerNode({ id: 'marker', address: '127.0.0.1:1' });
      const changes = await within(
        seen.first((change) => change.node.id === 'marker').then(() => seen.items),
      );
      expect(changes.filter((change) => change.node.id === 'node-1').map((change) => change.type)).toEqual([
        'node_joined',
        'node_left',
      ]);
    },
  );

  it('a running node whose record another live lease took says so in its liveness, stops leading and never overwrites it; it claims the record back once free', async () => {
    const cluster = uniqueCluster('id-taken');
    const first = node('node-1', cluster, { nodeAddress: '10.0.0.7:9090' });
    await first.start();
    await waitUntilLeads(first);
    const signal = first.leadershipSignal;
    const standingAside =
      /^node id "node-1" is in use by a running node at 10\.0\.0\.8:9090 \(since [\dT:-]+Z\): this node stands aside until the id is free$/;
    const reports: Liveness[] = [];
    const firstReport = new Promise<Liveness>((resolve) => {
      first.telemetry.onLiveness((liveness) => {
        reports.push(liveness);
        if (standingAside.test(liveness.reason ?? '')) resolve(liveness);
      });
    });
    // Another process with the same id takes the record onto its own lease, which it keeps alive.
    const usurper = etcd.client.lease(TEST_TTL_SECONDS, { autoKeepAlive: true });
    const usurperLease = await usurper.grant();
    const record = memberRecord({ address: '10.0.0.8:9090', joinedAt: new Date().toISOString() });
    await usurper.put(`${first.prefix}members/node-1`).value(record);

    await within(firstReport, 10_000, 'the conflict in its liveness');
    expect(isLeadershipLostError(signal.reason) && signal.reason.reason).toBe('lease_lost');
    expect(first.isLeader()).toBe(false);
    // Several heartbeats (each one a reconcile) later, the record is still the usurper's.
    await within(heartbeatsOf(first, 5), 10_000, 'five heartbeats');
    expect(await recordOf(first, 'node-1')).toMatchObject({
      lease: usurperLease,
      record: { address: '10.0.0.8:9090' },
    });
    const campaigns = await etcd.client.getAll().prefix(`${first.prefix}election/`).strings();
    expect(Object.values(campaigns)).not.toContain('node-1');
    expect(first.liveness.reason).toMatch(standingAside);
    expect(reports.filter((report) => standingAside.test(report.reason ?? ''))).toHaveLength(1);

    await usurper.revoke();
    await waitUntilLeads(first);
    expect(await recordOf(first, 'node-1')).toMatchObject({
      lease: first.leaseId,
      record: { address: '10.0.0.7:9090' },
    });
    await within(eventuallyLive(first), 10_000, 'liveness ok again');
  });
});
