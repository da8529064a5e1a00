import type { ITxnResponse } from 'etcd3';
import { describe, expect, it } from 'vitest';
import type { StoredKey } from '../src/campaign.ts';
import {
  decodeTransfer,
  encodeTransfer,
  mustStepAside,
  requestRefusal,
  transferInForce,
  transferProgress,
} from '../src/transfer.ts';

const key = (value: string, createRevision: number): StoredKey => ({
  key: `/p/election/${value}`,
  value,
  createRevision,
  modRevision: createRevision,
  lease: '7',
});

describe('transfer requests', () => {
  it('round-trip; a foreign or damaged value is no request', () => {
    const record = { target: 'n3', timeoutMs: 500, by: 'operator' as const };
    expect(decodeTransfer(encodeTransfer(record))).toEqual(record);
    expect(decodeTransfer('not json')).toBeUndefined();
    expect(decodeTransfer('{"target":3}')).toBeUndefined();
    expect(decodeTransfer('{"target":"n3","timeoutMs":-1,"by":"someone"}')).toEqual({ target: 'n3' });
  });

  it('is in force only while it names the current leader’s term, and not once it failed', () => {
    const first = key('n1', 10);
    const request = (value: string) => (term: number) =>
      term === 10 ? { ...key('x', 11), key: '/p/transfer/10', value } : undefined;
    expect(transferInForce(first, request('{"target":"n3"}'))).toEqual({
      term: 10,
      record: { target: 'n3' },
    });
    expect(transferInForce(key('n2', 12), request('{"target":"n3"}'))).toBeUndefined();
    expect(
      transferInForce(first, request('{"target":"n3","failed":{"reason":"timeout","message":""}}')),
    ).toBeUndefined();
  });

  it('only the candidates between the leader and the target step aside', () => {
    const [leader, ahead, target, behind] = [key('n1', 10), key('n2', 11), key('n3', 12), key('n4', 13)];
    expect(mustStepAside(ahead, leader, target)).toBe(true);
    expect(mustStepAside(leader, leader, target)).toBe(false); // the leader goes last
    expect(mustStepAside(target, leader, target)).toBe(false);
    expect(mustStepAside(behind, leader, target)).toBe(false);
    expect(mustStepAside(ahead, leader, undefined)).toBe(false); // the target withdrew
  });

  it('progress: waiting for those ahead, then the leader re-queues, then the target leads', () => {
    const [leader, ahead, target] = [key('n1', 10), key('n2', 11), key('n3', 12)];
    expect(transferProgress([leader, ahead, target], leader, leader.key, 'n3')).toEqual({
      kind: 'waiting',
      ahead: ['n2'],
    });
    const stepped = key('n2', 14);
    expect(transferProgress([leader, target, stepped], leader, leader.key, 'n3')).toEqual({
      kind: 'requeue',
    });
    expect(transferProgress([target, stepped], target, leader.key, 'n3')).toEqual({ kind: 'done', term: 12 });
    expect(transferProgress([leader, stepped], leader, leader.key, 'n3')).toEqual({ kind: 'withdrew' });
  });

  it('a refused request: the leadership is over, another request is there, or it is our own earlier attempt', () => {
    const answer = (leaderRevision: number | undefined, existing: string | undefined) =>
      ({
        succeeded: false,
        responses: [
          { response_range: { kvs: leaderRevision ? [{ create_revision: String(leaderRevision) }] : [] } },
          { response_range: { kvs: existing ? [{ value: Buffer.from(existing) }] : [] } },
        ],
      }) as unknown as ITxnResponse;
    const record = { target: 'n3' };
    expect(requestRefusal(answer(undefined, undefined), 10, record)).toBe('stale_term');
    expect(requestRefusal(answer(12, undefined), 10, record)).toBe('stale_term');
    expect(requestRefusal(answer(10, '{"target":"n2"}'), 10, record)).toBe('in_progress');
    expect(requestRefusal(answer(10, encodeTransfer(record)), 10, record)).toBe('written');
  });
});
