import { flushAsyncWork, ManualClock } from '@ztap/cluster-testing';
import { GRPCUnavailableError } from 'etcd3';
import { afterEach, describe, expect, it } from 'vitest';
import { type CallAccount, EtcdCaller } from '../src/calls.ts';
import { isEtcdUnavailableError } from '../src/errors.ts';
import { type MirrorBatch, PrefixMirror } from '../src/mirror.ts';
import { MAX_CONCURRENT_RELISTS, RelistGate } from '../src/relist-gate.ts';
import { FakeEtcd } from './fake-etcd.ts';

const PREFIX = '/c/';
const unavailable = () => new GRPCUnavailableError('14 UNAVAILABLE: No connection established');

function setup(
  options: {
    progressIntervalMs?: number;
    prefix?: string;
    scope?: 'prefix' | 'key';
    progress?: 'revision' | 'contents';
    random?: () => number;
    relists?: RelistGate;
  } = {},
) {
  const etcd = new FakeEtcd();
  const clock = new ManualClock();
  const reports: { kind: string; error: Error }[] = [];
  const account: CallAccount = { attempts: 0, report: (kind, error) => reports.push({ kind, error }) };
  const caller = new EtcdCaller({
    endpoints: ['http://127.0.0.1:2379'],
    maxRetries: 0,
    requestTimeout: 1000,
  });
  const mirror = new PrefixMirror(etcd.client, options.prefix ?? PREFIX, caller, {
    progressIntervalMs: () => options.progressIntervalMs ?? 5000,
    clock,
    account,
    ...(options.scope ? { scope: options.scope } : {}),
    ...(options.progress ? { progress: options.progress } : {}),
    // No jitter unless a test asks for it: checks and re-lists come at the earliest allowed time.
    random: options.random ?? (() => 0),
    relists: options.relists ?? new RelistGate(MAX_CONCURRENT_RELISTS),
  });
  const batches: MirrorBatch[] = [];
  mirror.subscribe((batch) => batches.push(batch));
  mirrors.push(mirror);
  return { etcd, clock, reports, account, mirror, batches };
}

const mirrors: PrefixMirror[] = [];
afterEach(async () => {
  await Promise.all(mirrors.splice(0).map((mirror) => mirror.stop()));
});

const keysOf = (batch: MirrorBatch | undefined) => [...(batch?.changedKeys ?? [])].sort();

