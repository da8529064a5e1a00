import type { ClusterStateChange } from '@ztap/cluster';
import { isValidationError } from '@ztap/cluster';
import { flushAsyncWork, ManualClock } from '@ztap/cluster-testing';
import { GRPCUnavailableError } from 'etcd3';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireContext, type ContextMember, type ContextRequest, type HeldContext } from '../src/context.ts';
import { FakeEtcd } from './fake-etcd.ts';

const clock = new ManualClock();
const held: HeldContext[] = [];
afterEach(async () => {
  await Promise.all(held.splice(0).map((context) => context.release()));
});

function request(etcd: FakeEtcd, extra: Partial<ContextRequest> = {}): ContextRequest {
  const settings = { requestTimeout: 1000, maxRetries: 0, clock };
  return {
    client: etcd.client,
    prefix: '/c/',
    view: 'full',
    endpoints: ['http://127.0.0.1:2379'],
    required: settings,
    defaults: settings,
    progressIntervalMs: 5000,
    ...extra,
  };
}

function acquire(etcd: FakeEtcd, extra: Partial<ContextRequest> = {}): HeldContext {
  const context = acquireContext(request(etcd, extra));
  held.push(context);
  return context;
}

/** A member that records what the context told it. */
function member(name: string, log: string[]) {
  const delivered: (readonly ClusterStateChange[])[] = [];
  const recorder: ContextMember = {
    reconsider: () => log.push(`${name}:reconsider`),
    reconcile: () => log.push(`${name}:reconcile`),
    deliver: (changes) => {
      delivered.push(changes);
      log.push(`${name}:deliver`);
    },
    onContextError: (kind) => log.push(`${name}:error:${kind}`),
    onResync: () => log.push(`${name}:resync`),
  };
  return { recorder, delivered };
}

