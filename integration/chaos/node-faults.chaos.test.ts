/**
 * Faults of the nodes themselves: killed, stopped, frozen, cut off, flapping, or deposed by an
 * operator. Every trial checks the invariants in oracle.ts; see docs/reliability.md.
 */
import { describe } from 'vitest';
import { within } from '../support/etcd.ts';
import { etcdctl } from '../support/etcdctl.ts';
import { msBetween, nowNs, scenariosOn, TRIALS, type Trial, useEtcdCluster } from './harness.ts';
import { steppedDownBeforeSuccessor } from './oracle.ts';

const etcd = useEtcdCluster();
const scenario = scenariosOn(etcd);
/** How long the flapping scenario flaps: 2 minutes in the full run (`pnpm test:chaos`). */
const FLAP_MS = Number(process.env.ZTAP_CHAOS_FLAP_MS ?? 10_000);

/** Three writing nodes, a leader among them and writes flowing. */
async function threeNodes(trial: Trial, options: { behindProxy?: boolean } = {}) {
  for (const id of ['n1', 'n2', 'n3']) await trial.node(id, options);
  const { node: leader } = await trial.leader();
  await trial.acceptedWrite(0n);
  return { leader, others: trial.nodes.filter((node) => node !== leader) };
}

describe('chaos: node faults', () => {
  scenario('leader SIGKILL', async (trial) => {
    const { leader, others } = await threeNodes(trial);
    const killedAt = nowNs();
    await leader.process.kill();
    const { event } = await trial.leader(killedAt, others);
    await trial.acceptedWrite(BigInt(event.at));
    await trial.finish('leader SIGKILL', { failoverMs: msBetween(killedAt, event.at) });
  });

  scenario('leader SIGTERM', async (trial) => {
    const { leader, others } = await threeNodes(trial);
    const signalledAt = nowNs();
    leader.process.signal('SIGTERM');
    const { event } = await trial.leader(signalledAt, others);
    await within(leader.process.exited());
    await trial.finish(
      'leader SIGTERM',
      { failoverMs: msBetween(signalledAt, event.at) },
      { gracefulHandovers: true },
    );
  });

  scenario('leaders resign one after another', async (trial) => {
    let { leader } = await threeNodes(trial);
    const handovers: number[] = [];
    for (let round = 0; round < 3; round++) {
      const resignedAt = nowNs();
      leader.process.resign();
      const next = await trial.leader(
        resignedAt,
        trial.nodes.filter((node) => node !== leader),
      );
      handovers.push(msBetween(resignedAt, next.event.at));
      leader = next.node;
    }
    await trial.acceptedWrite(nowNs());
    await trial.finish(
      'leaders resign',
      { handoverMs: Math.max(...handovers), handovers: handovers.length },
      { gracefulHandovers: true },
    );
  });

  scenario('leader SIGSTOP beyond its TTL, then SIGCONT', async (trial) => {
    const { leader, others } = await threeNodes(trial);
    trial.frozen.add(leader.process.nodeId);
    const frozenAt = nowNs();
    leader.process.signal('SIGSTOP');
    const { event } = await trial.leader(frozenAt, others);
    await trial.acceptedWrite(BigInt(event.at));
    const resumedAt = nowNs();
    leader.process.signal('SIGCONT');
    const lost = await within(leader.process.next((e) => e.event === 'lost', 'steps down'));
    await trial.finish('leader SIGSTOP > TTL', {
      failoverMs: msBetween(frozenAt, event.at),
      noticedAfterResumeMs: msBetween(resumedAt, lost.at),
      lossReason: lost.reason ?? 'unknown',
    });
  });

  scenario('leader cut off from etcd', async (trial) => {
    const { leader, others } = await threeNodes(trial, { behindProxy: true });
    const cutAt = nowNs();
    leader.cut();
    const { event } = await trial.leader(cutAt, others);
    const lost = leader.process.events.items.find((e) => e.event === 'lost' && BigInt(e.at) > cutAt);
    leader.restore();
    await trial.finish(
      'leader cut off',
      {
        failoverMs: msBetween(cutAt, event.at),
        stepDownLeadMs: lost ? msBetween(lost.at, event.at) : 'missing',
        lossReason: lost?.reason ?? 'none',
      },
      { violations: steppedDownBeforeSuccessor(lost, event) },
    );
  });

  scenario(
    'connection flapping',
    async (trial) => {
      await threeNodes(trial, { behindProxy: true });
      // A fixed-seed pseudo-random schedule: reproducible from run to run.
      let seed = 42;
      const random = () => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed / 2 ** 31;
      };
      const startedAt = nowNs();
      let flaps = 0;
      while (msBetween(startedAt, nowNs()) < FLAP_MS) {
        const victim = trial.nodes[Math.floor(random() * trial.nodes.length)] ?? trial.nodes[0];
        victim?.cut();
        flaps++;
        // Cuts from 0.2 s to 2.5 s: some outlast the step-down deadline (TTL − margin = 1.6 s), so
        // leadership really moves while the connection flaps, and back.
        await waitMs(200 + random() * 2300);
        victim?.restore();
        await waitMs(100 + random() * 700);
      }
      for (const node of trial.nodes) node.restore();
      // Whoever leads now (possibly the same node throughout), writes must flow again.
      const restoredAt = nowNs();
      const write = await trial.acceptedWrite(restoredAt);
      const leaderships = trial.nodes.flatMap((node) =>
        node.process.events.items.filter((e) => e.event === 'leader'),
      ).length;
      await trial.finish('connection flapping', {
        flaps,
        leaderships,
        flapMs: FLAP_MS,
        writesResumedMs: msBetween(restoredAt, write.at),
      });
    },
    // Each flapping trial lasts FLAP_MS (2 minutes in the full run): two of them are enough.
    { perTrialMs: FLAP_MS + 60_000, trials: Math.min(TRIALS, 2) },
  );

  scenario('operator revokes the leader lease', async (trial) => {
    const { leader, others } = await threeNodes(trial);
    const started = leader.process.events.items.find((e) => e.event === 'started');
    const revokedAt = nowNs();
    await etcdctl(etcd.cluster.endpoints, 'lease', 'revoke', BigInt(started?.leaseId as string).toString(16));
    const lost = await within(
      leader.process.next((e) => e.event === 'lost' && BigInt(e.at) > revokedAt, 'steps down'),
    );
    const { event } = await trial.leader(revokedAt, others);
    await trial.finish('operator revokes lease', {
      stepDownMs: msBetween(revokedAt, lost.at),
      failoverMs: msBetween(revokedAt, event.at),
      lossReason: lost.reason ?? 'unknown',
    });
  });

  scenario('operator deletes the leader campaign key', async (trial) => {
    const { leader, others } = await threeNodes(trial);
    const started = leader.process.events.items.find((e) => e.event === 'started');
    const key = `${trial.prefix}election/${BigInt(started?.leaseId as string).toString(16)}`;
    const deletedAt = nowNs();
    await etcdctl(etcd.cluster.endpoints, 'del', key);
    const lost = await within(
      leader.process.next((e) => e.event === 'lost' && BigInt(e.at) > deletedAt, 'steps down'),
    );
    const { event } = await trial.leader(deletedAt, others);
    await trial.finish('operator deletes key', {
      stepDownMs: msBetween(deletedAt, lost.at),
      failoverMs: msBetween(deletedAt, event.at),
      lossReason: lost.reason ?? 'unknown',
    });
  });
});

/** Paces the flapping schedule: here time itself is the fault being injected, not a way to order events. */
function waitMs(ms: number): Promise<void> {
  return new Promise((resolve) => {
    setTimeout(resolve, ms);
  });
}
