/**
 * The safety rules of DESIGN.md §4, each proved against a real etcd: predecessor re-check, step-down
 * before lease expiry (which also ends a drain of leader work), fencing, and the operator and failure
 * cases around them.
 */
import { isLeadershipLostError, type Node } from '@ztap/cluster';
import {
  createEtcdClient,
  type EtcdElection,
  type EtcdElectionOptions,
  isEtcdUnavailableError,
} from '@ztap/cluster-etcd';
import { waitUntilLeads } from '@ztap/cluster-testing';
import { Recorder } from '@ztap/testkit';
import { describe, expect, it } from 'vitest';
import { eventually, uniqueCluster, useEtcd, within } from '../support/etcd.ts';
import { etcdctl, observeElection } from '../support/etcdctl.ts';
import { describeLeaderSafety, observerCaughtUp, safetyFixture } from './leader-safety.ts';

const etcd = useEtcd();
const { node } = safetyFixture(etcd);
describeLeaderSafety(etcd, 'direct');
const campaignKeysOf = async (election: EtcdElection) =>
  (await etcd.client.getAll().prefix(`${election.prefix}election/`).strings()) as Record<string, string>;

/** `a` leads a new cluster and `b` is a started follower behind it. */
async function leaderAndFollower(label: string, options: Partial<EtcdElectionOptions> = {}) {
  const cluster = uniqueCluster(label);
  const a = node('a', cluster, options);
  await a.start();
  await waitUntilLeads(a);
  const b = node('b', cluster);
  await b.start();
  return { a, b, cluster };
}

describe('campaign', () => {
  it('a candidate that stops or aborts while waiting is never elected later', async () => {
    const { a, b, cluster } = await leaderAndFollower('abandon');
    const d = node('d', cluster);
    const controller = new AbortController();
    const starting = d.start({ signal: controller.signal });
    controller.abort(new Error('cancelled'));
    await expect(starting).rejects.toThrow('cancelled');
    await b.stop();

    const observer = node('observer', cluster, { healthCheck: () => false });
    await observer.start();
    const leaders = new Recorder<Node | undefined>(observer.leaderChanges());
    await within(leaders.until((all) => all.at(-1)?.id === 'a'));
    await a.stop();
    await within(leaders.until((all) => all.at(-1) === undefined, 'no leader'));
    expect(leaders.items.map((leader) => leader?.id)).not.toContain('b');
    expect(leaders.items.map((leader) => leader?.id)).not.toContain('d');
    expect(b.isLeader() || d.isLeader()).toBe(false);
    await eventually(
      async () => Object.keys(await campaignKeysOf(observer)).length === 0,
      10_000,
      'no campaign keys',
    );
  });

  it("deleting a waiting candidate's predecessor does not elect it while an earlier candidate leads", async () => {
    const cluster = uniqueCluster('predecessor');
    const [a, b, c] = [node('a', cluster), node('b', cluster), node('c', cluster)];
    for (const candidate of [a, b, c]) await candidate.start(); // in order: a < b < c in create revision
    await waitUntilLeads(a);
    const bKey = b.campaignKey as string;
    await etcd.client.delete().key(bKey);
    await observerCaughtUp(a, c, 'marker-after-delete');
    expect(c.isLeader()).toBe(false);
    expect(a.isLeader()).toBe(true);
    expect(c.getLeader()?.id).toBe('a');
    // b noticed its key was gone and queued again, now behind c.
    await eventually(
      async () => Object.values(await campaignKeysOf(a)).includes('b'),
      10_000,
      'b to campaign again',
    );
    const order = Object.entries(await campaignKeysOf(a));
    expect(order.map(([, id]) => id).sort()).toEqual(['a', 'b', 'c']);
    expect([a, b, c].filter((candidate) => candidate.isLeader())).toEqual([a]);
  });

  it('200 candidates, leaders resigning in a loop: never two leaders, and the work per handover does not grow with N', async () => {
    const measure = async (count: number) => {
      const client = createEtcdClient({ endpoints: etcd.endpoints, requestTimeout: 2000 });
      const cluster = uniqueCluster(`herd${count}`);
      const candidates = Array.from({ length: count }, (_, index) =>
        node(`n${String(index).padStart(3, '0')}`, cluster, { client, heartbeatInterval: 500 }),
      );
      let overlaps = 0;
      for (const candidate of candidates) {
        void (async () => {
          for (;;) {
            const leadership = await candidate.waitForLeadership();
            if (candidates.some((other) => other !== candidate && other.isLeader())) overlaps++;
            await new Promise((resolve) =>
              leadership.signal.addEventListener('abort', resolve, { once: true }),
            );
          }
        })().catch(() => {});
      }
      await Promise.all(candidates.map((candidate) => candidate.start()));
      const rounds = 15;
      let leader = await within(Promise.any(candidates.map((c) => c.waitForLeadership().then(() => c))));
      const requestsBefore = candidates.reduce((sum, c) => sum + c.requestCount, 0);
      for (let round = 0; round < rounds; round++) {
        const previous = leader;
        await previous.resign();
        leader = await within(
          Promise.any(
            candidates.filter((c) => c !== previous).map((c) => c.waitForLeadership().then(() => c)),
          ),
        );
        expect(candidates.filter((c) => c.isLeader())).toEqual([leader]);
      }
      const perHandover = (candidates.reduce((sum, c) => sum + c.requestCount, 0) - requestsBefore) / rounds;
      await Promise.all(candidates.map((candidate) => candidate.stop()));
      client.close();
      return { overlaps, perHandover };
    };
    const small = await measure(10);
    const large = await measure(200);
    console.info(`[herd] requests per handover: N=10 ${small.perHandover}, N=200 ${large.perHandover}`);
    expect(small.overlaps + large.overlaps).toBe(0);
    // A handover costs the resigner a delete and a re-campaign, whatever N is (slack for a progress check).
    expect(large.perHandover).toBeLessThanOrEqual(small.perHandover + 0.5);
  }, 120_000);
});

