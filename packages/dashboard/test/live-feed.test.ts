import { flushAsyncWork, ManualClock } from '@ztap/cluster-testing';
import { afterEach, describe, expect, it } from 'vitest';
import { LiveFeed } from '../src/live-feed.ts';
import { DashboardModel } from '../src/model.ts';
import type { WireDelta, WireRegions } from '../src/wire.ts';
import { change, policy, ScriptedSource } from './scripted-source.ts';

const feeds: LiveFeed[] = [];
afterEach(async () => {
  for (const feed of feeds.splice(0)) await feed.close();
});

function startFeed(source: ScriptedSource, regions?: AsyncIterable<WireRegions>) {
  const clock = new ManualClock(new Date('2026-01-01T00:00:00Z'));
  const deltas: WireDelta[] = [];
  const model = new DashboardModel(
    source.keys.prefix,
    (delta) => deltas.push(delta),
    () => clock.wallNow().getTime(),
  );
  const feed = new LiveFeed(source, model, {
    probeIntervalMs: 1000,
    lastSeenIntervalMs: 5000,
    retryDelayMs: 1000,
    clock,
    regions,
  });
  feeds.push(feed);
  feed.start();
  return { clock, model, deltas };
}

describe('LiveFeed', () => {
  it('shows the cluster as the watch starts, then each change with why a leadership ended', async () => {
    const source = new ScriptedSource();
    source.initialChanges = [
      change('node_joined', 'a'),
      change('node_joined', 'b'),
      change('leader_elected', 'a', { role: 'leader' }, 4),
    ];
    const { model } = startFeed(source);
    await flushAsyncWork();
    expect(model.leader).toEqual({ id: 'a', term: 4 });
    expect(model.timeline[0]?.start.accuracy).toBe('before');
    // One etcd batch: a's lease ended, so its campaign key and member record went together.
    source.clusterChanges.publish(change('leader_lost', 'a', {}, 4));
    source.clusterChanges.publish(change('node_left', 'a'));
    source.clusterChanges.publish(change('leader_elected', 'b', { role: 'leader' }, 6));
    await flushAsyncWork();
    expect(model.timeline.map((l) => [l.term, l.nodeId, l.endReason, l.start.accuracy])).toEqual([
      [4, 'a', 'lease_ended', 'before'],
      [6, 'b', undefined, 'observed'],
    ]);
  });

  it('dates an outage from the first probe etcd did not answer, and recovers', async () => {
    const source = new ScriptedSource();
    const { clock, model } = startFeed(source);
    await flushAsyncWork();
    expect(model.connection.state).toBe('connected');
    await clock.advance(1000);
    source.reachable = false;
    // The probe of this moment already ran: the next one, a second later, is the first unanswered.
    const firstUnanswered = new Date(clock.wallNow().getTime() + 1000).toISOString();
    await clock.advance(1000);
    await clock.advance(1000);
    expect(model.connection).toEqual({
      state: 'disconnected',
      since: firstUnanswered,
      reason: 'etcd at http://***@127.0.0.1:2379 is unreachable',
    });
    source.reachable = true;
    await clock.advance(1000);
    expect(model.connection).toEqual({ state: 'connected', since: clock.wallNow().toISOString() });
  });

  it('refreshes lastSeen from leases only while connected', async () => {
    const source = new ScriptedSource();
    source.initialChanges = [change('node_joined', 'a')];
    const { clock, model } = startFeed(source);
    await flushAsyncWork();
    source.lastSeenMap = new Map([['a', new Date('2026-01-01T00:00:04Z')]]);
    await clock.advance(5000);
    expect(model.member('a')?.lastSeen).toBe('2026-01-01T00:00:04.000Z');
    source.reachable = false;
    await clock.advance(1000);
    source.lastSeenMap = new Map([['a', new Date('2026-01-01T00:00:09Z')]]);
    await clock.advance(4000);
    expect(model.member('a')?.lastSeen).toBe('2026-01-01T00:00:04.000Z');
  });

  it('follows policies: the snapshot, then updates', async () => {
    const source = new ScriptedSource();
    source.policyHistory.set('p', [policy('p', 3)]);
    const { model } = startFeed(source);
    await flushAsyncWork();
    expect(model.snapshot().policies.map((p) => [p.name, p.version])).toEqual([['p', 3]]);
    source.pushPolicy(policy('p', 8));
    await flushAsyncWork();
    expect(model.snapshot().policies.map((p) => [p.name, p.version])).toEqual([['p', 8]]);
  });

  it('merges the reconstructed history and says how far back it reached', async () => {
    const source = new ScriptedSource();
    const e = source.keys.electionPrefix;
    source.historyResult = {
      oldestRevision: 1,
      initial: [],
      events: [
        { type: 'put', key: `${e}1`, value: 'old', revision: 2, createRevision: 2 },
        { type: 'delete', key: `${e}1`, value: '', revision: 5, createRevision: 2 },
      ],
      toRevision: 9,
    };
    const { model } = startFeed(source);
    await flushAsyncWork();
    expect(model.snapshot().history).toEqual({ state: 'done', oldestRevision: 1, toRevision: 9 });
    expect(model.timeline.map((l) => [l.term, l.nodeId, l.end?.revision])).toEqual([[2, 'old', 5]]);
  });

  it('says why the history could not be read, and retries ever more slowly until it can', async () => {
    const source = new ScriptedSource();
    source.historyFailures = 2;
    const { clock, model } = startFeed(source);
    await flushAsyncWork();
    expect(model.snapshot().history).toEqual({
      state: 'failed',
      detail: 'etcd denied permission to replay history',
    });
    await clock.advance(1000); // the second read fails too; the next waits 2 s
    await clock.advance(1000);
    expect(model.snapshot().history.state).toBe('failed');
    await clock.advance(1000);
    expect(model.snapshot().history).toEqual({ state: 'done', oldestRevision: 1, toRevision: 1 });
  });

  it('shows regions when it is given a region source', async () => {
    const source = new ScriptedSource();
    const view: WireRegions = {
      globalLeader: 'eu-1',
      regions: [{ name: 'eu', leader: 'eu-1', term: 4, replicationLagMs: 120 }],
    };
    async function* regions() {
      yield view;
    }
    const { model } = startFeed(source, regions());
    await flushAsyncWork();
    expect(model.snapshot().regions).toEqual(view);
    const { model: plain } = startFeed(new ScriptedSource());
    await flushAsyncWork();
    expect('regions' in plain.snapshot()).toBe(false);
  });
});