describe('PrefixMirror', () => {
  it('lists the prefix, then watches from the revision after the list', async () => {
    const { etcd, mirror, batches } = setup();
    etcd.put('/c/a', '1');
    etcd.put('/other/x', 'not ours');
    await mirror.start();
    expect(mirror.get('/c/a')).toMatchObject({ value: '1', createRevision: 2, modRevision: 2, lease: '0' });
    expect(mirror.get('/other/x')).toBeUndefined();
    expect(mirror.revision).toBe(3);
    expect(etcd.watcher).toMatchObject({ prefix: '/c/', startRevision: 4 });
    expect(batches).toHaveLength(1);
    expect(keysOf(batches[0])).toEqual(['/c/a']);
    expect(batches[0]?.resync).toBe(false);

    etcd.put('/c/b', '2');
    etcd.delete('/c/a');
    expect(batches.map(keysOf).slice(1)).toEqual([['/c/b'], ['/c/a']]);
    expect(mirror.get('/c/a')).toBeUndefined();
    expect(mirror.revision).toBe(5);
    expect([...mirror.entriesUnder('/c/')].map((entry) => entry.key)).toEqual(['/c/b']);
  });

  it('every start shares the first; a caller that stops waiting does not cancel it for the others', async () => {
    const { etcd, mirror } = setup();
    let release!: () => void;
    etcd.rangeGate = new Promise((resolve) => {
      release = resolve;
    });
    const controller = new AbortController();
    const impatient = mirror.start(controller.signal);
    const patient = mirror.start();
    controller.abort(new Error('gave up'));
    await expect(impatient).rejects.toThrow('gave up');
    release();
    await patient;
    expect(etcd.ranges).toBe(1);
    expect(etcd.watchers).toHaveLength(1);
  });

  it('after a reconnect, lists again and reports exactly what changed meanwhile, as a resync', async () => {
    const { etcd, mirror, batches } = setup();
    etcd.put('/c/stays', '1');
    etcd.put('/c/goes', '1');
    etcd.put('/c/changes', '1');
    await mirror.start();
    etcd.delivering = false; // the connection is down: nothing reaches the watch
    etcd.delete('/c/goes');
    etcd.put('/c/changes', '2');
    etcd.put('/c/new', '1');
    etcd.delivering = true;
    etcd.watcher?.emit('connected');
    await mirror.waitFor(etcd.revision, 1000);
    const last = batches.at(-1);
    expect(keysOf(last)).toEqual(['/c/changes', '/c/goes', '/c/new']);
    expect(last?.resync).toBe(true);
    expect(mirror.get('/c/changes')?.value).toBe('2');
    expect(mirror.get('/c/goes')).toBeUndefined();
  });

  it('ignores watch events at or below the listed revision (no double apply across a re-list)', async () => {
    const { etcd, mirror, batches } = setup();
    await mirror.start();
    const watcher = etcd.watcher;
    etcd.delivering = false;
    etcd.put('/c/a', '1');
    watcher?.emit('connected');
    await mirror.waitFor(etcd.revision, 1000);
    const before = batches.length;
    // A late delivery of the event the list already contained.
    watcher?.emit('data', {
      header: { revision: String(etcd.revision) },
      events: [
        {
          type: 'Put',
          kv: {
            key: Buffer.from('/c/a'),
            value: Buffer.from('1'),
            create_revision: '2',
            mod_revision: '2',
            lease: '0',
          },
        },
      ],
    });
    expect(batches).toHaveLength(before);
  });

  it('replaces a cancelled watch (compaction) and lists again', async () => {
    const { etcd, mirror, batches } = setup();
    await mirror.start();
    const first = etcd.watcher;
    etcd.delivering = false;
    etcd.put('/c/a', '1');
    etcd.delivering = true;
    first?.emit('error', new Error('mvcc: required revision has been compacted'));
    await mirror.waitFor(etcd.revision, 1000);
    await flushAsyncWork(); // the new watch opens right after the list
    expect(first?.cancelled).toBe(true);
    expect(etcd.watcher).not.toBe(first);
    expect(etcd.watcher?.startRevision).toBe(etcd.revision + 1);
    expect(batches.at(-1)?.resync).toBe(true);
    expect(mirror.get('/c/a')?.value).toBe('1');
  });

  it('replaces a watch that stays behind etcd for two progress checks (it went silent)', async () => {
    const { etcd, clock, mirror } = setup({ progressIntervalMs: 1000 });
    await mirror.start();
    const silent = etcd.watcher;
    etcd.delivering = false;
    etcd.put('/c/a', '1');
    await clock.advance(1000); // behind: remember where etcd is
    expect(silent?.cancelled).toBe(false);
    etcd.delivering = true;
    await clock.advance(1000); // still behind that revision: replace
    expect(silent?.cancelled).toBe(true);
    expect(mirror.get('/c/a')?.value).toBe('1');
  });

  it('keeps its watch when only writes outside its prefix moved etcd on, and catches up to them', async () => {
    const { etcd, clock, mirror, batches } = setup({ progressIntervalMs: 1000 });
    etcd.put('/c/a', '1');
    await mirror.start();
    const watching = etcd.watcher;
    const elsewhere = etcd.put('/other/x', '1');
    etcd.put('/other/x', '2');
    await clock.advance(1000);
    await clock.advance(1000);
    await clock.advance(1000);
    expect(watching?.cancelled).toBe(false);
    expect(batches.some((batch) => batch.resync)).toBe(false);
    // A reader waiting for a revision past its prefix's last change hears that the mirror reached it.
    expect(mirror.revision).toBeGreaterThanOrEqual(elsewhere);
    // Its watch still delivers.
    etcd.put('/c/b', '2');
    expect(mirror.get('/c/b')?.value).toBe('2');
  });

  it('still replaces a silent watch when a key under its prefix was deleted or rewritten meanwhile', async () => {
    const { etcd, clock, mirror } = setup({ progressIntervalMs: 1000 });
    etcd.put('/c/a', '1');
    etcd.put('/c/b', '1');
    await mirror.start();
    const silent = etcd.watcher;
    etcd.delivering = false;
    etcd.delete('/c/a');
    etcd.put('/c/b', '2');
    await clock.advance(1000);
    await clock.advance(1000);
    expect(silent?.cancelled).toBe(true);
    expect(mirror.get('/c/a')).toBeUndefined();
    expect(mirror.get('/c/b')?.value).toBe('2');
  });

  describe("a small range ('contents' progress): the election keys, one member record", () => {
    const electionKeys = { progressIntervalMs: 1000, prefix: '/c/election/', progress: 'contents' } as const;

    it('keeps its watch while writes elsewhere move the store revision', async () => {
      const { etcd, clock, mirror, batches } = setup(electionKeys);
      etcd.put('/c/election/1', 'a');
      await mirror.start();
      const watcher = etcd.watcher;
      const listsBefore = etcd.ranges;
      for (let check = 0; check < 4; check++) {
        etcd.put(`/c/members/m${check}`, '{}');
        await clock.advance(1000);
      }
      expect(watcher?.cancelled).toBe(false);
      expect(batches).toHaveLength(1); // the first list only: nothing of its range changed
      expect(etcd.ranges - listsBefore).toBe(4); // one keys-only check each, no re-list
    });

    it('replaces a watch that missed a deletion in its range', async () => {
      const { etcd, clock, mirror } = setup(electionKeys);
      etcd.put('/c/election/1', 'a');
      await mirror.start();
      const silent = etcd.watcher;
      etcd.delivering = false;
      etcd.delete('/c/election/1');
      await clock.advance(1000); // differs: remember where etcd is
      expect(silent?.cancelled).toBe(false);
      etcd.delivering = true;
      await clock.advance(1000); // still differs: replace and list
      expect(silent?.cancelled).toBe(true);
      expect(mirror.get('/c/election/1')).toBeUndefined();
    });

    it('a one-key mirror follows that key, not the keys it prefixes', async () => {
      const { etcd, mirror, batches } = setup({
        prefix: '/c/members/n1',
        scope: 'key',
        progress: 'contents',
      });
      etcd.put('/c/members/n10', '{}');
      await mirror.start();
      expect(mirror.get('/c/members/n10')).toBeUndefined();
      etcd.put('/c/members/n10', '{"again":1}');
      etcd.put('/c/members/n1', '{}');
      expect(etcd.watcher).toMatchObject({ prefix: '/c/members/n1', exact: true });
      expect(batches.map(keysOf)).toEqual([['/c/members/n1']]);
    });

    it('catchUp lists a mirror its watch cannot bring to a revision, and does nothing when it is there', async () => {
      const { etcd, mirror } = setup({ prefix: '/c/election/', progress: 'contents' });
      await mirror.start();
      etcd.put('/c/members/x', '{}'); // revision 2, outside the range
      const before = etcd.ranges;
      await mirror.catchUp(2);
      expect(mirror.revision).toBe(2);
      await mirror.catchUp(2);
      expect(etcd.ranges - before).toBe(1);
    });
  });

  it('reports its failed requests to its account, keeps the error for health checks, and recovers', async () => {
    const { etcd, clock, mirror, reports } = setup({ progressIntervalMs: 1000 });
    await mirror.start();
    etcd.failRanges(unavailable());
    await clock.advance(1000);
    expect(reports.map((report) => report.kind)).toEqual(['unavailable']);
    expect(isEtcdUnavailableError(mirror.lastError)).toBe(true);
    await clock.advance(1000);
    expect(mirror.lastError).toBeUndefined();
  });

  it('a failed first list rejects start(); the next start() tries again from scratch', async () => {
    const { etcd, mirror, reports } = setup();
    etcd.failRanges(unavailable());
    await expect(mirror.start()).rejects.toSatisfy(isEtcdUnavailableError);
    expect(reports).toHaveLength(1);
    etcd.put('/c/a', '1');
    await mirror.start();
    expect(mirror.get('/c/a')?.value).toBe('1');
  });

  it('waitFor resolves true once the mirror reaches a revision, false after its timeout; abort rejects', async () => {
    const { etcd, clock, mirror } = setup();
    await mirror.start();
    expect(await mirror.waitFor(mirror.revision, 100)).toBe(true);
    etcd.delivering = false;
    const revision = etcd.put('/c/a', '1');
    const late = mirror.waitFor(revision, 100);
    await clock.advance(100);
    expect(await late).toBe(false);
    const controller = new AbortController();
    const aborted = mirror.waitFor(revision, 100);
    const waiting = mirror.waitFor(revision, 100, controller.signal);
    controller.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    etcd.delivering = true;
    etcd.put('/c/b', '1');
    expect(await aborted).toBe(true);
  });

  it('stop() cancels the watch and ends a request in flight', async () => {
    const { etcd, clock, mirror, reports } = setup({ progressIntervalMs: 1000 });
    await mirror.start();
    etcd.rangeGate = new Promise(() => {}); // the next read never answers
    await clock.advance(1000);
    await mirror.stop();
    expect(etcd.watcher).toBeUndefined();
    expect(reports).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  });
});