describe('operators', () => {
  it("revoking the leader's lease with etcdctl: it steps down at once and campaigns again", async () => {
    const { a, b } = await leaderAndFollower('revoke');
    const signal = a.leadershipSignal;
    const oldLease = a.leaseId as string;
    await etcdctl(etcd.endpoints, 'lease', 'revoke', BigInt(oldLease).toString(16));
    await waitUntilLeads(b);
    expect(isLeadershipLostError(signal.reason) && signal.reason.reason).toBe('lease_lost');
    await eventually(() => a.leaseId !== undefined && a.leaseId !== oldLease, 10_000, 'a new lease');
    await eventually(
      async () => Object.values(await campaignKeysOf(a)).includes('a'),
      10_000,
      'a to campaign again',
    );
    await eventually(() => b.getNode('a')?.state === 'healthy', 10_000, 'b to see a again');
  });

  it("deleting the leader's campaign key with etcdctl: it steps down at once and campaigns again", async () => {
    const { a, b } = await leaderAndFollower('delete-key');
    const signal = a.leadershipSignal;
    await etcdctl(etcd.endpoints, 'del', a.campaignKey as string);
    await waitUntilLeads(b);
    expect(isLeadershipLostError(signal.reason) && signal.reason.reason).toBe('lease_lost');
    await eventually(
      async () => Object.values(await campaignKeysOf(a)).includes('a'),
      10_000,
      'a to campaign again',
    );
    expect(a.isLeader()).toBe(false);
  });

  it('etcdctl elect -l shows our leader (the Go concurrency layout)', async () => {
    const cluster = uniqueCluster('etcdctl');
    const a = node('a', cluster);
    const b = node('b', cluster);
    await a.start();
    await b.start();
    const leader = await within(Promise.any([a, b].map((n) => n.waitForLeadership().then(() => n))));
    const [key, value] = await observeElection(etcd.endpoints, `${leader.prefix}election`);
    expect(value).toBe(leader.nodeId);
    expect(key).toBe(leader.campaignKey);
    expect(key).toBe(`${leader.prefix}election/${BigInt(leader.leaseId as string).toString(16)}`);
  });
});

describe('errors', () => {
  it('an unreachable endpoint fails start() fast with an error that names it', async () => {
    const lonely = node('a', uniqueCluster('unreachable'), {
      endpoints: ['http://127.0.0.1:1'],
      requestTimeout: 500,
      maxRetries: 1,
    });
    const startedAt = performance.now();
    const error = await lonely.start().catch((caught: unknown) => caught);
    expect(isEtcdUnavailableError(error)).toBe(true);
    expect((error as Error).message).toContain('http://127.0.0.1:1');
    expect((error as Error).message).toContain('is etcd running');
    console.info(
      `[errors] unreachable endpoint reported after ${(performance.now() - startedAt).toFixed(0)} ms`,
    );
  });
});
