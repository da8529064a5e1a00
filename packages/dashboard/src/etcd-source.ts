/**
 * Everything the dashboard reads from etcd, in one module. Only `EtcdClusterClient`'s public methods,
 * its raw `etcd3` client and the layout of `@ztap/cluster-etcd/store` are used, and only for reading:
 * there is no put, txn, delete or lease grant anywhere in this package.
 */
import type { ClusterStateChange, Policy, PolicyUpdate } from '@ztap/cluster';
import type { EtcdClusterClient } from '@ztap/cluster-etcd';
import {
  type ClusterKeys,
  clusterKeys,
  decodePolicy,
  prefixRangeEnd,
  translateEtcdError,
} from '@ztap/cluster-etcd/store';
import type { IKeyValue, IRangeRequest, IWatchResponse } from 'etcd3';

/** One change to a key under the cluster prefix, from etcd's revision history. */
export interface HistoryEvent {
  readonly type: 'put' | 'delete';
  readonly key: string;
  readonly value: string;
  readonly revision: number;
  readonly createRevision: number;
}

/** The keys under the prefix at one revision. */
export interface HistoryKey {
  readonly key: string;
  readonly value: string;
  readonly createRevision: number;
  readonly modRevision: number;
}

/** The prefix's history as far back as etcd still has it. */
export interface PrefixHistory {
  /** The oldest revision etcd can still read (1 if it never compacted). */
  readonly oldestRevision: number;
  /** The keys alive at `oldestRevision` (empty when it is 1). */
  readonly initial: readonly HistoryKey[];
  /** Every put and delete after `oldestRevision` up to `toRevision`, in revision order. */
  readonly events: readonly HistoryEvent[];
  readonly toRevision: number;
}

/** The layout of the cluster's keys that the dashboard reads. */
export interface SourceKeys {
  readonly prefix: string;
  readonly membersPrefix: string;
  readonly electionPrefix: string;
  readonly policiesPrefix: string;
}

/** What the dashboard needs from a cluster store; {@link EtcdSource} is the real one. */
export interface ClusterSource {
  readonly keys: SourceKeys;
  /** The current picture, then every change, until `signal` aborts (rejects if etcd is unreachable). */
  changes(signal: AbortSignal): AsyncIterable<ClusterStateChange>;
  /** A snapshot of every policy, then every change, until `signal` aborts. */
  policyUpdates(signal: AbortSignal): AsyncIterable<PolicyUpdate>;
  /** Each member's last keepalive, from its lease (members without a lease are left out). */
  lastSeen(signal: AbortSignal): Promise<ReadonlyMap<string, Date>>;
  /** One cheap linearizable read: resolves with etcd's revision, rejects when etcd does not answer in time. */
  probe(signal: AbortSignal): Promise<number>;
  /** The prefix's history from the oldest revision etcd still keeps up to now. */
  history(signal: AbortSignal): Promise<PrefixHistory>;
  /** Versions of a policy still in etcd's history, newest first, at most `limit`. */
  policyVersions(name: string, limit: number, signal: AbortSignal): Promise<Policy[]>;
  /** A policy as it was at `version` (a mod revision), if etcd still has it. */
  policyAt(name: string, version: number, signal: AbortSignal): Promise<Policy | undefined>;
}

/** etcd sends an unsynced watcher's backlog in responses of at most this many revisions (mvcc's watchBatchMaxRevs). */
const WATCH_BATCH_MAX_REVISIONS = 1000;

const bytes = (text: string) => Buffer.from(text);

const historyKey = (kv: IKeyValue): HistoryKey => ({
  key: kv.key.toString(),
  value: kv.value.toString(),
  createRevision: Number(kv.create_revision),
  modRevision: Number(kv.mod_revision),
});

const isCompacted = (error: unknown) => /compacted/i.test(String((error as Error)?.message ?? error));

/** The dashboard's reads, on an {@link EtcdClusterClient}. */
export class EtcdSource implements ClusterSource {
  readonly keys: SourceKeys;
  readonly #cluster: EtcdClusterClient;
  readonly #layout: ClusterKeys;
  readonly #requestTimeout: number;

  constructor(cluster: EtcdClusterClient, requestTimeout: number) {
    this.#cluster = cluster;
    this.#requestTimeout = requestTimeout;
    const layout = clusterKeys(cluster.prefix);
    this.#layout = layout;
    this.keys = {
      prefix: layout.prefix,
      membersPrefix: layout.membersPrefix,
      electionPrefix: layout.electionPrefix,
      policiesPrefix: layout.policiesPrefix,
    };
  }

