import { EventEmitter } from 'node:events';
import {
  type Etcd3,
  EtcdLeaseInvalidError,
  GRPCDeadlineExceededError,
  type ICompare,
  type IDeleteRangeRequest,
  type IKeyValue,
  type IPutRequest,
  type IRangeRequest,
  type IRequestOp,
  type ITxnRequest,
  type IWatchResponse,
} from 'etcd3';

interface Stored {
  readonly value: string;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly lease: string;
}

/**
 * A watch as the fake hands it out: an EventEmitter like etcd3's `Watcher`. What arrives before its
 * owner listens for `data` waits for it, as it would in the network buffers.
 */
export class FakeWatcher extends EventEmitter {
  readonly prefix: string;
  readonly startRevision: number;
  /** Watches the one key `prefix` names (etcd3's `watch().key()`), not every key it prefixes. */
  readonly exact: boolean;
  cancelled = false;
  #waiting: IWatchResponse[] = [];

  constructor(prefix: string, startRevision: number, exact = false) {
    super();
    this.prefix = prefix;
    this.startRevision = startRevision;
    this.exact = exact;
  }

  /** Whether an event on `key` reaches this watcher. */
  covers(key: string): boolean {
    return this.exact ? key === this.prefix : key.startsWith(this.prefix);
  }

  receive(response: IWatchResponse): void {
    if (this.listenerCount('data') === 0) this.#waiting.push(response);
    else this.emit('data', response);
  }

  override on(event: string, listener: (...args: never[]) => void): this {
    super.on(event, listener as (...args: unknown[]) => void);
    if (event === 'data') for (const response of this.#waiting.splice(0)) this.emit('data', response);
    return this;
  }

  async cancel(): Promise<void> {
    this.cancelled = true;
  }
}

/** A call the fake can be told never to answer. */
export type FakeCall = 'range' | 'txn' | 'put' | 'deleteRange' | 'leaseGrant' | 'leaseRevoke';

/**
 * Just enough of etcd (through the surface of an `etcd3` client) for the mirror, the context and an
 * election: a revisioned key space, prefix ranges, transactions, leases (grant, revoke, keepalive
 * stream), and watches that receive what is written while they are connected. Failures, calls that
 * never answer and silent watches are switched on by the test.
 */
export class FakeEtcd {
  revision = 1;
  readonly #store = new Map<string, Stored>();
  /** Every write, so a watch can start from a past revision, as etcd's do. */
  readonly #history: {
    readonly revision: number;
    readonly event: { type: 'Put' | 'Delete'; kv: IKeyValue };
  }[] = [];
  readonly #leases = new Map<string, number>();
  #nextLease = 0x694d8a4d2a9e5e00n;
  /** Every unary call, by name, in the order received. */
  readonly calls: string[] = [];
  /** Every transaction received. */
  readonly txns: ITxnRequest[] = [];
  /** Calls that are received but never answered: they fail at their deadline, as gRPC makes them. */
  readonly hanging = new Set<FakeCall>();
  /**
   * When set, a transaction it matches is applied (and its events delivered) at once, but its answer
   * waits for the promise: the watch brings the news before the writer hears back.
   */
  holdAnswer: ((request: ITxnRequest) => Promise<void> | undefined) | undefined;
  readonly watchers: FakeWatcher[] = [];
  /** Range requests received, count-only ones included. */
  ranges = 0;
  /** While false, writes reach no watch (a watch on an isolated member hears nothing). */
  delivering = true;
  /** When true, watches hear of a write on the next turn of the event loop, after its writer could. */
  deliverLater = false;
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

