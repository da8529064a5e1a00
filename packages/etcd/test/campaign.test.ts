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
  const record = (extra: Partial<StoredKey> = {}) =>
    entry('/c/members/n1', 3, { value: '{"address":"a:1"}', ...extra });
  const campaign = entry('/c/election/7', 4);

  it('joins with the record and the campaign key together', () => {
    expect(planWrites({ member: undefined, campaign: undefined }, wanted())).toEqual({
      record: true,
      campaign: 'create',
    });
  });

  it('writes nothing when etcd already holds what the node wants', () => {
    expect(planWrites({ member: record(), campaign }, wanted())).toBeUndefined();
    expect(
      planWrites({ member: record(), campaign: undefined }, wanted({ eligible: false })),
    ).toBeUndefined();
  });

  it('rewrites a record that changed or hangs on another lease', () => {
    expect(planWrites({ member: record({ value: '{}' }), campaign }, wanted())).toEqual({
      record: true,
      campaign: 'keep',
    });
    expect(planWrites({ member: record({ lease: '0' }), campaign }, wanted())).toEqual({
      record: true,
      campaign: 'keep',
    });
  });

  it('withdraws the key of a node that is not eligible or must re-queue, and campaigns once eligible', () => {
    expect(planWrites({ member: record(), campaign }, wanted({ eligible: false }))).toEqual({
      record: false,
      campaign: 'withdraw',
    });
    expect(planWrites({ member: record(), campaign }, wanted({ requeue: true }))).toEqual({
      record: false,
      campaign: 'withdraw',
    });
    expect(planWrites({ member: record(), campaign: undefined }, wanted({ requeue: true }))).toEqual({
      record: false,
      campaign: 'create',
    });
  });
});

describe('writeTxn', () => {
  it('creates the campaign key only if absent, and writes the record either way', () => {
    const txn = writeTxn({ record: true, campaign: 'create' }, wanted());
    expect(txn.compare).toEqual([
      { key: Buffer.from('/c/election/7'), target: 'Create', result: 'Equal', create_revision: '0' },
    ]);
    expect(txn.success?.map((op) => text(op.request_put?.key))).toEqual(['/c/members/n1', '/c/election/7']);
    expect(txn.success?.every((op) => op.request_put?.lease === '7')).toBe(true);
    expect(text(txn.success?.[1]?.request_put?.value)).toBe('n1');
    expect(txn.failure?.map((op) => text(op.request_put?.key))).toEqual(['/c/members/n1']);
  });

  it('withdraws with a delete of the campaign key', () => {
    const txn = writeTxn({ record: false, campaign: 'withdraw' }, wanted());
    expect(txn.compare).toEqual([]);
    expect(txn.success?.map((op) => text(op.request_delete_range?.key))).toEqual(['/c/election/7']);
  });

  it('only refreshes the record when the campaign key is to stay', () => {
    const txn = writeTxn({ record: true, campaign: 'keep' }, wanted());
    expect(txn.success?.map((op) => text(op.request_put?.value))).toEqual(['{"address":"a:1"}']);
  });
});

describe('decide', () => {
  const standing = (extra: Partial<LocalStanding> = {}): LocalStanding => ({
    session: { lost: false, valid: true, campaignKey: '/c/election/7' },
    healthy: true,
    requeue: false,
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
