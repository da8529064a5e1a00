/**
 * Faults of regions and etcds on the loopback WAN (three regional etcds, a global etcd with a member
 * in each region, 30-80 ms apart), two node processes per region. Every trial checks: at most one
 * global leader at any instant, no stale global or regional fenced write accepted, every region's
 * final policies equal the global store's. See docs/multi-region.md and docs/reliability.md.
 */
import { describe, it } from 'vitest';
import { GLOBAL_TTL_MS, useWanTopology } from '../support/multi-region.ts';
import { msBetween, nowNs, TRIALS } from './harness.ts';
import { compactGlobal, type RegionTrial, runRegionTrials } from './multi-region-harness.ts';

const shared = useWanTopology();

function scenario(name: string, trial: (trial: RegionTrial) => Promise<void>, perTrialMs = 90_000) {
  it(
    name,
    async () => {
      await runRegionTrials(shared.topology, `mr-${name.split(' ').slice(0, 2).join('-')}`, TRIALS, trial);
    },
    TRIALS * perTrialMs + 30_000,
  );
}

/** Two nodes per region, a global leader, and its first accepted global write. */
async function steady(trial: RegionTrial) {
  await trial.everywhere();
  const leader = await trial.globalLeader();
  await trial.globalWrite(0n);
  return leader;
}

describe('chaos: multi-region', () => {
  scenario("the global leader's region cut off", async (trial) => {
    const { node: leader } = await steady(trial);
    const cutAt = nowNs();
    shared.topology.isolate(leader.region);
    try {
      const lost = await trial.next(leader, 'global-lost', cutAt, 4 * GLOBAL_TTL_MS);
      const elsewhere = trial.nodes.filter((node) => node.region !== leader.region);
      const successor = await trial.globalLeader(cutAt, elsewhere);
      await trial.globalWrite(BigInt(successor.event.at));
      shared.topology.rejoin(leader.region);
      await trial.finish("global leader's region cut off", {
        stepDownMs: msBetween(cutAt, lost.at),
        failoverMs: msBetween(cutAt, successor.event.at),
        gapMs: msBetween(lost.at, successor.event.at),
        lossReason: lost.reason ?? 'unknown',
      });
    } finally {
      shared.topology.rejoin(leader.region);
    }
  });

  scenario("the global leader's regional etcd killed", async (trial) => {
    const { node: leader } = await steady(trial);
    const member = shared.topology.region(leader.region).etcd.members[0];
    if (!member) throw new Error('the regional etcd has no member');
    const killedAt = nowNs();
    await member.kill('SIGKILL');
    try {
      const lost = await trial.next(leader, 'global-lost', killedAt, 4 * GLOBAL_TTL_MS);
      const elsewhere = trial.nodes.filter((node) => node.region !== leader.region);
      const successor = await trial.globalLeader(killedAt, elsewhere);
      await trial.globalWrite(BigInt(successor.event.at));
      await member.restart();
      await trial.finish("global leader's regional etcd killed", {
        stepDownMs: msBetween(killedAt, lost.at),
        failoverMs: msBetween(killedAt, successor.event.at),
        lossReason: lost.reason ?? 'unknown',
      });
    } finally {
      if (!member.running) await member.restart();
    }
  });

  scenario('the global etcd losing quorum', async (trial) => {
    const { node: leader } = await steady(trial);
    // Two of three members frozen: no keepalive, read or write succeeds anywhere.
    const frozen = shared.topology.global.members.slice(0, 2);
    const frozenAt = nowNs();
    for (const member of frozen) member.pause();
    try {
      const lost = await trial.next(leader, 'global-lost', frozenAt, 4 * GLOBAL_TTL_MS);
      const resumedAt = nowNs();
      for (const member of frozen) member.resume();
      const next = await trial.globalLeader(resumedAt);
      const write = await trial.globalWrite(BigInt(next.event.at));
      await trial.finish('global etcd quorum loss', {
        stepDownMs: msBetween(frozenAt, lost.at),
        recoveryMs: msBetween(resumedAt, write.at),
        lossReason: lost.reason ?? 'unknown',
      });
    } finally {
      for (const member of frozen) if (member.paused) member.resume();
    }
  });

  scenario('a region returning after missed updates and a compaction', async (trial) => {
    const { node: leader } = await steady(trial);
    const away = shared.topology.regions.find((region) => region.name !== leader.region);
    if (!away) throw new Error('no other region');
    const home = shared.topology.region(leader.region);
    // The region goes: cut off, and its member of the global etcd down (so its watches break).
    const cutAt = nowNs();
    shared.topology.isolate(away.name);
    await away.globalMember.kill('SIGKILL');
    try {
      // Global leaders change policies for a while (the one before the cut, or its successor if the
      // lost member led the global etcd's raft); that history is compacted away.
      await trial.policyWrites(cutAt, 12);
      await compactGlobal(home.globalEndpoint);
      const returnedAt = nowNs();
      shared.topology.rejoin(away.name);
      await away.globalMember.restart();
      await trial.finish('region returning after a compaction', () => ({
        awayMs: msBetween(cutAt, returnedAt),
        awayResyncs:
          trial.nodes
            .filter((node) => node.region === away.name)
            .flatMap((node) =>
              node.process.events.items.filter(
                (e) => e.event === 'replica-resync' && BigInt(e.at) > returnedAt,
              ),
            )
            .map((e) => e.reason)
            .join('+') || 'none',
      }));
    } finally {
      shared.topology.rejoin(away.name);
      if (!away.globalMember.running) await away.globalMember.restart();
    }
  });
});
