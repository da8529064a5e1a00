import { describe, expect, it } from 'vitest';
import { ClusterView, ElectionView, type MemberRecord } from '../src/backend.ts';
import type { ClusterStateChange } from '../src/index.ts';

const at = new Date('2026-01-01T00:00:00Z');
const member = (id: string): MemberRecord => ({
  id,
  address: `${id}.internal:9090`,
  metadata: {},
  state: 'healthy',
  joinedAt: at,
  lastSeen: at,
  priority: 0,
});
const summary = (changes: readonly ClusterStateChange[]) =>
  changes.map((change) => `${change.type}:${change.node.id}${change.term ? `@${change.term}` : ''}`);

/** A shared view with members a, b, c led by `leader`, and the election of `self` over it. */
function setup(self: string, leader: [string, number]) {
  const shared = new ClusterView();
  shared.apply(
    { members: [member('a'), member('b'), member('c')], leader: { id: leader[0], term: leader[1] } },
    at,
  );
  let leads = self === leader[0];
  const view = new ElectionView(self, () => leads);
  view.attach(shared, at);
  const step = (
    next: [string, number] | undefined,
    changes: { upserts?: MemberRecord[]; removals?: string[] } = {},
  ) => {
    const before = shared.leaderRecord;
    const sharedChanges = shared.update(
      {
        upserts: changes.upserts ?? [],
        removals: changes.removals ?? [],
        leader: next ? { id: next[0], term: next[1] } : undefined,
      },
      at,
    );
    return { sharedChanges, own: view.follow(sharedChanges, before, at) };
  };
  return {
    shared,
    view,
    step,
    setLeads: (value: boolean) => {
      leads = value;
    },
  };
}

describe('ElectionView', () => {
  it('hands the shared changes on as they are (the same array) when its picture does not differ', () => {
    const { step, view } = setup('b', ['a', 1]);
    const { sharedChanges, own } = step(['c', 2], { removals: ['a'] });
    expect(own).toBe(sharedChanges);
    expect(summary(own)).toEqual(['leader_lost:a@1', 'node_left:a', 'leader_elected:c@2']);
    expect(view.leader?.id).toBe('c');
  });

  it('never shows its own node as leader while it may not lead, in getters and in changes', () => {
    const { view, setLeads, shared, step } = setup('a', ['a', 1]);
    expect(view.getNode('a')?.role).toBe('leader');
    setLeads(false); // stepped down locally (deadline): etcd still shows its key first
    expect(view.leader).toBeUndefined();
    expect(view.state.term).toBeUndefined();
    expect(view.getNode('a')?.role).toBe('follower');
    expect(view.nodes().filter((node) => node.role === 'leader')).toEqual([]);
    expect(shared.leader?.id).toBe('a');
    expect(summary(view.refresh(at))).toEqual(['leader_lost:a@1']);
    expect(view.refresh(at)).toEqual([]);

    // etcd catches up: the shared view loses a and elects b. a's watchers heard leader_lost already.
    const { sharedChanges, own } = step(['b', 2]);
    expect(summary(sharedChanges)).toEqual(['leader_lost:a@1', 'leader_elected:b@2']);
    expect(summary(own)).toEqual(['leader_elected:b@2']);
    expect(view.leader?.id).toBe('b');
  });

  it('shows itself as follower in member changes while hidden', () => {
    const { setLeads, step, view } = setup('a', ['a', 1]);
    setLeads(false);
    view.refresh(at);
    const { own } = step(['a', 1], { upserts: [{ ...member('a'), address: 'a.internal:9191' }] });
    expect(summary(own)).toEqual(['node_updated:a']);
    expect(own[0]?.node.role).toBe('follower');
  });

  it('reports its own leadership when it begins after the shared view showed it', () => {
    const { step, view, setLeads } = setup('b', ['a', 1]);
    setLeads(false);
    const { own } = step(['b', 2], { removals: ['a'] }); // b is first in etcd but has not gained yet
    expect(summary(own)).toEqual(['leader_lost:a@1', 'node_left:a']);
    setLeads(true);
    expect(summary(view.refresh(at))).toEqual(['leader_elected:b@2']);
  });

  it('shows nothing once reset', () => {
    const { view } = setup('a', ['a', 1]);
    view.reset();
    expect(view.nodes()).toEqual([]);
    expect(view.state).toEqual({ leader: undefined, term: undefined, nodes: [] });
    expect(view.currentAsChanges(at)).toEqual([]);
  });
});
