import {
  type Clock,
  type Event,
  type Policy,
  type PolicyUpdate,
  type SignalOptions,
  systemClock,
  type TimerHandle,
  ValidationError,
} from '@ztap/cluster';
import { createEtcdClient, type EtcdConnectionOptions } from '@ztap/cluster-etcd';
import type { Etcd3 } from 'etcd3';
import { EtcdCalls } from './calls.ts';
import { Emitter } from './emitter.ts';
import { type FollowerBatch, type KeyChange, type ListedKey, PrefixFollower } from './follower.ts';
import { checkPrefix, defaultPrefixes, ReplicaLayout } from './layout.ts';
import {
  type Checkpoint,
  decodeCheckpoint,
  decodeReplica,
  type GlobalLeaderRecord,
  policyFromValue,
} from './records.ts';
import { UpdateStream } from './update-stream.ts';

export interface ReplicatedPoliciesOptions extends EtcdConnectionOptions {
  /** The regional etcd client to use (never closed here); exclusive with endpoints, tls and auth. */
  readonly client?: Etcd3;
  /** Cluster name: replicas live under `/ztap/replicas/<cluster>/`. Default `default`. */
  readonly cluster?: string;
  /** The replica prefix instead of the one derived from `cluster`. */
  readonly prefix?: string;
  /** Deadline of each etcd request attempt, ms. Default 5000. */
  readonly requestTimeout?: number;
  /** Retries of transient failures. Default 3. */
  readonly maxRetries?: number;
  /** How many updates a subscriber may fall behind before it gets a snapshot instead. Default 1024. */
  readonly bufferSize?: number;
  readonly clock?: Clock;
}

/** Until a checkpoint says how often the region's leader confirms, readers assume this. */
const DEFAULT_CONFIRM_INTERVAL_MS = 1000;
/** A checkpoint not renewed for this many confirmation intervals makes a reader list again. */
const STALE_INTERVALS = 3;

interface Replica {
  readonly globalVersion: number;
  /** Undefined for a value that is not a policy (kept so the region's contents stay comparable). */
  readonly policy: Policy | undefined;
}

/**
 * The global policies as one region holds them, read from the regional etcd only: a region cut off
 * from the global store keeps serving what it last replicated, and says how stale that is
 * ({@link lagMs}). A policy's `version` is its version in the global store, so versions compare
 * across regions. Read-only: global policies are written to the global store.
 *
 * Follows the replicas with one watch; a checkpoint not renewed for a few of the region leader's
 * confirmation intervals (a silent watch, or a region whose leader cannot reach the global store)
 * makes it list again, so a watch stuck on an isolated regional etcd member cannot hide news.
 */
export class ReplicatedPolicies implements AsyncDisposable {
  readonly #layout: ReplicaLayout;
  readonly #clock: Clock;
  readonly #calls: EtcdCalls;
  readonly #ownsClient: boolean;
  readonly #bufferSize: number;
  readonly #createClient: () => Etcd3;
  #client: Etcd3 | undefined;
  #follower: PrefixFollower | undefined;
  readonly #replicas = new Map<string, Replica>();
  #checkpoint: Checkpoint | undefined;
  #checkpointRevision = 0;
  /** When (monotonic) the current `confirmedAt` arrived, and how old it already was then. */
  #confirmation: { readonly receivedAtMs: number; readonly ageMs: number } | undefined;
  #lastListedMs = 0;
  #staleTimer: TimerHandle | undefined;
  #resyncs = 0;
  readonly #streams = new Set<UpdateStream>();
  readonly #changes = new Emitter<void>();

  /** Fires after every change of the replicated policies or the checkpoint. */
  readonly onChange: Event<void> = this.#changes.event;

