import type { WireRegions } from '@ztap/cluster-dashboard';
import type { MultiRegionStatus } from '@ztap/cluster-multi-region';
import { describe, expect, it } from 'vitest';
import { nextRegionsView, pollRegions, wireRegionsFrom } from '../src/commands/dashboard-regions.ts';
import { exampleStatus } from './region-status-example.ts';

const status = exampleStatus;

const globalDown: MultiRegionStatus = {
  global: { endpoints: ['http://g:1'], reachable: false, error: 'http://g:1: connection refused' },
  regions: [],
};

describe('the dashboard region feed: MultiRegionStatus → WireRegions', () => {
  it('shows the global leader, and each region with its leader, term, lag and reachability', () => {
    expect(wireRegionsFrom(status)).toEqual({
      globalLeader: 'us-1@us',
      globalRegion: 'us',
      globalTerm: 12,
      globalState: 'connected',
      regions: [
        { name: 'eu', leader: 'eu-2', term: 7, replicationLagMs: 1234, state: 'connected' },
        { name: 'ap', state: 'disconnected', reason: 'etcd at http://a:1 is unreachable' },
      ],
    });
  });

  it('an unreachable global store is shown with its reason, and the regions seen before stay, marked', () => {
    const before = wireRegionsFrom(status);
    const view = nextRegionsView(before, wireRegionsFrom(globalDown));
    expect(view.globalState).toBe('disconnected');
    expect(view.globalReason).toBe('http://g:1: connection refused');
    expect(view.regions.map((region) => [region.name, region.state, region.leader])).toEqual([
      ['ap', 'disconnected', undefined],
      ['eu', 'disconnected', 'eu-2'],
    ]);
    expect(view.regions[1]?.reason).toMatch(/global store .* unreachable/);
    expect(view.regions[1]?.replicationLagMs).toBeUndefined();
  });

  it('a region that stops answering keeps its last leader and term, marked, without a stale lag', () => {
    const before = wireRegionsFrom(status);
    const cutOff: MultiRegionStatus = {
      ...status,
      regions: [
        { name: 'eu', endpoints: ['http://e:1'], reachable: false, error: 'http://e:1: deadline exceeded' },
        status.regions[1] as MultiRegionStatus['regions'][number],
      ],
    };
    expect(nextRegionsView(before, wireRegionsFrom(cutOff)).regions).toEqual([
      { name: 'eu', leader: 'eu-2', term: 7, state: 'disconnected', reason: 'http://e:1: deadline exceeded' },
      { name: 'ap', state: 'disconnected', reason: 'etcd at http://a:1 is unreachable' },
    ]);
  });
});

describe('pollRegions', () => {
  /** A read that answers with `answers` in turn (a thrown Error for an Error), then stays put. */
  function scripted(answers: (MultiRegionStatus | Error)[]) {
    let reads = 0;
    const read = async () => {
      const answer = answers[Math.min(reads++, answers.length - 1)] as MultiRegionStatus | Error;
      if (answer instanceof Error) throw answer;
      return answer;
    };
    return { read, reads: () => reads };
  }

  it('a read that fails as a whole keeps the last view, marked disconnected, and reports the error', async () => {
    const errors: unknown[] = [];
    const stop = new AbortController();
    const source = scripted([status, new Error('directory entry "EU" is not a region name'), status]);
    const feed = pollRegions(source.read, {
      intervalMs: 1,
      signal: stop.signal,
      onError: (e) => errors.push(e),
    });
    const first = (await feed.next()).value as WireRegions;
    const second = (await feed.next()).value as WireRegions;
    const third = (await feed.next()).value as WireRegions;
    stop.abort();
    expect(first.regions[0]?.leader).toBe('eu-2');
    expect(second.globalState).toBe('disconnected');
    expect(second.globalLeader).toBe('us-1@us');
    expect(second.regions.map((region) => [region.name, region.state, region.leader])).toEqual([
      ['eu', 'disconnected', 'eu-2'],
      ['ap', 'disconnected', undefined],
    ]);
    expect(second.regions[0]?.reason).toMatch(/cannot read the regions: directory entry/);
    expect(third).toEqual(first);
    expect(errors).toHaveLength(1);
  });

  it('does not send a view equal to the last, and ends when its signal aborts', async () => {
    const stop = new AbortController();
    const source = scripted([status, status, status, globalDown]);
    const feed = pollRegions(source.read, { intervalMs: 1, signal: stop.signal });
    const first = (await feed.next()).value as WireRegions;
    const next = (await feed.next()).value as WireRegions;
    expect(first.globalState).toBe('connected');
    // The two identical reads in between were not sent.
    expect(next.globalState).toBe('disconnected');
    expect(source.reads()).toBe(4);
    const ending = feed.next();
    stop.abort();
    expect(await ending).toEqual({ done: true, value: undefined });
  });

  it('abandons a read in flight when its signal aborts', async () => {
    const stop = new AbortController();
    const feed = pollRegions(() => new Promise<MultiRegionStatus>(() => {}), { signal: stop.signal });
    const ending = feed.next();
    stop.abort();
    expect(await ending).toEqual({ done: true, value: undefined });
  });
});
