/**
 * Leadership transfer under faults, on a three-member etcd: transfers one after another, and a crash
 * at each point of the protocol (see packages/etcd/src/transfer.ts and docs/leadership-control.md):
 * the leader killed once its request is written, a candidate ahead of the target killed before it
 * stepped aside, the target killed mid-transfer, a candidate that never steps aside, and an etcd
 * member lost during transfers. Every trial checks the invariants in oracle.ts (one leader at any
 * instant, no stale fenced write accepted, terms increasing, views equal to etcd).
 */
import { Etcd3 } from 'etcd3';
import { describe, expect } from 'vitest';
import { eventually, within } from '../support/etcd.ts';
import type { NodeEvent } from '../support/node-processes.ts';
import {
  msBetween,
  nowNs,
  scenariosOn,
  type Trial,
  type TrialNode,
  TTL_MS,
  useEtcdCluster,
} from './harness.ts';

const etcd = useEtcdCluster();
const scenario = scenariosOn(etcd);

/** Nodes started one after the other (their order in the queue), the first leading and writing. */
async function queue(trial: Trial, ids: readonly string[]): Promise<TrialNode[]> {
  for (const id of ids) await trial.node(id);
  const { node: leader } = await trial.leader();
  expect(leader).toBe(trial.nodes[0]);
  await trial.acceptedWrite(0n);
  return trial.nodes;
}

/** The outcome `node` reports for its next transfer. */
const transferOutcome = (node: TrialNode, since: bigint) =>
  within(
    node.process.next((e) => e.event === 'transfer' && BigInt(e.at) > since, 'reports its transfer'),
    30_000,
    `${node.process.nodeId}'s transfer outcome`,
  );

/** Starts watching for a transfer request under the trial's prefix; `written` resolves on the first. */
async function watchRequests(trial: Trial): Promise<{ written: Promise<void> }> {
  const watcher = await etcd.client.watch().prefix(`${trial.prefix}transfer/`).create();
  const put = new Promise<void>((resolve) => watcher.once('put', () => resolve()));
  const written = within(put, 20_000, 'a transfer request').finally(() => watcher.cancel());
  written.catch(() => {}); // awaited by the scenario
  return { written };
}

/** Resolves once `nodeId` has a campaign key in etcd. */
async function campaigning(trial: Trial, nodeId: string): Promise<void> {
  await eventually(
    async () =>
      Object.values(
        // While a member is down, a read the client sends to it fails (ECONNREFUSED): read again.
        await etcd.client
          .getAll()
          .prefix(`${trial.prefix}election/`)
          .strings()
          .catch(() => ({})),
      ).includes(nodeId),
    20_000,
    `${nodeId} to campaign`,
  );
}

/**
 * A candidate that does not know transfers (an `etcdctl elect` or a Go service): a campaign key on a
 * lease this test keeps alive. It never steps aside.
 */
async function foreignCandidate(trial: Trial) {
  const client = new Etcd3({ hosts: [...etcd.cluster.endpoints] });
  const lease = client.lease(TTL_MS / 1000);
  const id = BigInt(await lease.grant()).toString(16);
  await lease.put(`${trial.prefix}election/${id}`).value('foreign');
  return {
    revoke: async () => {
      await lease.revoke();
      client.close();
    },
  };
}

