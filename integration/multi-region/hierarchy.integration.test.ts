/**
 * Regional leaders and one global leader on a loopback WAN (three regional etcds, a global etcd
 * with a member per region, 30-80 ms apart): who may lead globally, how it ends, and the home
 * region's hand-back.
 */
import { isFencedWriteError, isNotLeaderError, type LeadershipLostError } from '@ztap/cluster';
import type { MultiRegionNode } from '@ztap/cluster-multi-region';
import { describe, expect, it } from 'vitest';
import { eventually } from '../support/etcd.ts';
import {
  GlobalLeadershipLog,
  globalLeaderAmong,
  globalOperator,
  uniqueCluster,
  useRegionNodes,
  useWanTopology,
} from '../support/multi-region.ts';

const shared = useWanTopology();
const { start: startNodes } = useRegionNodes(shared);

describe('multi-region: one global leader among the regional leaders', () => {
  it('elects one global leader, which leads its region; every node learns which region leads', async () => {
    const cluster = uniqueCluster('global');
    const nodes = await startNodes(cluster, {
      eu: ['eu-1', 'eu-2'],
      us: ['us-1', 'us-2'],
      ap: ['ap-1', 'ap-2'],
    });
    const leader = await globalLeaderAmong(nodes);
    expect(leader.regional.isLeader()).toBe(true);
    expect(nodes.filter((node) => node.isGlobalLeader())).toEqual([leader]);
    const expected = {
      node: `${leader.nodeId}@${leader.region}`,
      region: leader.region,
      term: leader.globalTerm,
    };
    // Followers learn it from their own region's store, once their regional leader confirmed it there.
    await eventually(
      () => nodes.every((node) => JSON.stringify(node.globalLeader) === JSON.stringify(expected)),
      20_000,
      'every node to know the global leader',
    );
  });

  it('takes global writes only from the global leader, fenced by the global term', async () => {
    const cluster = uniqueCluster('writes');
    const nodes = await startNodes(cluster, { eu: ['eu-1', 'eu-2'], us: ['us-1'] });
    const leader = await globalLeaderAmong(nodes);
    const term = leader.globalTerm as number;
    const written = await leader.globalPolicies.syncPolicy('web', 'allow: [443]\n');
    for (const other of nodes.filter((node) => node !== leader)) {
      const refused = await other.globalPolicies
        .syncPolicy('web', 'allow: [80]\n')
        .catch((error: unknown) => error);
      expect(isNotLeaderError(refused), String(refused)).toBe(true);
    }
    await expect(leader.globalGuardedTxn({ term: term - 1 })).rejects.toSatisfy(isFencedWriteError);
    await using operator = globalOperator(shared.topology.region('us'), cluster);
    expect((await operator.policies.get('web'))?.version).toBe(written.version);
  });

  it('withdraws globally the moment it loses its region: locally first, then in etcd, then another region leads', async () => {
    const cluster = uniqueCluster('withdraw');
    const log = new GlobalLeadershipLog();
    const nodes = await startNodes(cluster, { eu: ['eu-1'], us: ['us-1'], ap: ['ap-1'] });
    for (const node of nodes) log.follow(node);
    const leader = await globalLeaderAmong(nodes);
    const globalSignal = leader.globalLeadershipSignal;
    // What anyone sees at the very instant the regional leadership ends.
    let seenAtRegionalLoss: { globalSignalAborted: boolean; isGlobalLeader: boolean } | undefined;
    leader.regional.leadershipSignal.addEventListener('abort', () => {
      seenAtRegionalLoss = {
        globalSignalAborted: globalSignal.aborted,
        isGlobalLeader: leader.isGlobalLeader(),
      };
    });
    const others = nodes.filter((node) => node !== leader);
    const successor = globalLeaderAmong(others);
    await leader.regional.resign();
    expect(seenAtRegionalLoss).toEqual({ globalSignalAborted: true, isGlobalLeader: false });
    expect((globalSignal.reason as LeadershipLostError).reason).toBe('resigned');
    const next = await successor;
    expect(next.region).not.toBe(leader.region);
    expect(log.overlaps()).toEqual([]);
  });

  it('hands back to the home region once its leader is healthy there, never two global leaders at once', async () => {
    const cluster = uniqueCluster('home');
    const log = new GlobalLeadershipLog();
    const overrides = { homeRegion: 'us', handBackDelay: 500 };
    const away = await startNodes(cluster, { eu: ['eu-1'], ap: ['ap-1'] }, overrides);
    for (const node of away) log.follow(node);
    const first = await globalLeaderAmong(away);
    expect(first.region).not.toBe('us');
    const [home] = await startNodes(cluster, { us: ['us-1'] }, overrides);
    log.follow(home as MultiRegionNode);
    await home?.waitForGlobalLeadership();
    expect(first.isGlobalLeader()).toBe(false);
    expect(log.overlaps()).toEqual([]);
    // Away from home, leadership passed through at most the regions queued before it.
    expect(log.intervals.length).toBeLessThanOrEqual(3);
  });

  it('a global leader whose regional etcd dies steps down on its regional deadline, then another region leads', async () => {
    const cluster = uniqueCluster('regional-etcd');
    const log = new GlobalLeadershipLog();
    const nodes = await startNodes(cluster, { eu: ['eu-1'], us: ['us-1'], ap: ['ap-1'] });
    for (const node of nodes) log.follow(node);
    const leader = await globalLeaderAmong(nodes);
    const regionalEtcd = shared.topology.region(leader.region).etcd;
    const others = nodes.filter((node) => node !== leader);
    const successor = globalLeaderAmong(others);
    const lost = new Promise<bigint>((resolve) =>
      leader.globalLeadershipSignal.addEventListener('abort', () => resolve(process.hrtime.bigint())),
    );
    const member = regionalEtcd.members[0];
    if (!member) throw new Error('the regional etcd has no member');
    await member.kill('SIGKILL');
    try {
      const lostAt = await lost;
      const next = await successor;
      const nextInterval = log.intervals.find((interval) => interval.node === next.nodeId);
      expect(nextInterval && nextInterval.from > lostAt).toBe(true);
      expect(log.overlaps()).toEqual([]);
    } finally {
      await member.restart();
    }
  });
});