  changes(signal: AbortSignal): AsyncIterable<ClusterStateChange> {
    return this.#cluster.watch({ signal, includeExisting: true });
  }

  policyUpdates(signal: AbortSignal): AsyncIterable<PolicyUpdate> {
    return this.#cluster.policies.subscribe({ signal });
  }

  async lastSeen(signal: AbortSignal): Promise<ReadonlyMap<string, Date>> {
    const state = await this.#read('read the members’ leases', signal, () =>
      this.#cluster.getState({ leaseTimes: true }),
    );
    return new Map(state.nodes.filter((node) => node.state !== 'unknown').map((n) => [n.id, n.lastSeen]));
  }

  async probe(signal: AbortSignal): Promise<number> {
    const response = await this.#range('reach etcd', signal, {
      key: bytes(this.keys.prefix),
      range_end: prefixRangeEnd(this.keys.prefix),
      count_only: true,
    });
    return Number(response.header.revision);
  }

  async history(signal: AbortSignal): Promise<PrefixHistory> {
    const prefix = this.keys.prefix;
    const whole = { key: bytes(prefix), range_end: prefixRangeEnd(prefix) };
    const now = await this.#range('read the cluster', signal, whole);
    const toRevision = Number(now.header.revision);
    const oldestRevision = await this.#oldestRevision(toRevision, signal);
    const initial =
      oldestRevision <= 1
        ? []
        : (
            await this.#range('read old revisions', signal, { ...whole, revision: String(oldestRevision) })
          ).kvs.map(historyKey);
    const alive = now.kvs.map(historyKey);
    const lastPut = Math.max(0, ...alive.map((key) => key.modRevision));
    const events =
      toRevision > oldestRevision ? await this.#replay(oldestRevision + 1, toRevision, lastPut, signal) : [];
    // Deletes after the last event the replay delivered (if any) are found key by key.
    const replayed = replayState(initial, events);
    const aliveKeys = new Set(alive.map((key) => key.key));
    const lastEvent = events.at(-1)?.revision ?? oldestRevision;
    for (const key of [...replayed.values()].filter((k) => !aliveKeys.has(k.key))) {
      const revision = await this.#deletedAt(key.key, lastEvent, toRevision, signal);
      events.push({ type: 'delete', key: key.key, value: '', revision, createRevision: key.createRevision });
    }
    events.sort((a, b) => a.revision - b.revision);
    return { oldestRevision, initial, events, toRevision };
  }

  async policyVersions(name: string, limit: number, signal: AbortSignal): Promise<Policy[]> {
    const versions: Policy[] = [];
    let revision: number | undefined;
    while (versions.length < limit) {
      const kv = await this.#policyKv(name, revision, signal);
      if (!kv) break;
      const policy = decodePolicy(kv, this.#layout);
      if (policy) versions.push(policy);
      revision = Number(kv.mod_revision) - 1;
      if (revision < 1) break;
    }
    return versions;
  }

  async policyAt(name: string, version: number, signal: AbortSignal): Promise<Policy | undefined> {
    const kv = await this.#policyKv(name, version, signal);
    if (!kv || Number(kv.mod_revision) !== version) return undefined;
    return decodePolicy(kv, this.#layout);
  }

  /** The key as it was at `revision` (now if undefined); undefined if absent or compacted away. */
  async #policyKv(name: string, revision: number | undefined, signal: AbortSignal) {
    try {
      const response = await this.#range('read a policy’s history', signal, {
        key: bytes(this.#layout.policyKey(name)),
        ...(revision === undefined ? {} : { revision: String(revision) }),
      });
      return response.kvs[0];
    } catch (error) {
      if (isCompacted(error)) return undefined;
      throw error;
    }
  }

  /** The smallest revision a read can still ask for: binary search, ~log2(revision) tiny reads. */
  async #oldestRevision(current: number, signal: AbortSignal): Promise<number> {
    const readable = async (revision: number) => {
      try {
        await this.#range('find the oldest revision', signal, {
          key: bytes(this.keys.prefix),
          count_only: true,
          revision: String(revision),
        });
        return true;
      } catch (error) {
        if (isCompacted(error)) return false;
        throw error;
      }
    };
    if (await readable(1)) return 1;
    let low = 1; // compacted
    let high = current; // readable
    while (high - low > 1) {
      const middle = Math.floor((low + high) / 2);
      if (await readable(middle)) high = middle;
      else low = middle;
    }
    return high;
  }

  /** The first revision in (`after`, `before`] at which `key` no longer exists. */
  async #deletedAt(key: string, after: number, before: number, signal: AbortSignal): Promise<number> {
    let low = after; // present
    let high = before; // absent
    while (high - low > 1) {
      const middle = Math.floor((low + high) / 2);
      const response = await this.#range('read old revisions', signal, {
        key: bytes(key),
        count_only: true,
        revision: String(middle),
      });
      if (Number(response.count) > 0) low = middle;
      else high = middle;
    }
    return high;
  }

  /**
   * Replays the prefix's events from `fromRevision` with a watch (the only way etcd gives history),
   * until it has delivered everything up to `toRevision` that a watch can be known to deliver: etcd
   * sends a watcher's backlog in responses stamped with the store's current revision, each covering
   * every event up to it unless cut at {@link WATCH_BATCH_MAX_REVISIONS} revisions; and the put at
   * `lastPut` (a key still alive) is certain to come. The watch is cancelled as soon as that holds.
   */
  async #replay(
    fromRevision: number,
    toRevision: number,
    lastPut: number,
    signal: AbortSignal,
  ): Promise<HistoryEvent[]> {
    const events: HistoryEvent[] = [];
    const watcher = await this.#within(
      'replay the cluster’s history',
      this.#cluster.client.watch().prefix(this.keys.prefix).startRevision(String(fromRevision)).create(),
    );
    try {
      await new Promise<void>((resolve, reject) => {
        let seenLastPut = lastPut < fromRevision;
        const onAbort = () => reject(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        const finish = (error?: unknown) => {
          signal.removeEventListener('abort', onAbort);
          if (error) reject(error);
          else resolve();
        };
        watcher.on('data', (response: IWatchResponse) => {
          const revisions = new Set<number>();
          for (const event of response.events) {
            const revision = Number(event.kv.mod_revision);
            revisions.add(revision);
            if (revision > toRevision) continue;
            if (revision >= lastPut) seenLastPut = true;
            events.push({
              type: event.type === 'Delete' ? 'delete' : 'put',
              key: event.kv.key.toString(),
              value: event.kv.value.toString(),
              revision,
              createRevision: Number(event.kv.create_revision),
            });
          }
          const complete =
            Number(response.header.revision) >= toRevision && revisions.size < WATCH_BATCH_MAX_REVISIONS;
          if (seenLastPut && (complete || [...revisions].some((r) => r >= toRevision))) finish();
        });
        watcher.on('error', (error: Error) => finish(translateEtcdError(error, 'replay history', [])));
        // An empty backlog sends nothing: if no event is certain to come, a quiet watch is done.
        if (seenLastPut) {
          const quiet = setTimeout(() => finish(), 1000);
          watcher.on('data', () => clearTimeout(quiet));
          signal.addEventListener('abort', () => clearTimeout(quiet), { once: true });
        }
      });
    } finally {
      await watcher.cancel().catch(() => {});
    }
    return events;
  }

  async #range(operation: string, signal: AbortSignal, request: IRangeRequest) {
    return this.#read(operation, signal, () =>
      this.#cluster.client.kv.range(request, { deadline: new Date(Date.now() + this.#requestTimeout) }),
    );
  }

  async #read<T>(operation: string, signal: AbortSignal, read: () => Promise<T>): Promise<T> {
    signal.throwIfAborted();
    try {
      return await this.#within(operation, read());
    } catch (error) {
      if (isCompacted(error)) throw error;
      throw translateEtcdError(error, operation, this.#cluster.endpoints);
    }
  }

  /** Bounds a promise without its own deadline (opening a watch) by the request timeout. */
  async #within<T>(operation: string, work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${operation}: DEADLINE_EXCEEDED after ${this.#requestTimeout} ms`)),
        this.#requestTimeout,
      );
    });
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The keys alive after applying `events` to `initial`. */
export function replayState(
  initial: readonly HistoryKey[],
  events: readonly HistoryEvent[],
): Map<string, HistoryKey> {
  const state = new Map(initial.map((key) => [key.key, key]));
  for (const event of events) {
    if (event.type === 'delete') state.delete(event.key);
    else
      state.set(event.key, {
        key: event.key,
        value: event.value,
        createRevision: event.createRevision,
        modRevision: event.revision,
      });
  }
  return state;
}
