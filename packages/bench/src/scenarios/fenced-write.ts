/**
 * 7. Fenced write: one leader-only write's round trip. ZTAP: `guardedTxn` (one flat transaction
 * whose compare includes the fence on the leader's campaign key, and, when a caller's own compare
 * fails, a read that tells "fenced" from "compare failed"). etcd3 has no fenced write: beside it, a
 * plain etcd3 transaction of the same shape (one compare, one put) on a connected client. Both write
 * the same key in turn; rounds alternate which system goes first.
 */
import { createEtcdClient, EtcdElection } from '@ztap/cluster-etcd';
import { Etcd3 } from 'etcd3';
import type { BenchContext } from '../context.ts';
import { alternate, MeasureBuilder, type ScenarioResult, type SystemName } from '../results.ts';
import { nowMs, within } from '../time.ts';

const TITLE = '7. Fenced write';

export async function fencedWrite(context: BenchContext): Promise<ScenarioResult> {
  const rounds = context.smoke ? 1 : 4;
  const writesPerRound = context.smoke ? 20 : 250;
  const roundTrip = new MeasureBuilder(
    TITLE,
    'one leader-only write (ZTAP guardedTxn; etcd3: a plain txn, one compare + one put)',
    'ms',
  );
  const prefix = `/bench/${context.runId}-fenced/`;
  const key = Buffer.from(`${prefix}value`);

  const client = createEtcdClient({ endpoints: [context.endpoint], requestTimeout: 5000 });
  const leader = new EtcdElection({
    nodeId: 'writer',
    nodeAddress: '127.0.0.1:9999',
    client,
    prefix,
    electionTimeout: 10_000,
    heartbeatInterval: 3333,
    initialLeadership: 0,
  });
  const plain = new Etcd3({ hosts: context.endpoint });
  try {
    await leader.start();
    const { term } = await within(leader.waitForLeadership(), 10_000, 'the writer to lead');
    await plain.get(`${prefix}warm-up`).string();
    const write: Record<SystemName, (value: string) => Promise<unknown>> = {
      ztap: (value) =>
        leader.guardedTxn({
          term,
          compare: [{ key, target: 'Create', result: 'Greater', create_revision: '-1' }],
          success: [{ request_put: { key, value: Buffer.from(value) } }],
        }),
      etcd3: (value) =>
        plain.kv.txn({
          compare: [{ key, target: 'Create', result: 'Greater', create_revision: '-1' }],
          success: [{ request_put: { key, value: Buffer.from(value) } }],
          failure: [],
        }),
    };
    for (let round = 0; round < rounds; round++) {
      for (const system of alternate(round)) {
        context.log(`fenced write round ${round + 1}/${rounds}: ${system}`);
        for (let index = 0; index < writesPerRound; index++) {
          const started = nowMs();
          await write[system](`${system}-${round}-${index}`);
          roundTrip.add(system, nowMs() - started);
        }
      }
    }
  } finally {
    await leader.stop();
    client.close();
    plain.close();
  }
  return {
    id: 'fenced',
    title: TITLE,
    measures: [roundTrip.build()],
    raw: roundTrip.samples,
    notes: [
      `${rounds} round(s) × ${writesPerRound} sequential writes per system, on one key; one process, each system on its own connected client. The etcd3 row is a plain transaction of the same shape, not a fenced one: etcd3 has no fenced write.`,
    ],
  };
}
