import {
  type Clock,
  type ClusterState,
  type ClusterStateChange,
  type NodeRegistration,
  type Policy,
  type PolicyDocument,
  type PolicyUpdate,
  type PolicyWriteOptions,
  type PolicyWriteResult,
  systemClock,
  type TransferResult,
  ValidationError,
  type WatchOptions,
} from '@ztap/cluster';
import { Broadcast, ClusterView, describeValue, type MemberRecord } from '@ztap/cluster/backend';
import type { Etcd3 } from 'etcd3';
import type { CallAccount, CallOptions } from './calls.ts';
import { bytes, CampaignQueue, type StoredKey } from './campaign.ts';
import { clientFor, clientForOperation } from './client.ts';
import { deregisterMember, leaderFrom, membersFrom, registerMember } from './cluster-store.ts';
import { acquireContext, type ContextRequest, type EtcdClusterContext, withContext } from './context.ts';
import { KeyLayout } from './keys.ts';
import { prefixRangeEnd, toEntry } from './mirror.ts';
import { type OperatorTransferOptions, transferAsOperator } from './operator-transfer.ts';
import { type EtcdConnectionOptions, type ResolvedConnection, resolveConnection } from './options.ts';
import { EtcdPolicyStore, type PolicyTxn } from './policy-store.ts';

export interface EtcdClusterClientOptions extends EtcdConnectionOptions {
  /** An existing client to use (never closed by this one); exclusive with endpoints/tls/auth. */
  readonly client?: Etcd3;
  /** Cluster name (keys under `/ztap/clusters/<cluster>/`). Default `default`. */
  readonly cluster?: string;
  /** Full key prefix instead of the one derived from `cluster`. */
  readonly prefix?: string;
  /**
   * Deadline of each request attempt, ms. Default 5000 — or, on a `client` that elections in this
   * process already use for the same prefix, theirs (given explicitly, it must match theirs).
   */
  readonly requestTimeout?: number;
  /** Retries of transient failures. Default 3, or theirs on a shared client (as for `requestTimeout`). */
  readonly maxRetries?: number;
  /** How many changes a `watch()` consumer may fall behind. Default 1024. */
  readonly watchBufferSize?: number;
  /** Time source. Default the system clock, or theirs on a shared client (as for `requestTimeout`). */
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
 * Policy writes as an operator makes them (`ztap policy push`): not fenced by any leadership (the
 * operator is not a node), attributed to `operator` (or `operator:<etcd user>`), and safe against a
 * concurrent operator with `ifVersion` compare-and-set.
 */
export interface OperatorPolicies {
  /** Publishes a policy; an identical document writes nothing and resolves with `changed: false`. */
  push(
    name: string,
    document: PolicyDocument,
    options?: PolicyWriteOptions & CallOptions,
  ): Promise<PolicyWriteResult>;
  delete(name: string, options?: PolicyWriteOptions & CallOptions): Promise<boolean>;
  get(name: string, options?: CallOptions): Promise<Policy | undefined>;
  list(options?: CallOptions): Promise<Policy[]>;
  subscribe(options?: { signal?: AbortSignal | undefined }): AsyncIterable<PolicyUpdate>;
}

/**
 * Reads and administers a cluster without joining it: what `ztap cluster status | list | watch |
 * join | leave` use. Constructing it does no I/O; `close()` (or `await using`) releases the
 * connection it opened. Its requests and watches go through the per-client context of its client
 * and prefix, shared with the elections of this process that use the same client.
 */
export class EtcdClusterClient implements AsyncDisposable {
  readonly #keys: KeyLayout;
  readonly #connection: ResolvedConnection;
  readonly #options: EtcdClusterClientOptions;
  /** The cluster's policies, with an operator's (unfenced, optionally compare-and-set) writes. */
  readonly policies: OperatorPolicies;
  readonly #watchBufferSize: number;
  readonly #account: CallAccount = { attempts: 0, report: () => {} };
  #client: Etcd3 | undefined;

