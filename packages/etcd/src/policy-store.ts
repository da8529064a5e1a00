import {
  type Clock,
  type Policy,
  type PolicyDocument,
  PolicyFeed,
  type PolicyUpdate,
  PolicyVersionConflictError,
  type PolicyWriteOptions,
  type PolicyWriteResult,
  validatePolicyDocument,
  validatePolicyName,
} from '@ztap/cluster';
import type { Etcd3, ICompare, IRequestOp, ITxnResponse } from 'etcd3';
import type { CallOptions, EtcdCaller } from './calls.ts';
import type { KeyLayout } from './keys.ts';
import { acquireMirror, type MirrorEntry, prefixRangeEnd, toEntry } from './mirror.ts';

interface StoredPolicy {
  readonly document: string;
  readonly updatedAt: string;
  readonly updatedBy: string;
}

/** Runs a write transaction; the leader's version is fenced by its term, an operator's is not. */
export type PolicyTxn = (
  txn: {
    compare: ICompare[];
    success: IRequestOp[];
    failure: IRequestOp[];
  },
  call: CallOptions,
) => Promise<ITxnResponse>;

const bytes = (text: string) => Buffer.from(text);

/** Reads a policy from its entry; undefined for a value that is not ours to read. */
export function policyFrom(entry: MirrorEntry, keys: KeyLayout): Policy | undefined {
  try {
    const stored = JSON.parse(entry.value) as Partial<StoredPolicy>;
    if (typeof stored.document !== 'string') return undefined;
    return Object.freeze({
      name: entry.key.slice(keys.policiesPrefix.length),
      version: entry.modRevision,
      document: stored.document,
      updatedAt: new Date(stored.updatedAt ?? 0),
      updatedBy: stored.updatedBy ?? 'unknown',
    });
  } catch {
    return undefined;
  }
}

/**
 * Policies of one cluster in etcd: reads, subscriptions, and writes through a transaction runner
 * (so the same code serves an operator's compare-and-set push and the leader's fenced sync).
 * A version is the key's mod revision: it strictly increases, and compare-and-set uses it directly.
 */
export class EtcdPolicyStore {
  readonly #client: () => Etcd3;
  readonly #keys: KeyLayout;
  readonly #caller: EtcdCaller;
  readonly #clock: Clock;
  readonly #progressIntervalMs: number;

  constructor(
    client: () => Etcd3,
    keys: KeyLayout,
    caller: EtcdCaller,
    clock: Clock,
    progressIntervalMs: number,
  ) {
    this.#client = client;
    this.#keys = keys;
    this.#caller = caller;
    this.#clock = clock;
    this.#progressIntervalMs = progressIntervalMs;
  }

