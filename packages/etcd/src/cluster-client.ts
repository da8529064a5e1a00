import {
  Broadcast,
  type Clock,
  type ClusterState,
  type ClusterStateChange,
  ClusterView,
  describeValue,
  type MemberRecord,
  type NodeRegistration,
  type Policy,
  type PolicyDocument,
  type PolicyUpdate,
  type PolicyWriteOptions,
  type PolicyWriteResult,
  systemClock,
  ValidationError,
  type WatchOptions,
} from '@ztap/cluster';
import type { Etcd3 } from 'etcd3';
import { type CallOptions, EtcdCaller } from './calls.ts';
import { createEtcdClient } from './client.ts';
import { leaderFrom, MemberRecords, memberFrom, membersFrom } from './cluster-store.ts';
import { KeyLayout } from './keys.ts';
import { acquireMirror, type MirrorEntry, prefixRangeEnd, toEntry } from './mirror.ts';
import { type EtcdConnectionOptions, type ResolvedConnection, resolveConnection } from './options.ts';
import { EtcdPolicyStore, type PolicyTxn } from './policy-store.ts';

export interface EtcdClusterClientOptions extends EtcdConnectionOptions {
  /** An existing client to use (never closed by this one); exclusive with endpoints/tls/auth. */
  readonly client?: Etcd3;
  /** Cluster name (keys under `/ztap/clusters/<cluster>/`). Default `default`. */
  readonly cluster?: string;
  /** Full key prefix instead of the one derived from `cluster`. */
  readonly prefix?: string;
  /** Deadline of each request attempt, ms. Default 5000. */
  readonly requestTimeout?: number;
  /** Retries of transient failures. Default 3. */
  readonly maxRetries?: number;
  /** How many changes a `watch()` consumer may fall behind. Default 1024. */
  readonly watchBufferSize?: number;
  readonly clock?: Clock;
}

export interface GetStateOptions extends CallOptions {
  /**
   * Ask etcd for each member's lease, so `lastSeen` is when its last keepalive arrived (to the
   * second) rather than when its record last changed. One extra request per member.
   */
  readonly leaseTimes?: boolean;
}

/**
 * Reads and administers a cluster without joining it: what `ztap cluster status | list | watch |
 * join | leave` use. Constructing it does no I/O; `close()` (or `await using`) releases the
 * connection it opened.
 */
export class EtcdClusterClient implements AsyncDisposable {
  readonly keys: KeyLayout;
  readonly #connection: ResolvedConnection;
  readonly #caller: EtcdCaller;
  readonly #records: MemberRecords;
  /** The cluster's policies, with an operator's (unfenced, optionally compare-and-set) writes. */
  readonly policies: OperatorPolicies;
  readonly #clock: Clock;
  readonly #requestTimeout: number;
  readonly #watchBufferSize: number;
  #client: Etcd3 | undefined;

