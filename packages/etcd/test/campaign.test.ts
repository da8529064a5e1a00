import type { ITxnResponse } from 'etcd3';
import { describe, expect, it } from 'vitest';
import {
  CampaignQueue,
  campaignKeyOf,
  decide,
  fencedTxn,
  fenceOutcome,
  type LocalStanding,
  leaseIdHex,
  planWrites,
  type StoredKey,
  stepDownDeadline,
  type Wanted,
  writeTxn,
} from '../src/campaign.ts';
import type { RecordStanding } from '../src/member-claim.ts';

const entry = (key: string, createRevision: number, extra: Partial<StoredKey> = {}): StoredKey => ({
  key,
  value: 'n1',
  createRevision,
  modRevision: createRevision,
  lease: '7',
  ...extra,
});

const wanted = (extra: Partial<Wanted> = {}): Wanted => ({
  nodeId: 'n1',
  leaseId: '7',
  memberKey: '/c/members/n1',
  record: '{"address":"a:1"}',
  campaignKey: '/c/election/7',
  eligible: true,
  requeue: false,
  ...extra,
});

const text = (value: Buffer | undefined) => value?.toString();

describe('campaign keys', () => {
  it('name the lease in hex, like Go concurrency (%x), also beyond 2^53', () => {
    expect(leaseIdHex('7587862116343592713')).toBe('694d8064814db709');
    expect(campaignKeyOf('/c/election/', '255')).toBe('/c/election/ff');
  });
});

describe('planWrites', () => {
  const campaign = entry('/c/election/7', 4);
  const absent: RecordStanding = { kind: 'free', modRevision: 0 };
  const current: RecordStanding = { kind: 'ours', current: true };
  const held: RecordStanding = { kind: 'held', entry: entry('/c/members/n1', 3, { lease: '99' }) };

  it('joins with the record (claimed only if still absent) and the campaign key together', () => {
    expect(planWrites(absent, undefined, wanted())).toEqual({
      record: { modRevision: 0 },
      campaign: 'create',
    });
  });

  it('writes nothing when etcd already holds what the node wants', () => {
    expect(planWrites(current, campaign, wanted())).toBeUndefined();
    expect(planWrites(current, undefined, wanted({ eligible: false }))).toBeUndefined();
  });

  it('rewrites its own record on its own lease, and claims a free one as it was seen', () => {
    expect(planWrites({ kind: 'ours', current: false }, campaign, wanted())).toEqual({
      record: { onLease: '7' },
      campaign: 'keep',
    });
    expect(planWrites({ kind: 'free', modRevision: 12 }, campaign, wanted())).toEqual({
      record: { modRevision: 12 },
      campaign: 'keep',
    });
  });

  it('leaves a record another live node holds alone, and does not campaign (withdraws if it did)', () => {
    expect(planWrites(held, undefined, wanted())).toBeUndefined();
    expect(planWrites(held, campaign, wanted())).toEqual({ record: undefined, campaign: 'withdraw' });
  });

  it('withdraws the key of a node that is not eligible or must re-queue, and campaigns once eligible', () => {
    expect(planWrites(current, campaign, wanted({ eligible: false }))).toEqual({
      record: undefined,
      campaign: 'withdraw',
    });
    expect(planWrites(current, campaign, wanted({ requeue: true }))).toEqual({
      record: undefined,
      campaign: 'withdraw',
    });
    expect(planWrites(current, undefined, wanted({ requeue: true }))).toEqual({
      record: undefined,
      campaign: 'create',
    });
  });
});

describe('writeTxn', () => {
  const compareOf = (txn: ReturnType<typeof writeTxn>) =>
    txn.compare?.map((compare) => [
      text(compare.key),
      compare.target,
      compare.mod_revision ?? compare.lease ?? compare.create_revision,
    ]);

  it('joins in one flat transaction: record as seen and campaign key if absent, or nothing at all', () => {
    const txn = writeTxn({ record: { modRevision: 0 }, campaign: 'create' }, wanted());
    expect(compareOf(txn)).toEqual([
      ['/c/members/n1', 'Mod', '0'],
      ['/c/election/7', 'Create', '0'],
    ]);
    expect(txn.success?.map((op) => text(op.request_put?.key))).toEqual(['/c/members/n1', '/c/election/7']);
    expect(txn.success?.every((op) => op.request_put?.lease === '7')).toBe(true);
    expect(text(txn.success?.[1]?.request_put?.value)).toBe('n1');
    expect(txn.failure?.map((op) => text(op.request_range?.key))).toEqual(['/c/members/n1']);
  });

  it('withdraws with a delete of the campaign key', () => {
    const txn = writeTxn({ record: undefined, campaign: 'withdraw' }, wanted());
    expect(txn.compare).toEqual([]);
    expect(txn.success?.map((op) => text(op.request_delete_range?.key))).toEqual(['/c/election/7']);
  });

  it('refreshes its record only while it is still on its lease', () => {
    const txn = writeTxn({ record: { onLease: '7' }, campaign: 'keep' }, wanted());
    expect(compareOf(txn)).toEqual([['/c/members/n1', 'Lease', '7']]);
    expect(txn.success?.map((op) => text(op.request_put?.value))).toEqual(['{"address":"a:1"}']);
  });
});

