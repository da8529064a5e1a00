import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  behindListing,
  chunkOps,
  type GlobalPolicyChange,
  judgeConfirmation,
  planChanges,
  planResync,
  type ReplicaOp,
} from '../src/replication-plan.ts';

const put = (name: string, revision: number, value = `${name}@${revision}`): GlobalPolicyChange => ({
  type: 'put',
  name,
  revision,
  value,
});
const del = (name: string, revision: number): GlobalPolicyChange => ({
  type: 'delete',
  name,
  revision,
  value: '',
});

/** What a region holds after applying `ops` to `replicas`. */
function apply(replicas: Map<string, number>, ops: readonly ReplicaOp[]): Map<string, number> {
  const next = new Map(replicas);
  for (const op of ops) {
    if (op.type === 'put') next.set(op.name, op.revision);
    else next.delete(op.name);
  }
  return next;
}

describe('planChanges: global changes into a region', () => {
  it('writes new puts and deletes, the last change of each name only, in revision order', () => {
    const ops = planChanges([put('a', 5), put('b', 6), put('a', 7), del('b', 8), put('c', 9)], new Map(), 4);
    expect(ops).toEqual([
      { type: 'put', name: 'a', revision: 7, value: 'a@7' },
      // Created and deleted within the batch: the delete is a no-op in etcd, but it records when b went.
      { type: 'delete', name: 'b', revision: 8 },
      { type: 'put', name: 'c', revision: 9, value: 'c@9' },
    ]);
  });

  it('skips what the checkpoint already covers and what the region holds at that version or newer', () => {
    const replicas = new Map([
      ['a', 10],
      ['b', 3],
    ]);
    expect(planChanges([put('a', 8), put('a', 10), put('b', 9)], replicas, 7)).toEqual([
      { type: 'put', name: 'b', revision: 9, value: 'b@9' },
    ]);
    expect(planChanges([put('b', 5)], replicas, 5)).toEqual([]);
  });

  it('deletes only what the region holds at an older version', () => {
    const replicas = new Map([
      ['a', 4],
      ['b', 12],
    ]);
    expect(planChanges([del('a', 10), del('b', 11), del('c', 11)], replicas, 3)).toEqual([
      { type: 'delete', name: 'a', revision: 10 },
    ]);
  });

  it('replaying any stretch of changes twice never moves a policy backwards', () => {
    const change = fc.record({
      type: fc.constantFrom<'put' | 'delete'>('put', 'delete'),
      name: fc.constantFrom('a', 'b', 'c'),
    });
    fc.assert(
      fc.property(fc.array(change, { maxLength: 30 }), fc.nat(30), fc.nat(30), (shape, from, to) => {
        // A global history: revision i+1 changes one policy.
        const history = shape.map((step, index) => ({
          ...step,
          revision: index + 1,
          value: `v${index + 1}`,
        }));
        const truth = apply(new Map(), planChanges(history, new Map(), 0));
        let region = apply(new Map(), planChanges(history.slice(0, to), new Map(), 0));
        // A new leader resumes from an older checkpoint and replays.
        region = apply(region, planChanges(history.slice(Math.min(from, to)), region, Math.min(from, to)));
        expect(region).toEqual(truth);
      }),
    );
  });
});

describe('planResync: a region made equal to a listing', () => {
  it('puts what differs, deletes what the listing lacks, follows a listing that went backwards', () => {
    const replicas = new Map([
      ['a', 5],
      ['b', 9],
      ['gone', 3],
    ]);
    const ops = planResync(
      [
        { name: 'a', version: 5, value: 'same' },
        { name: 'b', version: 2, value: 'older store' },
        { name: 'new', version: 7, value: 'n' },
      ],
      replicas,
    );
    expect(ops).toEqual([
      { type: 'put', name: 'b', revision: 2, value: 'older store' },
      { type: 'put', name: 'new', revision: 7, value: 'n' },
      { type: 'delete', name: 'gone', revision: 0 },
    ]);
    expect(apply(replicas, ops)).toEqual(
      new Map([
        ['a', 5],
        ['b', 2],
        ['new', 7],
      ]),
    );
  });
});

