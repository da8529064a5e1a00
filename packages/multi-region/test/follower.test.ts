import { EventEmitter, once } from 'node:events';
import type { Etcd3, IWatchResponse } from 'etcd3';
import { describe, expect, it } from 'vitest';
import { EtcdCalls } from '../src/calls.ts';
import { type FollowerBatch, PrefixFollower } from '../src/follower.ts';

/**
 * Just enough of an etcd3 client for the follower: a list answer, and watchers whose first answers
 * the test scripts. Like etcd3, a watcher emits everything a gRPC message batch brings in one go, and
 * `create()` resolves on `connected` (or rejects on `error`) as etcd3's does.
 */
class FakeEtcd {
  readonly watchers: { startRevision: number; watcher: EventEmitter }[] = [];
  listRevision = 10;
  /** Reads at a revision below this fail as etcd's do after a compaction. */
  compactRevision = 0;
  /** What every new watcher says the moment it is attached. */
  onAttach: (watcher: EventEmitter, startRevision: number) => void = (watcher) =>
    setImmediate(() => watcher.emit('connected', { header: { revision: '10' } }));

  get client(): Etcd3 {
    return {
      kv: {
        range: async (request: { revision?: string }) => {
          if (request.revision !== undefined && Number(request.revision) < this.compactRevision)
            throw new Error('etcdserver: mvcc: required revision has been compacted');
          if (request.revision !== undefined && Number(request.revision) > this.listRevision)
            throw new Error('etcdserver: mvcc: required revision is a future revision');
          return { header: { revision: String(this.listRevision), cluster_id: 'c1' }, kvs: [] };
        },
      },
      watch: () => {
        let startRevision = 0;
        const builder = {
          prefix: () => builder,
          startRevision: (revision: string) => {
            startRevision = Number(revision);
            return builder;
          },
          watcher: () => {
            const watcher = Object.assign(new EventEmitter(), { cancel: async () => {} });
            this.watchers.push({ startRevision, watcher });
            this.onAttach(watcher, startRevision);
            return watcher;
          },
          create: () => {
            const watcher = builder.watcher();
            return Promise.race([
              once(watcher, 'connected').then(() => watcher),
              once(watcher, 'error').then(([error]) => Promise.reject(error)),
            ]);
          },
        };
        return builder;
      },
    } as unknown as Etcd3;
  }
}

const response = (revision: number, key: string): IWatchResponse =>
  ({
    header: { revision: String(revision), cluster_id: 'c1' },
    events: [
      { type: 'Put', kv: { key: Buffer.from(key), value: Buffer.from('v'), mod_revision: String(revision) } },
    ],
  }) as unknown as IWatchResponse;

function follow(etcd: FakeEtcd) {
  const batches: FollowerBatch[] = [];
  const delivered = new EventEmitter();
  const follower = new PrefixFollower({
    client: etcd.client,
    prefix: '/p/',
    calls: new EtcdCalls(['http://fake:1'], { requestTimeout: 1000, maxRetries: 0 }),
    description: 'the test prefix',
    retryDelayMs: 10,
    onBatch: (batch) => {
      batches.push(batch);
      delivered.emit('batch', batch);
    },
    wallNow: () => new Date(0),
  });
  /** The next batch the follower delivers (await it instead of polling). */
  const nextBatch = () => once(delivered, 'batch');
  return { follower, batches, nextBatch };
}

describe('PrefixFollower: what etcd says when it opens a watch is never missed', () => {
  it('delivers changes etcd sends in the same breath as its confirmation of the watch', async () => {
    const etcd = new FakeEtcd();
    etcd.onAttach = (watcher) =>
      setImmediate(() => {
        watcher.emit('connected', { header: { revision: '12' } });
        watcher.emit('data', response(6, '/p/a'));
      });
    const { follower, batches } = follow(etcd);
    await follower.start(6);
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches).toEqual([
      { kind: 'changes', clusterId: 'c1', changes: [{ type: 'put', key: '/p/a', value: 'v', revision: 6 }] },
    ]);
    expect(follower.position).toBe(6);
    await follower.stop();
  });

  it('lists again when etcd cancels the watch right after confirming it (its start was compacted)', async () => {
    const etcd = new FakeEtcd();
    etcd.onAttach = (watcher, startRevision) =>
      setImmediate(() => {
        watcher.emit('connected', { header: { revision: '12' } });
        if (startRevision === 6) watcher.emit('error', new Error('Watcher canceled: compacted'));
      });
    const { follower, batches, nextBatch } = follow(etcd);
    const listed = nextBatch();
    await follower.start(6);
    await listed;
    expect(batches).toEqual([
      { kind: 'snapshot', revision: 10, clusterId: 'c1', keys: [], askedAt: new Date(0) },
    ]);
    // And watches from after the list.
    expect(etcd.watchers.map((one) => one.startRevision)).toEqual([6, 11]);
    await follower.stop();
  });

  it('resumes from a compacted revision by listing, never by a watch etcd would cancel at once', async () => {
    // etcd3 1.1 leaves its attach queue on such a watch: no later watch of the client ever opens.
    const etcd = new FakeEtcd();
    etcd.compactRevision = 8;
    const { follower, batches } = follow(etcd);
    await follower.start(6);
    expect(batches).toEqual([
      { kind: 'snapshot', revision: 10, clusterId: 'c1', keys: [], askedAt: new Date(0) },
    ]);
    expect(etcd.watchers.map((one) => one.startRevision)).toEqual([11]);
    await follower.stop();
  });

  it('resumes with a watch from where it was when etcd still has that revision', async () => {
    const etcd = new FakeEtcd();
    etcd.compactRevision = 5;
    const { follower, batches } = follow(etcd);
    await follower.start(6);
    expect(batches).toEqual([]);
    expect(etcd.watchers.map((one) => one.startRevision)).toEqual([6]);
    await follower.stop();
  });

  it('resumes with a watch from a revision the store has not reached (another store: its consumer judges)', async () => {
    const etcd = new FakeEtcd();
    const { follower, batches } = follow(etcd);
    await follower.start(40);
    expect(batches).toEqual([]);
    expect(etcd.watchers.map((one) => one.startRevision)).toEqual([40]);
    await follower.stop();
  });
});