describe('the per-client context', () => {
  it('is one per client and prefix, shared by reference count; the last release stops its watch', async () => {
    const etcd = new FakeEtcd();
    const first = acquire(etcd);
    const second = acquire(etcd);
    expect(second.context).toBe(first.context);
    expect(acquire(etcd, { prefix: '/other/' }).context).not.toBe(first.context);
    expect(acquire(new FakeEtcd()).context).not.toBe(first.context);

    await first.context.mirror.start();
    await first.release();
    await first.release(); // idempotent: does not count twice
    expect(etcd.watcher).toBeDefined();
    await second.release();
    expect(etcd.watcher).toBeUndefined();
    const again = acquire(etcd);
    expect(again.context).not.toBe(first.context);
  });

  it('refuses a later user that requires other settings, naming the setting; a user that requires none adopts them', () => {
    const etcd = new FakeEtcd();
    const { context } = acquire(etcd);
    const conflict = (required: ContextRequest['required']) => {
      try {
        acquire(etcd, { required });
      } catch (error) {
        if (isValidationError(error)) return error;
        throw error;
      }
      return undefined;
    };
    const timeout = conflict({ requestTimeout: 2500 });
    expect(timeout?.field).toBe('requestTimeout');
    expect(timeout?.message).toBe(
      'requestTimeout must be the same for everything in this process that shares an etcd client and key prefix (/c/): 1000 ms is in use, got 2500 ms. Give them the same requestTimeout, or give this one a client of its own',
    );
    expect(conflict({ maxRetries: 3 })?.field).toBe('maxRetries');
    expect(conflict({ clock: new ManualClock() })?.field).toBe('clock');
    expect(conflict({ requestTimeout: undefined, maxRetries: undefined, clock: undefined })).toBeUndefined();
    expect(conflict({ requestTimeout: 1000 })).toBeUndefined();
    expect(context.settings).toEqual({ requestTimeout: 1000, maxRetries: 0, clock });
  });

  it('a user that creates the context without requirements gives it its defaults', () => {
    const { context } = acquire(new FakeEtcd(), {
      required: {},
      defaults: { requestTimeout: 3000, maxRetries: 2, clock },
    });
    expect(context.settings).toEqual({ requestTimeout: 3000, maxRetries: 2, clock });
  });

  it('a batch reaches only the elections it concerns, and its changes (one array) only those that watch', async () => {
    const etcd = new FakeEtcd();
    const { context } = acquire(etcd);
    const log: string[] = [];
    const a = member('a', log);
    const b = member('b', log);
    const c = member('c', log);
    const inA = context.join(a.recorder, '/c/members/a');
    const inB = context.join(b.recorder, '/c/members/b');
    context.join(c.recorder, '/c/members/c');
    inA.setCampaignKey('/c/election/a1');
    inB.setCampaignKey('/c/election/b1');
    inA.setWatching(true);
    inB.setWatching(true);
    const heard: (readonly ClusterStateChange[])[] = [];
    context.watchChanges((changes) => heard.push(changes));
    await context.mirror.start();
    log.length = 0;

    etcd.put('/c/members/a', JSON.stringify({ address: 'a:1', metadata: {}, joinedAt: '' }), '7');
    expect(log).toEqual(['a:reconsider', 'a:deliver', 'b:deliver', 'a:reconcile']);
    expect(b.delivered[0]).toBe(a.delivered[0]);
    expect(heard[0]).toBe(a.delivered[0]);
    expect(a.delivered[0]?.map((change) => `${change.type}:${change.node.id}`)).toEqual(['node_joined:a']);

    log.length = 0;
    etcd.put('/c/election/b1', 'b', '8'); // b's key: b campaigns, and becomes first
    expect(log).toEqual(['b:reconsider', 'a:deliver', 'b:deliver', 'b:reconcile']);
    log.length = 0;
    etcd.put('/c/election/a1', 'a', '7'); // a queues behind b: the first key does not move
    expect(log).toEqual(['a:reconsider', 'a:reconcile']);
    log.length = 0;
    etcd.delete('/c/election/b1'); // b's key goes: a's is first now
    expect(log).toEqual(['b:reconsider', 'a:reconsider', 'a:deliver', 'b:deliver', 'b:reconcile']);

    log.length = 0;
    inB.setWatching(false);
    etcd.put('/c/members/c', JSON.stringify({ address: 'c:1', metadata: {}, joinedAt: '' }), '9');
    expect(log).toEqual(['c:reconsider', 'a:deliver', 'c:reconcile']);

    log.length = 0;
    etcd.put('/c/policies/p', '{}'); // not a member, not a campaign: nobody to tell
    expect(log).toEqual([]);
  });

  it('tells every member about a failure of its own requests and about a rebuilt view', async () => {
    const etcd = new FakeEtcd();
    const { context } = acquire(etcd, { progressIntervalMs: 1000 });
    const log: string[] = [];
    context.join(member('a', log).recorder, '/c/members/a');
    context.join(member('b', log).recorder, '/c/members/b');
    await context.mirror.start();
    etcd.failRanges(new GRPCUnavailableError('14 UNAVAILABLE: No connection established'));
    await clock.advance(1500); // the progress check comes within one and a half intervals (jittered)
    expect(log).toEqual(['a:error:unavailable', 'b:error:unavailable']);

    log.length = 0;
    etcd.watcher?.emit('connected');
    await flushAsyncWork();
    expect(log).toEqual([
      'a:reconsider',
      'b:reconsider',
      'a:resync',
      'b:resync',
      'a:reconcile',
      'b:reconcile',
    ]);
  });

  it('forgets a member that left', async () => {
    const etcd = new FakeEtcd();
    const { context } = acquire(etcd);
    const log: string[] = [];
    const membership = context.join(member('a', log).recorder, '/c/members/a');
    membership.setWatching(true);
    await context.mirror.start();
    membership.leave();
    etcd.put('/c/members/a', JSON.stringify({ address: 'a:1', metadata: {}, joinedAt: '' }), '7');
    expect(log).toEqual([]);
  });
});
