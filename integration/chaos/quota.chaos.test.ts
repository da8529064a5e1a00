/**
 * The backend quota exhausted (NOSPACE) and recovered, on a three-member cluster with a small quota:
 * leadership must hold (keepalives are not writes), writes must fail with a typed error and resume
 * once an operator compacts, defragments and disarms the alarm. See docs/reliability.md.
 */
import { describe, it } from 'vitest';
import { within } from '../support/etcd.ts';
import { etcdctl } from '../support/etcdctl.ts';
import { fillUntilNoSpace } from '../support/special-etcd.ts';
import { msBetween, nowNs, runTrials, TRIALS, useEtcdCluster } from './harness.ts';

const etcd = useEtcdCluster(['--quota-backend-bytes=8388608']);

describe('chaos: quota', () => {
  it(
    'backend quota exhausted and recovered',
    async () => {
      await runTrials(etcd, 'quota', TRIALS, async (trial) => {
        for (const id of ['n1', 'n2', 'n3']) await trial.node(id);
        const { node: leader } = await trial.leader();
        await trial.acceptedWrite(0n);

        const filledAt = nowNs();
        await fillUntilNoSpace(etcd.cluster);
        const refused = await within(
          leader.process.next(
            (e) => e.event === 'write' && !e.ok && e.code === 'ZTAP_ETCD_NOSPACE' && BigInt(e.at) > filledAt,
            'a NOSPACE write error',
          ),
        );
        const leadershipHeld = !leader.process.events.items.some(
          (e) => e.event === 'lost' && BigInt(e.at) > filledAt,
        );

        // The operator's recovery: free the space, compact, defragment every member, disarm the alarm.
        const recoveryStartedAt = nowNs();
        await etcd.client.delete().prefix('/fill/');
        const { header } = await etcd.client.get('/').exec();
        await etcd.client.kv.compact({ revision: header.revision, physical: true });
        for (const member of etcd.cluster.members) await etcdctl([member.clientUrl], 'defrag');
        await etcdctl(etcd.cluster.endpoints, 'alarm', 'disarm');
        const write = await trial.acceptedWrite(recoveryStartedAt);
        await trial.finish('quota exhausted and recovered', {
          refusedAfterMs: msBetween(filledAt, refused.at),
          writesResumedMs: msBetween(recoveryStartedAt, write.at),
          leadershipHeld: leadershipHeld ? 'yes' : 'no',
        });
      });
    },
    TRIALS * 90_000 + 30_000,
  );
});