describe('chunkOps: transactions etcd accepts', () => {
  const op = (name: string, size = 10): ReplicaOp => ({
    type: 'put',
    name,
    revision: 1,
    value: 'x'.repeat(size),
  });

  it('keeps every op, in order, within the op and byte limits', () => {
    const ops = Array.from({ length: 250 }, (_, index) => op(`p${index}`, index % 7 === 0 ? 5000 : 10));
    const groups = chunkOps(ops, { maxOps: 100, maxBytes: 20_000 });
    expect(groups.flat()).toEqual(ops);
    const bytes = (group: ReplicaOp[]) =>
      group.reduce((sum, one) => sum + one.name.length + (one.type === 'put' ? one.value.length : 0) + 64, 0);
    for (const group of groups) {
      expect(group.length).toBeLessThanOrEqual(100);
      expect(bytes(group)).toBeLessThanOrEqual(20_000);
    }
    expect(groups.length).toBeGreaterThan(2);
  });

  it('gives one empty group for no ops (a transaction that only moves the checkpoint)', () => {
    expect(chunkOps([], { maxOps: 100, maxBytes: 1000 })).toEqual([[]]);
  });

  it('puts an op bigger than the byte limit in a group of its own', () => {
    const groups = chunkOps([op('a'), op('big', 5000), op('b')], { maxOps: 100, maxBytes: 1000 });
    expect(groups.map((group) => group.map((one) => one.name))).toEqual([['a'], ['big'], ['b']]);
  });
});

describe('behindListing: has the region caught up with a listing of the global store?', () => {
  const listing = new Map([
    ['a', 10],
    ['b', 12],
  ]);

  it('is caught up when it holds every listed version', () => {
    expect(
      behindListing(
        listing,
        15,
        new Map([
          ['a', 10],
          ['b', 12],
        ]),
        new Map(),
      ),
    ).toEqual([]);
  });

  it('accepts changes newer than the listing: updated, created or deleted later', () => {
    const replicas = new Map([
      ['a', 17],
      ['c', 18],
    ]);
    expect(behindListing(listing, 15, replicas, new Map([['b', 16]]))).toEqual([]);
  });

  it('names what is older or missing, and what the listing had deleted', () => {
    const replicas = new Map([
      ['a', 9],
      ['old', 4],
    ]);
    expect(behindListing(listing, 15, replicas, new Map([['b', 11]]))).toEqual(['a', 'b', 'old']);
  });
});

describe('judgeConfirmation: the region against a listing of the global store', () => {
  const base = {
    listing: new Map([['a', 30]]),
    listingRevision: 35,
    listingClusterId: 'g1',
    reachedBefore: 34,
    checkpoint: { globalRevision: 34, globalClusterId: 'g1' },
    replicas: new Map([['a', 30]]),
    deletedAt: new Map<string, number>(),
    position: 34,
    behindAt: undefined,
  };

  it('confirms a region that holds what is listed, at the newer of the two revisions', () => {
    expect(judgeConfirmation(base)).toEqual({ kind: 'confirmed', globalRevision: 35 });
  });

  it('does not mistake a listing older than changes delivered while it was read for a store going backwards', () => {
    // Asked at 34; meanwhile the watch delivered b@36 and the checkpoint moved to 36; the listing is at 35.
    const verdict = judgeConfirmation({
      ...base,
      checkpoint: { globalRevision: 36, globalClusterId: 'g1' },
      replicas: new Map([
        ['a', 30],
        ['b', 36],
      ]),
      position: 36,
    });
    expect(verdict).toEqual({ kind: 'confirmed', globalRevision: 36 });
  });

  it('sees another store: another cluster id, or a revision below what the region had reached', () => {
    expect(judgeConfirmation({ ...base, listingClusterId: 'g2' })).toEqual({ kind: 'store_changed' });
    expect(judgeConfirmation({ ...base, listingRevision: 20, listing: new Map() })).toEqual({
      kind: 'store_changed',
    });
  });

  it('waits for a watch that is making progress, gives up on one that is not or that went past the listing', () => {
    const behind = { ...base, listing: new Map([['a', 33]]), listingRevision: 35, position: 31 };
    expect(judgeConfirmation(behind)).toEqual({ kind: 'behind', stuck: false, names: ['a'] });
    expect(judgeConfirmation({ ...behind, behindAt: 31 })).toEqual({
      kind: 'behind',
      stuck: true,
      names: ['a'],
    });
    expect(judgeConfirmation({ ...behind, behindAt: 29 })).toEqual({
      kind: 'behind',
      stuck: false,
      names: ['a'],
    });
    expect(judgeConfirmation({ ...behind, position: 35 })).toEqual({
      kind: 'behind',
      stuck: true,
      names: ['a'],
    });
  });
});
