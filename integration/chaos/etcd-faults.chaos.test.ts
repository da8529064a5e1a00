/**
 * Faults of etcd itself, on a three-member cluster: a member (the raft leader) killed and restarted,
 * quorum lost and recovered, and compaction while a watcher lags. See docs/reliability.md.
 */
import { describe } from 'vitest';
import { within } from '../support/etcd.ts';
import { msBetween, nowNs, scenariosOn, type Trial, useEtcdCluster } from './harness.ts';

const etcd = useEtcdCluster();
const scenario = scenariosOn(etcd);

async function threeNodes(trial: Trial) {
  for (const id of ['n1', 'n2', 'n3']) await trial.node(id);
  const { node: leader } = await trial.leader();
  await trial.acceptedWrite(0n);
  return leader;
}

describe('chaos: etcd faults', () => {
  scenario('etcd raft leader killed and restarted', async (trial) => {
    await threeNodes(trial);
    const member = await etcd.cluster.leader();
    const killedAt = nowNs();
    await member.kill('SIGKILL');
    const write = await trial.acceptedWrite(killedAt);
    const leaderChanged = trial.nodes.some((node) =>
      node.process.events.items.some((e) => e.event === 'lost' && BigInt(e.at) > killedAt),
    );
    await member.restart();
    const restartedAt = nowNs();
    await trial.acceptedWrite(restartedAt);
    await trial.finish('etcd leader member killed', {
      writesResumedMs: msBetween(killedAt, write.at),
      ztapLeaderChanged: leaderChanged ? 'yes' : 'no',
    });
  });

  scenario('quorum lost (two of three members paused) and recovered', async (trial) => {
    const leader = await threeNodes(trial);
    const paused = etcd.cluster.members.slice(0, 2);
    const pausedAt = nowNs();
    for (const member of paused) member.pause();
    try {
      // Without quorum no keepalive succeeds: the leader must step down on its deadline.
      const lost = await within(
        leader.process.next((e) => e.event === 'lost' && BigInt(e.at) > pausedAt, 'steps down'),
        15_000,
      );
      const resumedAt = nowNs();
      for (const member of paused) member.resume();
      // No commit is possible without quorum; the leader's last write, sent just before it stepped
      // down, may commit right after quorum returns, still under its current term (fencing holds:
      // the oracle checks every accepted write's term against commit order).
      const write = await trial.acceptedWrite(resumedAt);
      await trial.finish('quorum loss', {
        stepDownMs: msBetween(pausedAt, lost.at),
        recoveryMs: msBetween(resumedAt, write.at),
        lossReason: lost.reason ?? 'unknown',
      });
    } finally {
      for (const member of paused) if (member.paused) member.resume();
    }
  });

  scenario('compaction while a watcher lags', async (trial) => {
    await trial.node('leader', { policyEveryMs: 100 });
    await trial.leader();
    const watcher = await trial.node('watcher', { behindProxy: true, watchPolicies: true, writeEveryMs: 0 });
    await within(watcher.process.next((e) => e.event === 'policy-updated', 'follows policies'));
    const cutAt = nowNs();
    watcher.cut();
    // Let 15 policy versions go by while it is cut off, then compact them away.
    await within(
      trial.nodes[0]?.process.events.until(
        (items) =>
          items.filter((e) => e.event === 'policy-write' && e.ok && BigInt(e.at) > cutAt).length >= 15,
      ) as Promise<unknown>,
    );
    const { header } = await etcd.client.get('/').exec();
    await etcd.client.kv.compact({ revision: header.revision, physical: true });
    const restoredAt = nowNs();
    watcher.restore();
    const caughtUp = await within(
      watcher.process.next(
        (e) => e.event === 'policy-snapshot' && BigInt(e.at) > restoredAt,
        'resyncs with a snapshot',
      ),
      20_000,
    );
    await trial.finish(
      'compaction while watcher lags',
      { resyncMs: msBetween(restoredAt, caughtUp.at) },
      { policies: true },
    );
  });
});
