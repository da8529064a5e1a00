import { describe, expect, it } from 'vitest';
import type { WireLeadership, WireMember, WireSnapshot } from '../src/wire.ts';
import {
  applyDelta,
  changedRecently,
  chartGeometry,
  countStates,
  currentLeadership,
  duration,
  globalLeaderLine,
  isStale,
  lagText,
  stateFromSnapshot,
  timeLabel,
  timelineRows,
  visibleMembers,
  WINDOW_MS,
} from '../web/view-model.js';

const NOW = Date.parse('2026-01-01T12:00:00Z');
const iso = (msAgo: number) => new Date(NOW - msAgo).toISOString();

const member = (id: string, overrides: Partial<WireMember> = {}): WireMember => ({
  id,
  address: `10.0.0.${id.length}:9090`,
  state: 'healthy',
  role: 'follower',
  joinedAt: iso(3_600_000),
  lastSeen: iso(1000),
  metadata: {},
  ...overrides,
});

const leadership = (term: number, nodeId: string, startAgo: number, endAgo?: number): WireLeadership => ({
  term,
  nodeId,
  start: { at: iso(startAgo), accuracy: 'observed' },
  ...(endAgo === undefined
    ? {}
    : { end: { at: iso(endAgo), accuracy: 'observed' }, endReason: 'lease_ended' }),
});

function snapshot(overrides: Partial<WireSnapshot> = {}): WireSnapshot {
  return {
    kind: 'snapshot',
    prefix: '/p/',
    generatedAt: iso(0),
    connection: { state: 'connected', since: iso(10_000) },
    loaded: true,
    members: [],
    leader: null,
    timeline: [],
    history: { state: 'done', oldestRevision: 1, toRevision: 5 },
    policies: [],
    ...overrides,
  };
}

describe('the page’s view model', () => {
  it('filters members by any visible field and sorts by a column, ties by id', () => {
    const members = [
      member('b', { state: 'unhealthy', metadata: { zone: 'eu-1' } }),
      member('a', { metadata: { zone: 'us-1' } }),
      member('c', { state: 'unhealthy' }),
    ];
    expect(visibleMembers(members, '', 'id', 'ascending').map((m) => m.id)).toEqual(['a', 'b', 'c']);
    expect(visibleMembers(members, '', 'state', 'descending').map((m) => m.id)).toEqual(['b', 'c', 'a']);
    expect(visibleMembers(members, 'ZONE=EU', 'id', 'ascending').map((m) => m.id)).toEqual(['b']);
    expect(visibleMembers(members, 'unhealthy', 'id', 'descending').map((m) => m.id)).toEqual(['c', 'b']);
  });

  it('marks a member changed in the last minute only', () => {
    expect(changedRecently(member('a', { changedAt: iso(59_000) }), NOW)).toBe(true);
    expect(changedRecently(member('a', { changedAt: iso(61_000) }), NOW)).toBe(false);
    expect(changedRecently(member('a'), NOW)).toBe(false);
  });

  it('applies deltas to the snapshot and counts states', () => {
    const state = stateFromSnapshot(snapshot({ members: [member('a'), member('b')] }));
    applyDelta(state, { kind: 'members', upserts: [member('c', { state: 'unknown' })], removals: ['a'] });
    applyDelta(state, { kind: 'last-seen', lastSeen: { b: iso(0), gone: iso(0) } });
    applyDelta(state, { kind: 'leader', leader: { id: 'b', term: 3 } });
    expect([...state.members.keys()]).toEqual(['b', 'c']);
    expect(state.members.get('b')?.lastSeen).toBe(iso(0));
    expect(countStates(state)).toEqual({ healthy: 1, unhealthy: 0, unknown: 1 });
    expect(state.leader).toEqual({ id: 'b', term: 3 });
  });

  it('is stale while etcd or the dashboard cannot be reached', () => {
    const state = stateFromSnapshot(snapshot());
    expect(isStale(state)).toBe(false);
    applyDelta(state, { kind: 'connection', connection: { state: 'disconnected', since: iso(0) } });
    expect(isStale(state)).toBe(true);
    applyDelta(state, { kind: 'connection', connection: { state: 'connected', since: iso(0) } });
    state.serverReachable = false;
    expect(isStale(state)).toBe(true);
  });

  it('lists leader changes newest first with the leaderless gap before each', () => {
    const state = stateFromSnapshot(
      snapshot({ timeline: [leadership(2, 'a', 600_000, 300_000), leadership(7, 'b', 290_000)] }),
    );
    expect(timelineRows(state).map((row) => [row.leadership.term, row.gapBeforeMs])).toEqual([
      [7, 10_000],
      [2, undefined],
    ]);
  });

  it('lays out the last hour: leaderships, gaps without a leader, and ticks', () => {
    const state = stateFromSnapshot(
      snapshot({
        leader: { id: 'b', term: 7 },
        timeline: [
          leadership(1, 'z', 9_000_000, 7_200_000),
          leadership(2, 'a', 1_800_000, 900_000),
          leadership(7, 'b', 450_000),
        ],
      }),
    );
    const { segments, gaps, ticks } = chartGeometry(state, NOW);
    expect(segments.map((s) => [s.leadership.term, s.x0, s.x1])).toEqual([
      [2, 0.5, 0.75],
      [7, 0.875, 1],
    ]);
    expect(gaps).toEqual([
      { x0: 0, x1: 0.5 },
      { x0: 0.75, x1: 0.875 },
    ]);
    expect(ticks).toHaveLength(7);
    expect(ticks.at(-1)).toEqual({ x: 1, label: 'now' });
    expect(WINDOW_MS).toBe(3_600_000);
  });

  it('shows how long the leader has led, and how sure that is', () => {
    const state = stateFromSnapshot(
      snapshot({
        leader: { id: 'b', term: 7 },
        timeline: [{ term: 7, nodeId: 'b', start: { at: iso(125_000), accuracy: 'before' } }],
      }),
    );
    expect(currentLeadership(state, NOW)).toMatchObject({ forMs: 125_000, mark: 'at least ' });
    expect(duration(125_000)).toBe('2m 05s');
    expect(duration(7_380_000)).toBe('2h 3m');
    expect(timeLabel({ at: iso(0), accuracy: 'estimated' })).toMatch(/^~\d\d:\d\d:\d\d$/);
    expect(timeLabel({ at: iso(0), accuracy: 'before' })).toMatch(/^≤/);
  });
});

describe('the regions section', () => {
  it('names the global leader, its region and global term; or says why there is none', () => {
    expect(
      globalLeaderLine({ globalLeader: 'us-1@us', globalRegion: 'us', globalTerm: 12, regions: [] }),
    ).toEqual({ text: 'Global leader: us-1@us in region us, global term 12', bad: false });
    expect(globalLeaderLine({ globalState: 'connected', regions: [] })).toEqual({
      text: 'No global leader',
      bad: true,
    });
    expect(
      globalLeaderLine({
        globalState: 'disconnected',
        globalReason: 'g:1: refused',
        globalLeader: 'x',
        regions: [],
      }),
    ).toEqual({ text: 'Global store unreachable: g:1: refused', bad: true });
  });

  it('shows a short lag in tenths of a second, a long one as a duration', () => {
    expect(lagText(340)).toBe('0.3s');
    expect(lagText(9_940)).toBe('9.9s');
    expect(lagText(75_000)).toBe('1m 15s');
  });
});