/** `count` started mirrors of one fake etcd whose re-lists share a gate of `limit` turns. */
async function gatedMirrors(count: number, limit: number) {
  const etcd = new FakeEtcd();
  const gate = new RelistGate(limit);
  const clock = new ManualClock();
  const account: CallAccount = { attempts: 0, report: () => {} };
  const caller = new EtcdCaller({
    endpoints: ['http://127.0.0.1:2379'],
    maxRetries: 0,
    requestTimeout: 60_000,
  });
  const fleet = Array.from({ length: count }, () => {
    const mirror = new PrefixMirror(etcd.client, PREFIX, caller, {
      progressIntervalMs: () => 60_000,
      clock,
      account,
      random: () => 0,
      relists: gate,
    });
    mirrors.push(mirror);
    return mirror;
  });
  for (const mirror of fleet) await mirror.start();
  return { etcd, gate, clock, fleet };
}

describe('PrefixMirror under a reconnect storm (a fleet reconnecting at once)', () => {
  it('checks progress at jittered times, never sooner than the interval and before 1.5 intervals', async () => {
    const { etcd, clock, mirror } = setup({ progressIntervalMs: 1000, random: () => 0.5 });
    await mirror.start();
    const listed = etcd.ranges;
    await clock.advance(1249);
    expect(etcd.ranges).toBe(listed);
    await clock.advance(1);
    expect(etcd.ranges).toBe(listed + 1);
    await clock.advance(1249);
    expect(etcd.ranges).toBe(listed + 1);
    await clock.advance(1);
    expect(etcd.ranges).toBe(listed + 2);
  });

  it('re-lists once per reconnect, after a jitter that grows with the prefix; reconnects meanwhile join it', async () => {
    const { etcd, clock, mirror, batches } = setup({ progressIntervalMs: 60_000, random: () => 0.5 });
    for (let index = 0; index < 100; index++) etcd.put(`/c/n${index}`, '1');
    await mirror.start();
    const listed = etcd.ranges;
    etcd.delivering = false;
    etcd.put('/c/late', '1');
    etcd.delivering = true;
    // 100 keys: a window of 200 ms, half of it with this random.
    etcd.watcher?.emit('connected');
    await clock.advance(50);
    etcd.watcher?.emit('connected'); // the same connection flapping again before the re-list ran
    await clock.advance(49);
    expect(etcd.ranges).toBe(listed);
    await clock.advance(1);
    await mirror.waitFor(etcd.revision, 1000);
    expect(etcd.ranges).toBe(listed + 1);
    expect(batches.at(-1)?.resync).toBe(true);
    expect(mirror.get('/c/late')?.value).toBe('1');
    await clock.advance(1000);
    expect(etcd.ranges).toBe(listed + 1);
  });

  it('a list started after the reconnect (a sync) stands for the reconnect re-list', async () => {
    const { etcd, clock, mirror } = setup({ progressIntervalMs: 60_000, random: () => 0.99 });
    for (let index = 0; index < 100; index++) etcd.put(`/c/n${index}`, '1');
    await mirror.start();
    etcd.watcher?.emit('connected');
    const listed = etcd.ranges;
    etcd.delivering = false;
    etcd.put('/c/late', '1'); // the watch never brings it: sync() gives up waiting and lists
    const syncing = mirror.sync(100);
    await clock.advance(100);
    await syncing;
    expect(etcd.ranges).toBe(listed + 2); // the revision read and the list
    await clock.advance(1000);
    expect(etcd.ranges).toBe(listed + 2);
    expect(mirror.get('/c/late')?.value).toBe('1');
  });

  it("re-lists of every mirror in the process wait for a turn: at most the gate's limit in flight", async () => {
    const { etcd, gate, fleet } = await gatedMirrors(6, 2);
    let release!: () => void;
    etcd.rangeGate = new Promise((resolve) => {
      release = resolve;
    });
    const before = etcd.ranges;
    for (const watcher of etcd.watchers) watcher.emit('connected');
    await flushAsyncWork();
    expect(etcd.ranges - before).toBe(2);
    expect(gate.waiting).toBe(4);
    etcd.rangeGate = undefined;
    release();
    await Promise.all(fleet.map((mirror) => mirror.waitFor(etcd.revision, 1000)));
    await flushAsyncWork();
    expect(etcd.ranges - before).toBe(6);
    expect(gate.running).toBe(0);
  });

  it('a reconnect while an earlier list is still in flight lists again once that list is done', async () => {
    const { etcd, clock } = await gatedMirrors(2, 1);
    const [otherWatcher, watcher] = etcd.watchers;
    let release!: () => void;
    etcd.rangeGate = new Promise((resolve) => {
      release = resolve;
    });
    const before = etcd.ranges;
    otherWatcher?.emit('connected'); // takes the one turn, and holds it
    await flushAsyncWork();
    watcher?.emit('connected'); // its list waits for the turn
    await flushAsyncWork();
    watcher?.emit('connected'); // a second reconnect while that list has not run
    await flushAsyncWork();
    etcd.rangeGate = undefined;
    release();
    await flushAsyncWork();
    await clock.advance(1);
    await flushAsyncWork();
    // One list for the other mirror; for this one, the list begun before the second reconnect and
    // one after it.
    expect(etcd.ranges - before).toBe(3);
  });
});
