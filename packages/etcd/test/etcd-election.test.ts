import { isLeadershipLostError } from '@ztap/cluster';
import { flushAsyncWork, ManualClock } from '@ztap/cluster-testing';
import { Recorder } from '@ztap/testkit';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EtcdElection } from '../src/etcd-election.ts';
import { FakeEtcd } from './fake-etcd.ts';

const elections: EtcdElection[] = [];
afterEach(async () => {
  await Promise.all(elections.splice(0).map((election) => election.stop()));
});

function election(
  etcd: FakeEtcd,
  nodeId: string,
  clock: ManualClock,
  extra: { initialLeadership?: number } = {},
) {
  const created = new EtcdElection({
    nodeId,
    nodeAddress: '127.0.0.1:9090',
    client: etcd.client,
    prefix: '/c/',
    heartbeatInterval: 1000,
    electionTimeout: 5000,
    requestTimeout: 100,
    initialLeadership: extra.initialLeadership ?? 0,
    clock,
  });
  elections.push(created);
  return created;
}

const text = (value: unknown) => String(value);

/** Two started elections on one fake etcd and clock: a candidate, and `b` that may not lead for an hour. */
async function pair(a: string, b: string) {
  const etcd = new FakeEtcd();
  const clock = new ManualClock();
  const candidate = election(etcd, a, clock);
  const follower = election(etcd, b, clock, { initialLeadership: 3_600_000 });
  await candidate.start();
  await follower.start();
  return { etcd, clock, candidate, follower };
}

