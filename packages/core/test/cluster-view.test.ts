import { describe, expect, it } from 'vitest';
import { type ClusterSnapshot, ClusterView, type MemberRecord } from '../src/backend.ts';
import type { NodeState } from '../src/index.ts';

const at = new Date('2026-01-01T00:00:00Z');
const member = (
  id: string,
  state: NodeState = 'healthy',
  extra: Partial<MemberRecord> = {},
): MemberRecord => ({
  id,
  address: `${id}.internal:9090`,
  metadata: {},
  state,
  joinedAt: at,
  lastSeen: at,
  priority: 0,
  ...extra,
});
const snapshot = (members: MemberRecord[], leader?: [string, number]): ClusterSnapshot => ({
  members,
  leader: leader ? { id: leader[0], term: leader[1] } : undefined,
});
const summary = (view: ClusterView, next: ClusterSnapshot) =>
  view
    .apply(next, at)
    .map((change) => `${change.type}:${change.node.id}${change.term ? `@${change.term}` : ''}`);

describe('ClusterView', () => {
  it('reports joins in id order, then the leader', () => {
    const view = new ClusterView();
    expect(summary(view, snapshot([member('b'), member('a')], ['a', 1]))).toEqual([
      'node_joined:a',
      'node_joined:b',
      'leader_elected:a@1',
    ]);
    expect(view.state).toMatchObject({ term: 1, leader: { id: 'a', role: 'leader' } });
    expect(view.getNode('b')?.role).toBe('follower');
  });

  it('reports leader_lost first and leader_elected last', () => {
    const view = new ClusterView();
    view.apply(snapshot([member('a'), member('b'), member('c', 'unhealthy')], ['a', 1]), at);
    const changes = summary(
      view,
      snapshot([member('b', 'healthy', { metadata: { v: '2' } }), member('c'), member('d')], ['b', 2]),
    );
    expect(changes).toEqual([
      'leader_lost:a@1',
      'node_left:a',
      'node_joined:d',
      'node_healthy:c',
      'node_updated:b',
      'leader_elected:b@2',
    ]);
  });

  it('treats a new term for the same leader as a new leadership', () => {
    const view = new ClusterView();
    view.apply(snapshot([member('a')], ['a', 1]), at);
    expect(summary(view, snapshot([member('a')], ['a', 2]))).toEqual([
      'leader_lost:a@1',
      'leader_elected:a@2',
    ]);
  });

  it('does not report lastSeen moving on its own, but keeps it current', () => {
    const view = new ClusterView();
    view.apply(snapshot([member('a')]), at);
    const later = new Date(at.getTime() + 1000);
    expect(summary(view, snapshot([member('a', 'healthy', { lastSeen: later })]))).toEqual([]);
    expect(view.getNode('a')?.lastSeen).toEqual(later);
  });

  it('reports health transitions and address changes', () => {
    const view = new ClusterView();
    view.apply(snapshot([member('a')]), at);
    expect(summary(view, snapshot([member('a', 'unhealthy')]))).toEqual(['node_unhealthy:a']);
    expect(summary(view, snapshot([member('a', 'unhealthy', { address: 'a:1' })]))).toEqual([
      'node_updated:a',
    ]);
    expect(summary(view, snapshot([member('a', 'unknown', { address: 'a:1' })]))).toEqual(['node_updated:a']);
  });

  it('reports "no leader"', () => {
    const view = new ClusterView();
    view.apply(snapshot([member('a')], ['a', 4]), at);
    expect(summary(view, snapshot([member('a')]))).toEqual(['leader_lost:a@4']);
    expect(view.state).toMatchObject({ leader: undefined, term: undefined });
    expect(view.getNode('a')?.role).toBe('follower');
  });

  it('shows a leader whose member record is missing rather than hiding it', () => {
    const view = new ClusterView();
    view.apply(snapshot([member('a')], ['a', 1]), at);
    const changes = summary(view, snapshot([], ['a', 1]));
    expect(changes).toEqual([]);
    expect(view.leader).toMatchObject({ id: 'a', address: 'a.internal:9090', role: 'leader' });
  });

  it('replays the current picture for a new watcher and forgets it on reset', () => {
    const view = new ClusterView();
    view.apply(snapshot([member('b'), member('a')], ['b', 9]), at);
    expect(view.currentAsChanges(at).map((c) => `${c.type}:${c.node.id}`)).toEqual([
      'node_joined:a',
      'node_joined:b',
      'leader_elected:b',
    ]);
    view.reset();
    expect(view.nodes()).toEqual([]);
    expect(view.leader).toBeUndefined();
  });

  it('hands out frozen nodes', () => {
    const view = new ClusterView();
    view.apply(snapshot([member('a', 'healthy', { metadata: { zone: 'z' } })]), at);
    const node = view.getNode('a');
    expect(Object.isFrozen(node)).toBe(true);
    expect(Object.isFrozen(node?.metadata)).toBe(true);
  });
});

describe('ClusterView.update (deltas)', () => {
  it('applies only what changed, with the same ordering as a full snapshot', () => {
    const view = new ClusterView();
    view.update({ upserts: [member('a'), member('b')], removals: [], leader: { id: 'a', term: 1 } }, at);
    const changes = view
      .update(
        { upserts: [member('c'), member('b', 'unhealthy')], removals: ['a'], leader: { id: 'c', term: 5 } },
        at,
      )
      .map((c) => `${c.type}:${c.node.id}`);
    expect(changes).toEqual([
      'leader_lost:a',
      'node_left:a',
      'node_joined:c',
      'node_unhealthy:b',
      'leader_elected:c',
    ]);
    expect(view.nodes().map((node) => `${node.id}:${node.role}`)).toEqual(['b:follower', 'c:leader']);
  });

  it('demotes the former leader to follower when only the leader moves', () => {
    const view = new ClusterView();
    view.update({ upserts: [member('a'), member('b')], removals: [], leader: { id: 'a', term: 1 } }, at);
    view.update({ upserts: [], removals: [], leader: { id: 'b', term: 2 } }, at);
    expect(view.getNode('a')?.role).toBe('follower');
    expect(view.getNode('b')?.role).toBe('leader');
  });

  it('shows a leader that has no member record, and drops it once it no longer leads', () => {
    const view = new ClusterView();
    const first = view.update({ upserts: [member('b')], removals: [], leader: { id: 'ghost', term: 3 } }, at);
    expect(first.map((c) => `${c.type}:${c.node.id}`)).toEqual([
      'node_joined:b',
      'node_joined:ghost',
      'leader_elected:ghost',
    ]);
    const second = view.update({ upserts: [], removals: [], leader: { id: 'b', term: 4 } }, at);
    expect(second.map((c) => `${c.type}:${c.node.id}`)).toEqual([
      'leader_lost:ghost',
      'node_left:ghost',
      'leader_elected:b',
    ]);
    expect(view.nodes().map((node) => node.id)).toEqual(['b']);
  });
});