  /**
   * Writes a policy through `txn`. A document identical to the current version writes nothing: a
   * transaction that only compares (so the leader's fence still applies) confirms the version is
   * still current, and that version is returned with `changed: false`.
   */
  async put(
    name: string,
    document: PolicyDocument,
    updatedBy: string,
    txn: PolicyTxn,
    options: PolicyWriteOptions & CallOptions = {},
  ): Promise<PolicyWriteResult> {
    validatePolicyName(name);
    const text = validatePolicyDocument(document);
    const key = bytes(this.#keys.policyKey(name));
    const current = await this.get(name, options);
    const sameVersion = options.ifVersion === undefined || options.ifVersion === current?.version;
    if (current?.document === text && sameVersion) {
      const unchanged = await txn(
        {
          compare: [{ key, target: 'Mod', result: 'Equal', mod_revision: String(current.version) }],
          success: [],
          failure: [],
        },
        options,
      );
      if (unchanged.succeeded) return Object.freeze({ ...current, changed: false });
      // Written in between: from here on this is an ordinary write.
    }
    const updatedAt = this.#clock.wallNow();
    const value = JSON.stringify({
      document: text,
      updatedAt: updatedAt.toISOString(),
      updatedBy,
    } satisfies StoredPolicy);
    const response = await txn(
      {
        compare: this.#versionCompare(key, options),
        success: [{ request_put: { key, value: bytes(value) } }],
        failure: [{ request_range: { key } }],
      },
      options,
    );
    if (!response.succeeded) throw this.#conflict(name, options, response);
    return Object.freeze({
      name,
      version: Number(response.header.revision),
      document: text,
      updatedAt,
      updatedBy,
      changed: true,
    });
  }

  async delete(
    name: string,
    txn: PolicyTxn,
    options: PolicyWriteOptions & CallOptions = {},
  ): Promise<boolean> {
    validatePolicyName(name);
    const key = bytes(this.#keys.policyKey(name));
    const response = await txn(
      {
        compare: this.#versionCompare(key, options),
        success: [{ request_delete_range: { key } }],
        failure: [{ request_range: { key } }],
      },
      options,
    );
    if (!response.succeeded) throw this.#conflict(name, options, response);
    return Number(response.responses[0]?.response_delete_range?.deleted ?? 0) > 0;
  }

  async get(name: string, call: CallOptions = {}): Promise<Policy | undefined> {
    const key = this.#keys.policyKey(validatePolicyName(name));
    const response = await this.#caller.call(
      'read a policy',
      (options) => this.#client().kv.range({ key: bytes(key) }, options),
      call.signal,
      { deadline: call.deadline },
    );
    const kv = response.kvs[0];
    return kv ? policyFrom(toEntry(kv), this.#keys) : undefined;
  }

  async list(call: CallOptions = {}): Promise<Policy[]> {
    const prefix = this.#keys.policiesPrefix;
    const response = await this.#caller.call(
      'list policies',
      (options) =>
        this.#client().kv.range({ key: bytes(prefix), range_end: prefixRangeEnd(prefix) }, options),
      call.signal,
      { deadline: call.deadline },
    );
    return response.kvs
      .map((kv) => policyFrom(toEntry(kv), this.#keys))
      .filter((policy): policy is Policy => policy !== undefined)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * A snapshot, then every change, from the cluster's shared prefix mirror: nothing is lost across
   * reconnects (the mirror re-lists and the difference is reported), and after a compaction the
   * subscriber gets a fresh snapshot.
   */
  async *subscribe(
    options: { signal?: AbortSignal | undefined; bufferSize?: number } = {},
  ): AsyncGenerator<PolicyUpdate> {
    const { mirror, release } = acquireMirror(this.#client(), this.#keys.prefix, this.#caller, {
      progressIntervalMs: this.#progressIntervalMs,
      clock: this.#clock,
    });
    const current = () =>
      [...mirror.entriesUnder(this.#keys.policiesPrefix)]
        .map((e) => policyFrom(e, this.#keys))
        .filter((p): p is Policy => p !== undefined);
    const feed = new PolicyFeed({
      snapshot: current,
      bufferSize: options.bufferSize ?? 1024,
      signal: options.signal,
    });
    const known = new Map<string, number>();
    let ready = false;
    const unsubscribe = mirror.subscribe((batch) => {
      if (!ready) return;
      if (batch.resync) {
        feed.resync();
        remember(known, current());
        return;
      }
      const updates: PolicyUpdate[] = [];
      for (const key of batch.changedKeys) {
        if (!key.startsWith(this.#keys.policiesPrefix)) continue;
        const name = key.slice(this.#keys.policiesPrefix.length);
        const entry = mirror.get(key);
        const policy = entry && policyFrom(entry, this.#keys);
        if (policy && known.get(name) !== policy.version) {
          known.set(name, policy.version);
          updates.push({ type: 'updated', policy });
        } else if (!policy && known.delete(name)) {
          updates.push({ type: 'deleted', name, version: batch.revision });
        }
      }
      const versionOf = (update: PolicyUpdate) =>
        update.type === 'updated' ? update.policy.version : update.type === 'deleted' ? update.version : 0;
      for (const update of updates.sort((a, b) => versionOf(a) - versionOf(b))) feed.push(update);
    });
    try {
      await mirror.start();
      await mirror.sync(this.#progressIntervalMs);
      remember(known, current());
      ready = true;
      yield* feed;
    } finally {
      unsubscribe();
      feed.close();
      await release();
    }
  }

  #versionCompare(key: Buffer, options: PolicyWriteOptions): ICompare[] {
    if (options.ifVersion === undefined) return [];
    if (options.ifVersion === 0) return [{ key, target: 'Create', result: 'Equal', create_revision: '0' }];
    return [{ key, target: 'Mod', result: 'Equal', mod_revision: String(options.ifVersion) }];
  }

  #conflict(name: string, options: PolicyWriteOptions, response: ITxnResponse): PolicyVersionConflictError {
    const kv = response.responses[0]?.response_range?.kvs[0];
    return new PolicyVersionConflictError(
      name,
      options.ifVersion ?? 0,
      kv ? Number(kv.mod_revision) : undefined,
    );
  }
}

function remember(known: Map<string, number>, policies: readonly Policy[]): void {
  known.clear();
  for (const policy of policies) known.set(policy.name, policy.version);
}