  constructor(options: ReplicatedPoliciesOptions = {}) {
    if (options.client !== undefined && (options.endpoints || options.tls || options.auth))
      throw new ValidationError('client', 'cannot be combined with endpoints, tls or auth');
    const requestTimeout = positive('requestTimeout', options.requestTimeout ?? 5000);
    this.#bufferSize = positive('bufferSize', options.bufferSize ?? 1024);
    const prefix =
      options.prefix !== undefined
        ? checkPrefix('prefix', options.prefix)
        : defaultPrefixes(options.cluster ?? 'default').replica;
    this.#layout = new ReplicaLayout(prefix);
    this.#clock = options.clock ?? systemClock;
    const endpoints = options.endpoints ?? ['http://127.0.0.1:2379'];
    this.#calls = new EtcdCalls(endpoints, { requestTimeout, maxRetries: options.maxRetries ?? 3 });
    const given = options.client;
    this.#ownsClient = given === undefined;
    this.#createClient = () =>
      given ?? createEtcdClient({ endpoints, requestTimeout, tls: options.tls, auth: options.auth });
  }

  /** The replica prefix this reader follows (ends in `/`). */
  get prefix(): string {
    return this.#layout.prefix;
  }

  /** Every replicated policy, sorted by name. */
  list(): Policy[] {
    return [...this.#replicas.values()]
      .map((replica) => replica.policy)
      .filter((policy): policy is Policy => policy !== undefined)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  get(name: string): Policy | undefined {
    return this.#replicas.get(name)?.policy;
  }

  /** How far replication into this region has come, as its leader last wrote it. */
  get checkpoint(): Checkpoint | undefined {
    return this.#checkpoint;
  }

  /** The regional revision of the checkpoint this view holds (0: none). */
  get checkpointRevision(): number {
    return this.#checkpointRevision;
  }

  /** Who led globally when this region's leader last confirmed replication. */
  get globalLeader(): GlobalLeaderRecord | undefined {
    return this.#checkpoint?.globalLeader;
  }

  /**
   * How stale the region's copy may be, in ms: the time since its leader last confirmed it current
   * against the global store. Undefined until a first confirmation. Computed from the
   * confirmation's wall-clock time once when it arrives (so clocks must roughly agree, as NTP
   * keeps them), then on the monotonic clock.
   */
  get lagMs(): number | undefined {
    const confirmation = this.#confirmation;
    if (!confirmation) return undefined;
    return confirmation.ageMs + (this.#clock.monotonicNow() - confirmation.receivedAtMs);
  }

  /** How many times the region was listed again after the first time (stuck watch, compaction). */
  get resyncCount(): number {
    return this.#resyncs;
  }

  /** Lists the replicas and starts following them; rejects if the regional etcd cannot be reached. */
  async start(options: SignalOptions = {}): Promise<void> {
    options.signal?.throwIfAborted();
    if (this.#follower) return;
    this.#client ??= this.#createClient();
    const follower = new PrefixFollower({
      client: this.#client,
      calls: this.#calls,
      prefix: this.#layout.prefix,
      description: 'the replicated policies',
      retryDelayMs: DEFAULT_CONFIRM_INTERVAL_MS,
      onBatch: (batch) => this.#apply(batch),
      wallNow: () => this.#clock.wallNow(),
    });
    this.#follower = follower;
    try {
      await follower.start();
      options.signal?.throwIfAborted();
    } catch (error) {
      await this.stop();
      throw error;
    }
    this.#scheduleStaleCheck();
  }

  async stop(): Promise<void> {
    this.#clock.clearTimeout(this.#staleTimer);
    const follower = this.#follower;
    this.#follower = undefined;
    await follower?.stop();
    for (const stream of [...this.#streams]) stream.end();
    if (this.#ownsClient) this.#client?.close();
    this.#client = undefined;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  /**
   * A snapshot of every replicated policy, then every change in order, until `signal` aborts or
   * {@link stop}. After a re-list, or when this consumer falls behind, a fresh snapshot replaces
   * what it missed: apply snapshots by replacing your state.
   */
  subscribe(options: { signal?: AbortSignal | undefined } = {}): AsyncIterableIterator<PolicyUpdate> {
    const stream = new UpdateStream(() => this.list(), {
      bufferSize: this.#bufferSize,
      onEnd: () => this.#streams.delete(stream),
    });
    const { signal } = options;
    if (signal?.aborted) stream.end();
    else {
      this.#streams.add(stream);
      signal?.addEventListener('abort', () => stream.end(), { once: true });
    }
    return stream;
  }

  #apply(batch: FollowerBatch): void {
    if (batch.kind === 'snapshot') this.#applySnapshot(batch.keys);
    else this.#applyChanges(batch.changes);
    this.#changes.fire();
  }

  #applySnapshot(keys: readonly ListedKey[]): void {
    if (this.#lastListedMs > 0) this.#resyncs++;
    this.#lastListedMs = this.#clock.monotonicNow();
    this.#replicas.clear();
    let checkpointSeen = false;
    for (const entry of keys) {
      if (entry.key === this.#layout.checkpointKey) {
        this.#takeCheckpoint(entry.value, entry.modRevision);
        checkpointSeen = true;
      } else this.#putReplica(entry.key, entry.value);
    }
    if (!checkpointSeen) this.#takeCheckpoint(undefined, 0);
    for (const stream of this.#streams) stream.resync();
  }

  #applyChanges(changes: readonly KeyChange[]): void {
    // The checkpoint written with a delete says how far the global store had come: the version of
    // the deletion as subscribers see it.
    for (const change of changes) {
      if (change.key === this.#layout.checkpointKey)
        this.#takeCheckpoint(change.type === 'put' ? change.value : undefined, change.revision);
    }
    for (const change of changes) {
      if (change.key === this.#layout.checkpointKey) continue;
      const name = change.key.slice(this.#layout.policiesPrefix.length);
      const before = this.#replicas.get(name);
      if (change.type === 'put') {
        const policy = this.#putReplica(change.key, change.value);
        if (policy) for (const stream of this.#streams) stream.push({ type: 'updated', policy });
      } else {
        this.#replicas.delete(name);
        if (before?.policy) {
          const version = Math.max(this.#checkpoint?.globalRevision ?? 0, before.globalVersion + 1);
          for (const stream of this.#streams) stream.push({ type: 'deleted', name, version });
        }
      }
    }
  }

  #putReplica(key: string, value: string): Policy | undefined {
    if (!key.startsWith(this.#layout.policiesPrefix)) return undefined;
    const name = key.slice(this.#layout.policiesPrefix.length);
    const record = decodeReplica(value);
    const policy = record && policyFromValue(name, record.globalVersion, record.value);
    this.#replicas.set(name, { globalVersion: record?.globalVersion ?? -1, policy });
    return policy;
  }

  #takeCheckpoint(value: string | undefined, revision: number): void {
    const checkpoint = value === undefined ? undefined : decodeCheckpoint(value);
    const confirmedBefore = this.#checkpoint?.confirmedAt;
    this.#checkpoint = checkpoint;
    this.#checkpointRevision = revision;
    if (!checkpoint?.confirmedAt) {
      this.#confirmation = undefined;
    } else if (checkpoint.confirmedAt !== confirmedBefore || !this.#confirmation) {
      const ageMs = Math.max(0, this.#clock.wallNow().getTime() - Date.parse(checkpoint.confirmedAt));
      this.#confirmation = { receivedAtMs: this.#clock.monotonicNow(), ageMs };
    }
  }

  #scheduleStaleCheck(): void {
    const interval = this.#checkpoint?.confirmIntervalMs ?? DEFAULT_CONFIRM_INTERVAL_MS;
    this.#staleTimer = this.#clock.setTimeout(() => {
      if (!this.#follower) return;
      const now = this.#clock.monotonicNow();
      const heardMs = Math.max(this.#confirmation?.receivedAtMs ?? 0, this.#lastListedMs);
      // No news for a while: either the region's leader cannot confirm (the lag says so), or our
      // watch is silent. A list tells which, at the cost of one regional read per few intervals.
      if (now - heardMs >= STALE_INTERVALS * interval) void this.#follower.relist().catch(() => {});
      this.#scheduleStaleCheck();
    }, interval);
  }
}

function positive(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new ValidationError(field, `must be a positive whole number (got ${String(value)})`);
  return value;
}