describe('EtcdElection on a fake etcd', () => {
  it('joins with a lease grant and one transaction that writes its member record and its campaign key', async () => {
    const etcd = new FakeEtcd();
    const node = election(etcd, 'n1', new ManualClock());
    await node.start();
    expect(etcd.calls.filter((call) => call !== 'range')).toEqual(['leaseGrant', 'txn']);
    const [join] = etcd.txns;
    expect(
      join?.compare?.map((compare) => [
        text(compare.key),
        compare.target,
        compare.create_revision ?? compare.mod_revision,
      ]),
    ).toEqual([
      ['/c/members/n1', 'Mod', '0'],
      [node.campaignKey, 'Create', '0'],
    ]);
    expect(join?.success?.map((op) => text(op.request_put?.key))).toEqual([
      '/c/members/n1',
      node.campaignKey,
    ]);
    expect(etcd.get(node.campaignKey as string)).toMatchObject({ value: 'n1', lease: node.leaseId });
    expect(node.isLeader()).toBe(true);
    expect(node.getLeader()?.id).toBe('n1');
  });

  it('a node that may not lead yet joins with its record only, and campaigns once it may', async () => {
    const etcd = new FakeEtcd();
    const clock = new ManualClock();
    const node = election(etcd, 'n1', clock, { initialLeadership: 3000 });
    await node.start();
    expect(etcd.txns.map((txn) => txn.success?.length)).toEqual([1]);
    expect(node.isLeader()).toBe(false);
    await clock.advance(3000);
    expect(etcd.get(node.campaignKey as string)?.value).toBe('n1');
    expect(node.isLeader()).toBe(true);
  });

  it('stop() abandons a write that etcd does not answer instead of sitting through its retries, then revokes', async () => {
    const etcd = new FakeEtcd();
    const node = election(etcd, 'n1', new ManualClock());
    await node.start();
    etcd.hanging.add('txn');
    const resigning = node.resign(); // the withdrawal of its campaign key gets stuck, and would be retried
    await flushAsyncWork();
    expect(etcd.calls.filter((call) => call === 'txn')).toHaveLength(2);
    await node.stop();
    await resigning;
    expect(etcd.calls.filter((call) => call === 'txn')).toHaveLength(2); // the join, one withdrawal attempt
    expect(etcd.calls.at(-1)).toBe('leaseRevoke');
    expect(etcd.leases).toEqual([]);
  });

  it('stop() gives the revoke one request timeout, not a round of retries (the lease then expires by itself)', async () => {
    const etcd = new FakeEtcd();
    const node = election(etcd, 'n1', new ManualClock());
    await node.start();
    etcd.hanging.add('txn');
    etcd.hanging.add('leaseRevoke');
    void node.resign();
    await node.stop();
    expect(etcd.calls.filter((call) => call === 'leaseRevoke')).toHaveLength(1);
    expect(node.isLeader()).toBe(false);
  });

  it('a resign() while its campaign write is still unanswered is not forgotten: the node re-queues and leads again', async () => {
    const etcd = new FakeEtcd();
    const clock = new ManualClock();
    const node = election(etcd, 'n1', clock);
    await node.start();
    const first = node.term as number;
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => {
      answer = resolve;
    });
    // Hold the answer of the next campaign (a key created): etcd commits it and the watch reports it first.
    etcd.holdAnswer = (txn) =>
      txn.compare?.some((compare) => compare.target === 'Create') ? answered : undefined;
    etcd.deliverLater = true;
    await node.resign(); // withdraws; the re-campaign goes out and is committed, its answer held
    const second = await clock.settle(node.waitForLeadership());
    expect(second.term).toBeGreaterThan(first);
    etcd.holdAnswer = undefined;
    const resigned = node.resign(); // while that campaign's answer is still on its way
    answer();
    await clock.settle(resigned);
    const third = await clock.settle(node.waitForLeadership());
    expect(third.term).toBeGreaterThan(second.term);
  });

  it('a lease etcd no longer knows is a typed loss: the node grants a new lease and joins again', async () => {
    const { etcd, clock, candidate: node, follower: watcher } = await pair('n1', 'watcher');
    const signal = node.leadershipSignal;
    const lost = node.leaseId as string;
    etcd.expireLease(lost);
    await clock.advance(1000); // the next keepalive hears TTL 0
    expect(isLeadershipLostError(signal.reason) && signal.reason.reason).toBe('lease_lost');
    await clock.settle(new Recorder(watcher.leaderChanges()).until((leaders) => leaders.at(-1)?.id === 'n1'));
    expect(node.leaseId).not.toBe(lost);
    expect(node.isLeader()).toBe(true);
  });

  it('after a lost lease, waits a jittered pause that grows with the cluster before granting again', async () => {
    const etcd = new FakeEtcd();
    const clock = new ManualClock();
    // A big cluster: 2,000 other members (their records, as a fleet's would be).
    for (let index = 0; index < 2000; index++) etcd.put(`/c/members/m${index}`, '{}');
    const node = election(etcd, 'n1', clock);
    await node.start();
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.5);
    try {
      const grants = () => etcd.calls.filter((call) => call === 'leaseGrant').length;
      expect(grants()).toBe(1);
      let lostAt: number | undefined;
      node.telemetry.onLeadership((event) => {
        if (!event.leading && event.reason === 'lease_lost') lostAt ??= clock.monotonicNow();
      });
      etcd.expireLease(node.leaseId as string);
      while (grants() === 1 && clock.monotonicNow() < 10_000) await clock.advance(1);
      const pausedMs = clock.monotonicNow() - (lostAt as number);
      // 2,002 keys: a window of 4,004 ms (under the TTL of 5 s), half of it with this random; the
      // pause begins at the loss or at the next heartbeat's reconcile (1 s) at the latest.
      expect(pausedMs).toBeGreaterThanOrEqual(2002);
      expect(pausedMs).toBeLessThanOrEqual(3100);
      await clock.settle(new Recorder(node.leaderChanges()).until((leaders) => leaders.at(-1)?.id === 'n1'));
    } finally {
      random.mockRestore();
    }
  });

  it('elections on one client share one watch and one decoded view: the same change objects reach both', async () => {
    const { etcd, clock, candidate: a, follower: b } = await pair('a', 'b');
    const seenByA = new Recorder(a.watch());
    const seenByB = new Recorder(b.watch());
    await a.registerNode({ id: 'op', address: '127.0.0.1:1' });
    const [fromA] = await clock.settle(seenByA.until((changes) => changes.length > 0));
    const [fromB] = await clock.settle(seenByB.until((changes) => changes.length > 0));
    expect(fromA).toMatchObject({ type: 'node_joined', node: { id: 'op' } });
    expect(fromB).toBe(fromA);
    expect(b.getNode('op')).toBe(a.getNode('op'));
    expect(etcd.watchers).toHaveLength(1);
  });

  it('never shows itself as leader once it stepped down, even while the shared view still does', async () => {
    const { etcd, candidate: a, follower: b } = await pair('a', 'b');
    const changes = new Recorder(a.watch());
    etcd.hanging.add('txn'); // the withdrawal does not reach etcd: every view but a's still shows a
    void a.resign();
    await flushAsyncWork();
    expect(a.getLeader()).toBeUndefined();
    expect(a.getNode('a')?.role).toBe('follower');
    expect(b.getLeader()?.id).toBe('a');
    expect(changes.items.map((change) => `${change.type}:${change.node.id}`)).toEqual(['leader_lost:a']);
  });
});