  /** Revokes a lease behind its holder's back (an operator, or etcd expiring it). */
  expireLease(id: string): number {
    this.#leases.delete(id);
    let revision = this.revision;
    for (const [key, stored] of [...this.#store]) if (stored.lease === id) revision = this.delete(key);
    return revision;
  }

  get leases(): string[] {
    return [...this.#leases.keys()];
  }

  get(key: string): Stored | undefined {
    return this.#store.get(key);
  }

  async #answer(call: FakeCall, options?: { deadline?: Date | number }): Promise<void> {
    this.calls.push(call);
    if (!this.hanging.has(call)) return;
    const deadline = options?.deadline === undefined ? Number.POSITIVE_INFINITY : Number(options.deadline);
    await new Promise((resolve) => setTimeout(resolve, Math.min(deadline - Date.now(), 2 ** 31 - 1)));
    throw new GRPCDeadlineExceededError('4 DEADLINE_EXCEEDED: Deadline exceeded');
  }

  readonly leaseClient = {
    leaseGrant: async (request: { TTL: number }, options?: { deadline?: Date }) => {
      await this.#answer('leaseGrant', options);
      const id = String(this.#nextLease++);
      this.#leases.set(id, request.TTL);
      return { header: { revision: String(this.revision) }, ID: id, TTL: String(request.TTL) };
    },
    leaseRevoke: async (request: { ID: string }, options?: { deadline?: Date }) => {
      await this.#answer('leaseRevoke', options);
      if (!this.#leases.has(request.ID))
        throw new EtcdLeaseInvalidError('etcdserver: requested lease not found');
      const revision = this.expireLease(request.ID);
      return { header: { revision: String(revision) } };
    },
    leaseKeepAlive: async () => {
      const stream = new EventEmitter() as EventEmitter & {
        write(request: { ID: string }): void;
        end(): void;
      };
      stream.write = (request) => {
        const ttl = this.#leases.get(request.ID) ?? 0;
        queueMicrotask(() => stream.emit('data', { ID: request.ID, TTL: String(ttl) }));
      };
      stream.end = () => {};
      return stream;
    },
  };

  readonly kv = {
    put: async (request: IPutRequest, options?: { deadline?: Date }) => {
      await this.#answer('put', options);
      return { header: { revision: String(this.revision) }, ...this.#apply({ request_put: request }) };
    },
    deleteRange: async (request: IDeleteRangeRequest, options?: { deadline?: Date }) => {
      await this.#answer('deleteRange', options);
      const { response_delete_range } = this.#apply({ request_delete_range: request }) as {
        response_delete_range: object;
      };
      return { header: { revision: String(this.revision) }, ...response_delete_range };
    },
    txn: async (request: ITxnRequest, options?: { deadline?: Date }) => {
      await this.#answer('txn', options);
      this.txns.push(request);
      const succeeded = (request.compare ?? []).every((compare) => this.#holds(compare));
      for (const op of (succeeded ? request.success : request.failure) ?? []) {
        const lease = op.request_put?.lease;
        if (lease !== undefined && lease !== '0' && !this.#leases.has(String(lease)))
          throw new EtcdLeaseInvalidError('etcdserver: requested lease not found');
      }
      const responses = ((succeeded ? request.success : request.failure) ?? []).map((op) => this.#apply(op));
      const answer = { header: { revision: String(this.revision) }, succeeded, responses };
      await this.holdAnswer?.(request);
      return answer;
    },
    range: async (request: IRangeRequest, options?: { deadline?: Date }) => {
      this.ranges++;
      await this.#answer('range', options);
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
        kvs: request.count_only
          ? []
          : request.keys_only
            ? kvs.map((kv) => ({ ...kv, value: Buffer.alloc(0) }))
            : kvs,
        count: String(kvs.length),
      };
    },
  };

  watch() {
    let prefix = '';
    let exact = false;
    let startRevision = 0;
    const builder = {
      prefix: (value: string) => {
        prefix = value;
        return builder;
      },
      key: (value: string) => {
        prefix = value;
        exact = true;
        return builder;
      },
      startRevision: (value: string) => {
        startRevision = Number(value);
        return builder;
      },
      create: async () => {
        const watcher = new FakeWatcher(prefix, startRevision, exact);
        this.watchers.push(watcher);
        // What happened since `startRevision` comes first.
        for (const { revision, event } of this.#history)
          if (revision >= startRevision) this.#send(watcher, revision, event);
        return watcher;
      },
    };
    return builder;
  }

  /** This fake where an `Etcd3` client is expected. */
  get client(): Etcd3 {
    return this as unknown as Etcd3;
  }

  close(): void {}

  #holds(compare: ICompare): boolean {
    const stored = this.#store.get(String(compare.key));
    if (compare.target === 'Create')
      return String(stored?.createRevision ?? 0) === String(compare.create_revision);
    if (compare.target === 'Mod') return String(stored?.modRevision ?? 0) === String(compare.mod_revision);
    if (compare.target === 'Lease') return String(stored?.lease ?? '0') === String(compare.lease);
    throw new Error(`the fake cannot compare ${compare.target}`);
  }

  #apply(op: IRequestOp): object {
    if (op.request_put) {
      const { key, value, lease } = op.request_put;
      this.put(String(key), String(value), lease === undefined ? '0' : String(lease));
      return { response_put: {} };
    }
    if (op.request_delete_range) {
      const key = String(op.request_delete_range.key);
      const deleted = this.#store.has(key) ? 1 : 0;
      this.delete(key);
      return { response_delete_range: { deleted: String(deleted) } };
    }
    const key = String(op.request_range?.key);
    const stored = this.#store.get(key);
    return { response_range: { kvs: stored ? [toKv(key, stored)] : [] } };
  }

  #deliver(event: { type: 'Put' | 'Delete'; kv: IKeyValue }): void {
    const revision = this.revision;
    this.#history.push({ revision, event });
    if (!this.delivering) return;
    const deliver = () => {
      for (const watcher of this.watchers) this.#send(watcher, revision, event);
    };
    if (this.deliverLater) setImmediate(deliver);
    else deliver();
  }

  #send(watcher: FakeWatcher, revision: number, event: { type: 'Put' | 'Delete'; kv: IKeyValue }): void {
    if (watcher.cancelled || !watcher.covers(event.kv.key.toString())) return;
    const response = { header: { revision: String(revision) }, events: [event] };
    watcher.receive(response as unknown as IWatchResponse);
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