  constructor(options: EtcdClusterClientOptions = {}) {
    this.#connection = resolveConnection(options);
    if (options.requestTimeout !== undefined) positiveInteger('requestTimeout', options.requestTimeout);
    if (options.maxRetries !== undefined && (!Number.isInteger(options.maxRetries) || options.maxRetries < 0))
      throw new ValidationError(
        'maxRetries',
        `must be a whole number, 0 or more (got ${describeValue(options.maxRetries)})`,
      );
    this.#watchBufferSize = positiveInteger('watchBufferSize', options.watchBufferSize ?? 1024);
    this.#options = options;
    this.#keys = new KeyLayout(this.#connection.prefix);
    const store = new EtcdPolicyStore({
      contextRequest: (operation) => this.#contextRequest(operation),
      keys: this.#keys,
      account: this.#account,
    });
    const txn: PolicyTxn = (request, call) =>
      this.#use('write a policy', (context) =>
        context.caller.call('write a policy', (deadline) => context.client.kv.txn(request, deadline), {
          class: 'once',
          account: this.#account,
          signal: call.signal,
          deadline: call.deadline,
        }),
      );
    const updatedBy = options.auth ? `operator:${options.auth.username}` : 'operator';
    this.policies = {
      push: (name, document, writeOptions) => store.put(name, document, updatedBy, txn, writeOptions),
      delete: (name, writeOptions) => store.delete(name, txn, writeOptions),
      get: (name, readOptions) => store.get(name, readOptions),
      list: (readOptions) => store.list(readOptions),
      subscribe: (subscribeOptions = {}) => store.subscribe(subscribeOptions),
    };
  }

  get prefix(): string {
    return this.#keys.prefix;
  }

  get endpoints(): readonly string[] {
    return this.#connection.endpoints;
  }

  get client(): Etcd3 {
    this.#client ??= clientFor(this.#connection, this.#options.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT);
    return this.#client;
  }