  constructor(options: EtcdClusterClientOptions = {}) {
    this.#connection = resolveConnection(options);
    this.#requestTimeout = positiveInteger('requestTimeout', options.requestTimeout ?? 5000);
    this.#watchBufferSize = positiveInteger('watchBufferSize', options.watchBufferSize ?? 1024);
    this.#clock = options.clock ?? systemClock;
    this.keys = new KeyLayout(this.#connection.prefix);
    this.#caller = new EtcdCaller({
      endpoints: this.#connection.endpoints,
      maxRetries: options.maxRetries ?? 3,
      requestTimeout: this.#requestTimeout,
    });
    this.#records = new MemberRecords(() => this.client, this.keys, this.#caller, this.#clock);
    this.policies = new OperatorPolicies(
      new EtcdPolicyStore(() => this.client, this.keys, this.#caller, this.#clock, this.#requestTimeout),
      (txn, call) =>
        this.#caller.call('write a policy', (options) => this.client.kv.txn(txn, options), call.signal, {
          retry: false,
          deadline: call.deadline,
        }),
      options.auth ? `operator:${options.auth.username}` : 'operator',
    );
  }

  get prefix(): string {
    return this.keys.prefix;
  }

  get endpoints(): readonly string[] {
    return this.#connection.endpoints;
  }

  get client(): Etcd3 {
    this.#client ??=
      this.#connection.client ??
      createEtcdClient({
        endpoints: this.#connection.endpoints,
        tls: this.#connection.tls,
        auth: this.#connection.auth,
        requestTimeout: this.#requestTimeout,
      });
    return this.#client;
  }

  /** The cluster as etcd holds it now (one linearizable read; `deadline` covers the lease reads too). */
  async getState(options: GetStateOptions = {}): Promise<ClusterState> {
    const { entries } = await this.#list(options);
    const now = this.#clock.wallNow();
    let members = membersFrom(entries, this.keys, now);
    if (options.leaseTimes) {
      const leases = new Map(
        entries.filter((e) => e.key.startsWith(this.keys.membersPrefix)).map((e) => [e.key, e.lease]),
      );
      members = await Promise.all(
        members.map(async (member) =>
          this.#withLeaseTime(member, leases.get(this.keys.memberKey(member.id)), now, options),
        ),
      );
    }
    const first = entries
      .filter((entry) => entry.key.startsWith(this.keys.electionPrefix))
      .reduce<MirrorEntry | undefined>(
        (a, b) => (a && a.createRevision < b.createRevision ? a : b),
        undefined,
      );
    const view = new ClusterView();
    view.apply({ members, leader: leaderFrom(first) }, now);
    return view.state;
  }

  async registerNode(node: NodeRegistration, options: CallOptions = {}): Promise<void> {
    await this.#records.register(node, options);
  }

  async deregisterNode(nodeId: string, options: CallOptions = {}): Promise<void> {
    await this.#records.deregister(nodeId, options);
  }

  /**
   * Every change to the cluster, in order, until `signal` aborts or the consumer stops; the same
   * events and ordering an election's `watch()` gives. With `includeExisting`, starts with the
   * current picture. Fails (rejects on the first read) if etcd cannot be reached.
   */
  async *watch(options: WatchOptions = {}): AsyncGenerator<ClusterStateChange> {
    const { mirror, release } = acquireMirror(this.client, this.prefix, this.#caller, {
      progressIntervalMs: this.#requestTimeout,
      clock: this.#clock,
    });
    const view = new ClusterView();
    const changes = new Broadcast<ClusterStateChange>({
      bufferSize: this.#watchBufferSize,
      overflow: 'error',
    });
    let ready = false;
    const unsubscribe = mirror.subscribe((batch) => {
      if (!ready) return; // the first picture below covers it
      const now = this.#clock.wallNow();
      const upserts: MemberRecord[] = [];
      const removals: string[] = [];
      for (const key of batch.changedKeys) {
        if (!key.startsWith(this.keys.membersPrefix)) continue;
        const entry = mirror.get(key);
        const member = entry && memberFrom(entry, this.keys, now);
        if (member) upserts.push(member);
        else removals.push(key.slice(this.keys.membersPrefix.length));
      }
      const leader = leaderFrom(mirror.firstCampaign(this.keys.electionPrefix));
      for (const change of view.update({ upserts, removals, leader }, now)) changes.publish(change);
    });
    try {
      await mirror.start();
      await mirror.sync(this.#requestTimeout);
      const now = this.#clock.wallNow();
      const initial = view.apply(
        {
          members: membersFrom(mirror.entriesUnder(this.keys.membersPrefix), this.keys, now),
          leader: leaderFrom(mirror.firstCampaign(this.keys.electionPrefix)),
        },
        now,
      );
      ready = true;
      yield* changes.subscribe({ signal: options.signal, initial: options.includeExisting ? initial : [] });
    } finally {
      unsubscribe();
      changes.close();
      await release();
    }
  }

  async close(): Promise<void> {
    if (this.#client && this.#client !== this.#connection.client) this.#client.close();
    this.#client = undefined;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #list(call: CallOptions): Promise<{ entries: MirrorEntry[]; revision: number }> {
    const response = await this.#caller.call(
      'read the cluster',
      (options) =>
        this.client.kv.range(
          { key: Buffer.from(this.prefix), range_end: prefixRangeEnd(this.prefix) },
          options,
        ),
      call.signal,
      { deadline: call.deadline },
    );
    const entries = response.kvs.map(toEntry);
    return { entries, revision: Number(response.header.revision) };
  }

  async #withLeaseTime(
    member: MemberRecord,
    lease: string | undefined,
    now: Date,
    call: CallOptions,
  ): Promise<MemberRecord> {
    if (!lease || lease === '0') return member;
    const answer = await this.#caller.call(
      'read a lease',
      (options) => this.client.leaseClient.leaseTimeToLive({ ID: lease }, options),
      call.signal,
      { deadline: call.deadline },
    );
    const remaining = Number(answer.TTL);
    const granted = Number(answer.grantedTTL);
    if (remaining < 0) return member;
    // etcd resets the TTL to its granted value at each keepalive: the difference is time since the last one.
    return { ...member, lastSeen: new Date(now.getTime() - (granted - remaining) * 1000) };
  }
}

/**
 * Policy writes as an operator makes them (`ztap policy push`): not fenced by any leadership (the
 * operator is not a node), attributed to `operator` (or `operator:<etcd user>`), and safe against a
 * concurrent operator with `ifVersion` compare-and-set.
 */
export class OperatorPolicies {
  readonly #store: EtcdPolicyStore;
  readonly #txn: PolicyTxn;
  readonly #updatedBy: string;

  constructor(store: EtcdPolicyStore, txn: PolicyTxn, updatedBy: string) {
    this.#store = store;
    this.#txn = txn;
    this.#updatedBy = updatedBy;
  }

  /** Publishes a policy; an identical document writes nothing and resolves with `changed: false`. */
  push(
    name: string,
    document: PolicyDocument,
    options: PolicyWriteOptions & CallOptions = {},
  ): Promise<PolicyWriteResult> {
    return this.#store.put(name, document, this.#updatedBy, this.#txn, options);
  }

  delete(name: string, options: PolicyWriteOptions & CallOptions = {}): Promise<boolean> {
    return this.#store.delete(name, this.#txn, options);
  }

  get(name: string, options: CallOptions = {}): Promise<Policy | undefined> {
    return this.#store.get(name, options);
  }

  list(options: CallOptions = {}): Promise<Policy[]> {
    return this.#store.list(options);
  }

  subscribe(options: { signal?: AbortSignal | undefined } = {}): AsyncIterable<PolicyUpdate> {
    return this.#store.subscribe(options);
  }
}

function positiveInteger(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new ValidationError(field, `must be a positive whole number (got ${describeValue(value)})`);
  return value;
}