describe('decide', () => {
  const standing = (extra: Partial<LocalStanding> = {}): LocalStanding => ({
    session: { lost: false, valid: true, campaignKey: '/c/election/7' },
    healthy: true,
    requeue: false,
    holdsId: true,
    ...extra,
  });
  const own = entry('/c/election/7', 10);
  const other = entry('/c/election/8', 9, { value: 'n2' });

  it('leads when its own key is first; the term is its create revision', () => {
    expect(decide(standing(), own, own)).toEqual({ leads: true, term: 10, campaignKey: '/c/election/7' });
  });

  it('does not lead behind an older key', () => {
    expect(decide(standing(), own, other)).toEqual({ leads: false, reason: 'superseded' });
  });

  it('puts local truth before the view: lease, deadline, health, resignation', () => {
    expect(decide(standing({ session: undefined }), own, own)).toEqual({
      leads: false,
      reason: 'lease_lost',
    });
    const lost = { lost: true, valid: false, campaignKey: own.key };
    expect(decide(standing({ session: lost }), own, own)).toEqual({ leads: false, reason: 'lease_lost' });
    const expiring = { lost: false, valid: false, campaignKey: own.key };
    expect(decide(standing({ session: expiring }), own, own)).toEqual({ leads: false, reason: 'deadline' });
    expect(decide(standing({ healthy: false }), own, own)).toEqual({ leads: false, reason: 'unhealthy' });
    expect(decide(standing({ requeue: true }), own, own)).toEqual({ leads: false, reason: 'resigned' });
    expect(decide(standing({ holdsId: false }), own, own)).toEqual({ leads: false, reason: 'lease_lost' });
  });

  it('does not lead once its key is gone (an operator deleted it)', () => {
    expect(decide(standing(), undefined, other)).toEqual({ leads: false, reason: 'lease_lost' });
  });
});

describe('CampaignQueue', () => {
  it('knows the key with the lowest create revision as keys come and go', () => {
    const queue = new CampaignQueue();
    expect(queue.first).toBeUndefined();
    queue.set(entry('/e/b', 5));
    queue.set(entry('/e/c', 7));
    queue.set(entry('/e/a', 3)); // a re-list delivers keys in any order
    expect(queue.first?.key).toBe('/e/a');
    queue.set(entry('/e/a', 3, { value: 'rewritten', modRevision: 9 }));
    expect(queue.first?.value).toBe('rewritten');
    queue.delete('/e/c');
    expect(queue.first?.key).toBe('/e/a');
    queue.delete('/e/a');
    expect(queue.first?.key).toBe('/e/b');
    queue.delete('/e/b');
    expect(queue.first).toBeUndefined();
  });

  it('moves a first key that was deleted and created again in one batch to the end of the queue', () => {
    // A re-queue on the same lease gives the same key a new create revision; a watch that catches up
    // after an outage delivers the delete and the create together, so only the new entry is seen.
    const queue = new CampaignQueue();
    queue.set(entry('/e/a', 2));
    queue.set(entry('/e/b', 3));
    queue.set(entry('/e/a', 5));
    expect(queue.first?.key).toBe('/e/b');
    queue.delete('/e/b');
    expect(queue.first).toEqual(entry('/e/a', 5));
  });
});

describe('stepDownDeadline', () => {
  it('counts from when the keepalive was sent, not when it was answered', () => {
    expect(stepDownDeadline(1_000, 5, 1_000)).toBe(5_000);
    expect(stepDownDeadline(1_000, 2, 400)).toBe(2_600);
  });
});

describe('fencing', () => {
  const txn = { term: 42, success: [{ request_put: { key: Buffer.from('/x'), value: Buffer.from('1') } }] };

  it('compares the create revision of the writer’s campaign key with its term, flat', () => {
    const request = fencedTxn('/c/election/7', {
      ...txn,
      compare: [{ key: Buffer.from('/x'), target: 'Mod', result: 'Equal', mod_revision: '3' }],
      failure: [{ request_range: { key: Buffer.from('/x') } }],
    });
    expect(request.compare?.[0]).toEqual({
      key: Buffer.from('/c/election/7'),
      target: 'Create',
      result: 'Equal',
      create_revision: '42',
    });
    expect(request.compare).toHaveLength(2);
    expect(request.success?.some((op) => op.request_txn)).toBe(false);
    expect(request.failure?.map((op) => text(op.request_range?.key))).toEqual(['/c/election/7', '/x']);
  });

  const answer = (succeeded: boolean, campaignRevision: number | undefined): ITxnResponse =>
    ({
      header: { revision: '50' },
      succeeded,
      responses: [
        {
          response_range: {
            kvs: campaignRevision === undefined ? [] : [{ create_revision: String(campaignRevision) }],
          },
        },
        { response_range: { kvs: [] } },
      ],
    }) as unknown as ITxnResponse;

  it('tells a committed write, a failed compare of the caller and a fenced writer apart', () => {
    expect(fenceOutcome(answer(true, undefined), 42).outcome).toBe('committed');
    const failed = fenceOutcome(answer(false, 42), 42);
    expect(failed.outcome).toBe('compare_failed');
    expect(failed.outcome !== 'fenced' && failed.response.responses).toHaveLength(1);
    expect(fenceOutcome(answer(false, undefined), 42).outcome).toBe('fenced');
    expect(fenceOutcome(answer(false, 57), 42).outcome).toBe('fenced');
  });
});