  /** The cluster as etcd holds it now (one linearizable read; `deadline` covers the lease reads too). */
  async getState(options: GetStateOptions = {}): Promise<ClusterState> {
    return this.#use('read the cluster', async (context) => {
      const response = await context.caller.call(
        'read the cluster',
        (deadline) =>
          context.client.kv.range(
            { key: bytes(this.prefix), range_end: prefixRangeEnd(this.prefix) },
            deadline,
          ),
        { class: 'read', account: this.#account, signal: options.signal, deadline: options.deadline },
      );
      const entries = response.kvs.map(toEntry);
      const now = context.settings.clock.wallNow();
      let members = membersFrom(entries, this.#keys, now);
      if (options.leaseTimes) {
        const leases = new Map(entries.map((entry) => [entry.key, entry.lease]));
        members = await Promise.all(
          members.map((member) =>
            this.#withLeaseTime(context, member, leases.get(this.#keys.memberKey(member.id)), now, options),
          ),
        );
      }
      const campaigns = new CampaignQueue();
      for (const entry of entries) if (entry.key.startsWith(this.#keys.electionPrefix)) campaigns.set(entry);
      const view = new ClusterView();
      view.apply({ members, leader: leaderFrom(campaigns.first) }, now);
      return view.state;
    });
  }

  async registerNode(node: NodeRegistration, options: CallOptions = {}): Promise<void> {
    await this.#use('register a node', (context) => registerMember(this.#records(context), node, options));
  }

  async deregisterNode(nodeId: string, options: CallOptions = {}): Promise<void> {
    await this.#use('deregister a node', (context) =>
      deregisterMember(this.#records(context), nodeId, options),
    );
  }

  /**
   * Asks the leader to hand leadership to `nodeId` (a healthy candidate) and resolves once it leads,
   * with its term; `ifTerm` makes it conditional on the leader's term (nothing is written otherwise).
   * Rejects with `TransferError` naming why (`stale_term`, `no_leader`, `unknown_target`,
   * `unhealthy_target`, `not_candidate`, `in_progress`, or what the leader reported). Nodes must run
   * a version with transfers. See docs/leadership-control.md.
   */
  async transferLeadership(nodeId: string, options: OperatorTransferOptions = {}): Promise<TransferResult> {
    return this.#use('transfer leadership', (context) =>
      transferAsOperator(context, this.#keys, this.#account, nodeId, options),
    );
  }

  /**
   * Every change to the cluster, in order, until `signal` aborts or the consumer stops; the same
   * events and ordering an election's `watch()` gives (the same objects, on a shared client). With
   * `includeExisting`, starts with the current picture. Fails (rejects on the first read) if etcd
   * cannot be reached.
   */
  async *watch(options: WatchOptions = {}): AsyncGenerator<ClusterStateChange> {
    const { context, release } = acquireContext(this.#contextRequest('watch the cluster'));
    const changes = new Broadcast<ClusterStateChange>({
      bufferSize: this.#watchBufferSize,
      overflow: 'error',
    });
    let ready = false;
    const unwatch = context.watchChanges((batch) => {
      if (ready) changes.publishAll(batch); // before: the first picture below covers it
    });
    try {
      try {
        await context.mirror.start(options.signal);
        await context.mirror.sync(context.settings.requestTimeout, options.signal);
      } catch (error) {
        if (options.signal?.aborted) return; // an aborted watch ends; it does not fail
        throw error;
      }
      const initial = options.includeExisting
        ? context.view.cluster.currentAsChanges(context.settings.clock.wallNow())
        : [];
      ready = true;
      yield* changes.subscribe({ signal: options.signal, initial });
    } finally {
      unwatch();
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

  /**
   * Settings given explicitly must match a shared context's; those left out follow it (documented
   * on the options), so an operator's client can share a client with running elections.
   */
  #contextRequest(operation: string): ContextRequest {
    const { requestTimeout, maxRetries, clock } = this.#options;
    const defaults = {
      requestTimeout: requestTimeout ?? DEFAULT_REQUEST_TIMEOUT,
      maxRetries: maxRetries ?? 3,
      clock: clock ?? systemClock,
    };
    return {
      client: clientForOperation(() => this.client, operation, this.#connection.endpoints),
      prefix: this.#keys.prefix,
      view: 'full',
      endpoints: this.#connection.endpoints,
      required: { requestTimeout, maxRetries, clock },
      defaults,
      progressIntervalMs: defaults.requestTimeout,
    };
  }

  /** `work` in this client's context; `operation` names a failure to build the etcd client. */
  #use<T>(operation: string, work: (context: EtcdClusterContext) => Promise<T>): Promise<T> {
    return withContext(this.#contextRequest(operation), work);
  }

  #records(context: EtcdClusterContext) {
    return {
      client: context.client,
      keys: this.#keys,
      caller: context.caller,
      clock: context.settings.clock,
      account: this.#account,
    };
  }

  async #withLeaseTime(
    context: EtcdClusterContext,
    member: MemberRecord,
    lease: StoredKey['lease'] | undefined,
    now: Date,
    call: CallOptions,
  ): Promise<MemberRecord> {
    if (!lease || lease === '0') return member;
    const answer = await context.caller.call(
      'read a lease',
      (deadline) => context.client.leaseClient.leaseTimeToLive({ ID: lease }, deadline),
      { class: 'read', account: this.#account, signal: call.signal, deadline: call.deadline },
    );
    const remaining = Number(answer.TTL);
    const granted = Number(answer.grantedTTL);
    if (remaining < 0) return member;
    // etcd resets the TTL to its granted value at each keepalive: the difference is time since the last one.
    return { ...member, lastSeen: new Date(now.getTime() - (granted - remaining) * 1000) };
  }
}

const DEFAULT_REQUEST_TIMEOUT = 5000;

function positiveInteger(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new ValidationError(field, `must be a positive whole number (got ${describeValue(value)})`);
  return value;
}
