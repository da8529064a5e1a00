import { describe, expect, it } from 'vitest';
import { DashboardModel, redactCredentials } from '../src/model.ts';
import type { WireDelta, WireLeadership } from '../src/wire.ts';
import { change, node, policy } from './scripted-source.ts';

function modelAt(start = Date.parse('2026-01-01T00:10:00Z')) {
  const deltas: WireDelta[] = [];
  let now = start;
  const model = new DashboardModel(
    '/p/',
    (delta) => deltas.push(delta),
    () => now,
  );
  return {
    model,
    deltas,
    advance: (ms: number) => {
      now += ms;
    },
    at: () => new Date(now).toISOString(),
  };
}

describe('DashboardModel', () => {
  it('starts a leadership already under way as "at or before", and one seen live as observed', () => {
    const { model, advance, at } = modelAt();
    model.connected();
    model.applyChange(change('node_joined', 'a'), true);
    model.applyChange(change('leader_elected', 'a', { role: 'leader' }, 7), true);
    expect(model.timeline).toEqual([{ term: 7, nodeId: 'a', start: { at: at(), accuracy: 'before' } }]);
    advance(5000);
    model.applyChange(change('leader_lost', 'a', {}, 7), false);
    model.applyChange(change('node_left', 'a'), false);
    model.settleEndReason(7);
    model.applyChange(change('node_joined', 'b'), false);
    model.applyChange(change('leader_elected', 'b', { role: 'leader' }, 9), false);
    expect(model.timeline).toEqual([
      {
        term: 7,
        nodeId: 'a',
        start: { at: new Date(Date.parse(at()) - 5000).toISOString(), accuracy: 'before' },
        end: { at: at(), accuracy: 'observed' },
        endReason: 'lease_ended',
      },
      { term: 9, nodeId: 'b', start: { at: at(), accuracy: 'observed' } },
    ]);
    expect(model.leader).toEqual({ id: 'b', term: 9 });
  });

  it('says a leader that stayed a member withdrew, or stepped down unhealthy', () => {
    const { model } = modelAt();
    model.connected();
    model.applyChange(change('node_joined', 'a'), true);
    model.applyChange(change('leader_elected', 'a', {}, 3), false);
    model.applyChange(change('leader_lost', 'a', {}, 3), false);
    model.settleEndReason(3);
    model.applyChange(change('leader_elected', 'a', {}, 5), false);
    model.applyChange(change('node_unhealthy', 'a', { state: 'unhealthy' }), false);
    model.applyChange(change('leader_lost', 'a', { state: 'unhealthy' }, 5), false);
    model.settleEndReason(5);
    expect(model.timeline.map((l) => l.endReason)).toEqual(['withdrew', 'unhealthy']);
  });

  it('marks a member whose state or role changed, with the time it saw the change', () => {
    const { model, advance, at } = modelAt();
    model.applyChange(change('node_joined', 'a'), true);
    expect(model.member('a')?.changedAt).toBeUndefined();
    advance(1000);
    model.applyChange(change('node_unhealthy', 'a', { state: 'unhealthy' }), false);
    expect(model.member('a')?.changedAt).toBe(at());
    const changedAt = at();
    advance(1000);
    model.applyChange(change('node_updated', 'a', { state: 'unhealthy', address: 'x:1' }), false);
    expect(model.member('a')?.changedAt).toBe(changedAt);
  });

  it('keeps the later lastSeen of the lease read and the change event', () => {
    const { model, deltas } = modelAt();
    model.applyChange(change('node_joined', 'a', { lastSeen: new Date('2026-01-01T00:00:00Z') }), true);
    model.applyLastSeen(new Map([['a', new Date('2026-01-01T00:05:00Z')]]));
    expect(deltas.at(-1)).toEqual({ kind: 'last-seen', lastSeen: { a: '2026-01-01T00:05:00.000Z' } });
    model.applyChange(change('node_updated', 'a', { lastSeen: new Date('2026-01-01T00:01:00Z') }), false);
    expect(model.member('a')?.lastSeen).toBe('2026-01-01T00:05:00.000Z');
    const before = deltas.length;
    model.applyLastSeen(new Map([['a', new Date('2026-01-01T00:05:00Z')]]));
    expect(deltas.length).toBe(before);
  });

  it('dates an outage from the first unanswered read, keeps the picture, and marks changes seen late as estimated', () => {
    const { model, advance, at } = modelAt();
    model.connected();
    model.applyChange(change('node_joined', 'a'), true);
    const sentAt = Date.parse(at());
    advance(3000);
    model.disconnected(sentAt, 'etcd at http://root:secret@127.0.0.1:2379 is unreachable');
    expect(model.connection).toEqual({
      state: 'disconnected',
      since: new Date(sentAt).toISOString(),
      reason: 'etcd at http://***@127.0.0.1:2379 is unreachable',
    });
    expect(model.member('a')).toBeDefined();
    advance(2000);
    model.disconnected(Date.parse(at()), 'etcd at http://root:secret@127.0.0.1:2379 is unreachable');
    expect(model.connection.since).toBe(new Date(sentAt).toISOString());
    model.applyChange(change('leader_elected', 'a', {}, 4), false);
    expect(model.timeline[0]?.start.accuracy).toBe('estimated');
    model.connected();
    expect(model.connection).toEqual({ state: 'connected', since: at() });
  });

  it('merges history under what it observed: older terms added, an unknown start filled in, gaps closed', () => {
    const { model, at } = modelAt();
    model.connected();
    model.applyChange(change('leader_elected', 'c', {}, 20), true);
    const reconstructed: WireLeadership[] = [
      {
        term: 10,
        nodeId: 'a',
        start: { at: '2026-01-01T00:01:00.000Z', accuracy: 'estimated', revision: 10 },
        end: { at: '2026-01-01T00:02:00.000Z', accuracy: 'estimated', revision: 15 },
        endReason: 'lease_ended',
      },
      {
        term: 16,
        nodeId: 'b',
        start: { at: '2026-01-01T00:03:00.000Z', accuracy: 'estimated', revision: 16 },
      },
      {
        term: 20,
        nodeId: 'c',
        start: { at: '2026-01-01T00:05:00.000Z', accuracy: 'estimated', revision: 22 },
      },
    ];
    model.mergeHistory(reconstructed);
    expect(model.timeline).toEqual([
      reconstructed[0],
      {
        ...reconstructed[1],
        end: { at: '2026-01-01T00:05:00.000Z', accuracy: 'estimated' },
        endReason: 'unknown',
      },
      reconstructed[2],
    ]);
    expect(at()).toBe('2026-01-01T00:10:00.000Z');
  });

  it('replaces policies with a snapshot and applies single updates', () => {
    const { model, deltas } = modelAt();
    model.applyPolicies([policy('a', 1), policy('b', 2)], [], true);
    model.applyPolicies([policy('c', 3)], [], true);
    expect(deltas.at(-1)).toEqual({
      kind: 'policies',
      upserts: [expect.objectContaining({ name: 'c', version: 3 })],
      removals: ['a', 'b'],
    });
    model.applyPolicies([], ['c'], false);
    expect(model.snapshot().policies).toEqual([]);
  });

  it('forgets members on a reset and says so', () => {
    const { model, deltas } = modelAt();
    model.applyChange(change('node_joined', 'a'), true);
    model.applyChange(change('leader_elected', 'a', {}, 2), true);
    model.resetMembers();
    expect(deltas.slice(-2)).toEqual([
      { kind: 'members', upserts: [], removals: ['a'] },
      { kind: 'leader', leader: null },
    ]);
    expect(model.snapshot()).toMatchObject({ members: [], leader: null, loaded: false });
  });

  it('shows members as the cluster view hands them over', () => {
    const { model } = modelAt();
    model.applyChange(change('node_joined', 'a', { metadata: { zone: 'eu' } }), true);
    expect(model.snapshot().members).toEqual([
      {
        id: 'a',
        address: node('a').address,
        state: 'healthy',
        role: 'follower',
        joinedAt: '2026-01-01T00:00:00.000Z',
        lastSeen: '2026-01-01T00:00:00.000Z',
        metadata: { zone: 'eu' },
      },
    ]);
  });
});

describe('redactCredentials', () => {
  it('hides user information in URLs', () => {
    expect(redactCredentials('https://u:p@h:1 and http://x@y:2')).toBe('https://***@h:1 and http://***@y:2');
  });
});
