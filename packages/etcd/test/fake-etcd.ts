import { EventEmitter } from 'node:events';
import type { Etcd3, IKeyValue, IRangeRequest, IWatchResponse } from 'etcd3';

interface Stored {
  readonly value: string;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly lease: string;
}

/** A watch as the fake hands it out: an EventEmitter like etcd3's `Watcher`. */
export class FakeWatcher extends EventEmitter {
  readonly prefix: string;
  readonly startRevision: number;
  cancelled = false;

  constructor(prefix: string, startRevision: number) {
    super();
    this.prefix = prefix;
    this.startRevision = startRevision;
  }

  async cancel(): Promise<void> {
    this.cancelled = true;
  }
}

/**
 * Just enough of etcd (through the surface of an `etcd3` client) for the mirror and the context:
 * a revisioned key space, prefix ranges, and watches that receive what is written while they are
 * connected. Failures and silent watches are switched on by the test.
 */
export class FakeEtcd {
  revision = 1;
  readonly #store = new Map<string, Stored>();
  readonly watchers: FakeWatcher[] = [];
  /** Range requests received, count-only ones included. */
  ranges = 0;
  /** While false, writes reach no watch (a watch on an isolated member hears nothing). */
  delivering = true;
  #rangeFailures: Error[] = [];
  /** Range requests wait for this, when set (to hold one in flight). */
  rangeGate: Promise<void> | undefined;

  /** The next `count` range requests fail with `error`. */
  failRanges(error: Error, count = 1): void {
    for (let index = 0; index < count; index++) this.#rangeFailures.push(error);
  }

  put(key: string, value: string, lease = '0'): number {
    const revision = ++this.revision;
    const before = this.#store.get(key);
    const stored = {
      value,
      createRevision: before?.createRevision ?? revision,
      modRevision: revision,
      lease,
    };
    this.#store.set(key, stored);
    this.#deliver({ type: 'Put', kv: toKv(key, stored) });
    return revision;
  }

  delete(key: string): number {
    const before = this.#store.get(key);
    if (!before) return this.revision;
    const revision = ++this.revision;
    this.#store.delete(key);
    this.#deliver({ type: 'Delete', kv: toKv(key, { ...before, modRevision: revision }) });
    return revision;
  }

  /** The newest watch that is not cancelled. */
  get watcher(): FakeWatcher | undefined {
    return this.watchers.filter((watcher) => !watcher.cancelled).at(-1);
  }

  readonly kv = {
    range: async (request: IRangeRequest) => {
      this.ranges++;
      await this.rangeGate;
      const failure = this.#rangeFailures.shift();
      if (failure) throw failure;
      const from = String(request.key);
      const to = request.range_end === undefined ? undefined : String(request.range_end);
      const kvs = [...this.#store.entries()]
        .filter(([key]) => (to === undefined ? key === from : key >= from && key < to))
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([key, stored]) => toKv(key, stored));
      return {
        header: { revision: String(this.revision) },
        kvs: request.count_only ? [] : kvs,
        count: String(kvs.length),
      };
    },
  };

  watch() {
    let prefix = '';
    let startRevision = 0;
    const builder = {
      prefix: (value: string) => {
        prefix = value;
        return builder;
      },
      startRevision: (value: string) => {
        startRevision = Number(value);
        return builder;
      },
      create: async () => {
        const watcher = new FakeWatcher(prefix, startRevision);
        this.watchers.push(watcher);
        return watcher;
      },
    };
    return builder;
  }

  /** This fake where an `Etcd3` client is expected. */
  get client(): Etcd3 {
    return this as unknown as Etcd3;
  }

  #deliver(event: { type: 'Put' | 'Delete'; kv: IKeyValue }): void {
    if (!this.delivering) return;
    const key = event.kv.key.toString();
    for (const watcher of this.watchers) {
      if (watcher.cancelled || !key.startsWith(watcher.prefix)) continue;
      const response = { header: { revision: String(this.revision) }, events: [event] };
      watcher.emit('data', response as unknown as IWatchResponse);
    }
  }
}

function toKv(key: string, stored: Stored): IKeyValue {
  return {
    key: Buffer.from(key),
    value: Buffer.from(stored.value),
    create_revision: String(stored.createRevision),
    mod_revision: String(stored.modRevision),
    version: '1',
    lease: stored.lease,
  };
}