describe('chaos: leadership transfer', () => {
  scenario('transfers one after another', async (trial) => {
    const nodes = await queue(trial, ['n1', 'n2', 'n3']);
    let leader = nodes[0] as TrialNode;
    const handovers: number[] = [];
    for (const target of [nodes[2], nodes[1], nodes[0]] as TrialNode[]) {
      const askedAt = nowNs();
      leader.process.transfer(target.process.nodeId);
      const outcome = await transferOutcome(leader, askedAt);
      expect(outcome, JSON.stringify(outcome)).toMatchObject({ ok: true, target: target.process.nodeId });
      const { event } = await trial.leader(askedAt, [target]);
      expect(event.term).toBe(outcome.term);
      handovers.push(msBetween(askedAt, event.at));
      leader = target;
    }
    await trial.acceptedWrite(nowNs());
    await trial.finish(
      'transfers in a row',
      { transfers: handovers.length, handoverMs: Math.max(...handovers) },
      { gracefulHandovers: true },
    );
  });

  scenario('leader SIGKILL once its transfer request is written', async (trial) => {
    const [leader, ...others] = await queue(trial, ['n1', 'n2', 'n3']);
    const { written } = await watchRequests(trial);
    const askedAt = nowNs();
    leader?.process.transfer('n3');
    await written;
    const killedAt = nowNs();
    await leader?.process.kill();
    // Someone leads (the target, if everyone ahead had stepped aside; else the first in the queue).
    const { node: next, event } = await trial.leader(askedAt, others);
    await trial.acceptedWrite(BigInt(event.at));
    // The request went with the leader's lease.
    await eventually(
      async () => (await etcd.client.getAll().prefix(`${trial.prefix}transfer/`).keys()).length === 0,
      TTL_MS * 3,
      'the request to go with the lease',
    );
    await trial.finish('transfer: leader killed', {
      failoverMs: msBetween(killedAt, event.at),
      newLeader: next.process.nodeId,
    });
  });

  scenario('candidate ahead of the target SIGKILLed before it stepped aside', async (trial) => {
    const [leader, ahead, target] = (await queue(trial, ['n1', 'n2', 'n3'])) as [
      TrialNode,
      TrialNode,
      TrialNode,
    ];
    trial.frozen.add(ahead.process.nodeId);
    ahead.process.signal('SIGSTOP');
    const { written } = await watchRequests(trial);
    const askedAt = nowNs();
    leader.process.transfer(target.process.nodeId, 20_000);
    await written;
    await ahead.process.kill();
    // Its lease runs out, its key goes, and the transfer completes.
    const outcome = await transferOutcome(leader, askedAt);
    expect(outcome, JSON.stringify(outcome)).toMatchObject({ ok: true, target: 'n3' });
    const { event } = await trial.leader(askedAt, [target]);
    await trial.acceptedWrite(BigInt(event.at));
    await trial.finish('transfer: candidate ahead killed', { transferMs: msBetween(askedAt, event.at) });
  });

  scenario('target SIGKILLed mid-transfer', async (trial) => {
    const [leader] = await queue(trial, ['n1']);
    // Ahead of the target, a candidate that never steps aside: the transfer waits on it.
    const foreign = await foreignCandidate(trial);
    const target = await trial.node('n2');
    const askedAt = nowNs();
    try {
      const { written } = await watchRequests(trial);
      leader?.process.transfer(target.process.nodeId, 20_000);
      await written;
      await target.process.kill();
      const outcome = await transferOutcome(leader as TrialNode, askedAt);
      expect(outcome, JSON.stringify(outcome)).toMatchObject({ ok: false, reason: 'target_withdrew' });
    } finally {
      await foreign.revoke();
    }
    const { event } = await trial.leader(askedAt, [leader as TrialNode]);
    await trial.acceptedWrite(BigInt(event.at));
    await trial.finish('transfer: target killed', {});
  });

  scenario('a candidate that never steps aside holds the transfer up until its timeout', async (trial) => {
    const [leader] = await queue(trial, ['n1']);
    const foreign = await foreignCandidate(trial);
    const target = await trial.node('n2');
    let outcome: NodeEvent;
    const askedAt = nowNs();
    try {
      leader?.process.transfer(target.process.nodeId, 1500);
      outcome = await transferOutcome(leader as TrialNode, askedAt);
    } finally {
      await foreign.revoke();
    }
    expect(outcome, JSON.stringify(outcome)).toMatchObject({ ok: false, reason: 'timeout' });
    // The old leader went to the back: once the foreign key is gone, the target is first.
    const { event } = await trial.leader(askedAt, [target]);
    await trial.acceptedWrite(BigInt(event.at));
    await trial.finish('transfer: timeout', {});
  });

  scenario('transfers while an etcd member is down', async (trial) => {
    const nodes = await queue(trial, ['n1', 'n2', 'n3']);
    const member = etcd.cluster.members.find((candidate) => candidate.running) ?? etcd.cluster.members[0];
    await member?.kill('SIGKILL');
    try {
      let leader = nodes[0] as TrialNode;
      for (const target of [nodes[2], nodes[1]] as TrialNode[]) {
        // A candidate that stepped aside in the round before campaigns again once its watch shows
        // its withdrawal — slower while its etcd member is down; until then it is `not_candidate`.
        await campaigning(trial, target.process.nodeId);
        const askedAt = nowNs();
        leader.process.transfer(target.process.nodeId, 20_000);
        const outcome = await transferOutcome(leader, askedAt);
        expect(outcome, JSON.stringify(outcome)).toMatchObject({ ok: true, target: target.process.nodeId });
        await trial.leader(askedAt, [target]);
        leader = target;
      }
    } finally {
      await member?.restart();
    }
    await trial.acceptedWrite(nowNs());
    await trial.finish('transfer: etcd member down', {}, { gracefulHandovers: true });
  });
});
