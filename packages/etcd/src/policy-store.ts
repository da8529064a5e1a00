import {
  type Policy,
  type PolicyDocument,
  type PolicyUpdate,
  PolicyVersionConflictError,
  type PolicyWriteOptions,
  type PolicyWriteResult,
  validatePolicyDocument,
  validatePolicyName,
} from '@ztap/cluster';
import { PolicyFeed } from '@ztap/cluster/backend';
import type { ICompare, IRequestOp, ITxnResponse } from 'etcd3';
import type { CallAccount, CallOptions } from './calls.ts';
import { bytes, type StoredKey } from './campaign.ts';
import { acquireContext, type ContextRequest, withContext } from './context.ts';
import type { KeyLayout } from './keys.ts';
import { prefixRangeEnd, toEntry } from './mirror.ts';

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

/** Reads a policy from its entry; undefined for a value that is not ours to read. */
export function policyFrom(entry: StoredKey, keys: { readonly policiesPrefix: string }): Policy | undefined {
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

/** How a policy store reaches etcd: through the per-client context of its owner, on its account. */
export interface PolicyAccess {
  /** The owner's context request; `operation` names a failure to build the etcd client. */
  contextRequest(operation: string): ContextRequest;
  readonly keys: KeyLayout;
  readonly account: CallAccount;
}

/**
 * Policies of one cluster in etcd: reads, subscriptions, and writes through a transaction runner
 * (so the same code serves an operator's compare-and-set push and the leader's fenced sync).
 * A version is the key's mod revision: it strictly increases, and compare-and-set uses it directly.
 * Reads and subscriptions go through the per-client context of whoever owns the store (an election
 * or a cluster client), so they share its watch, its settings and its error reporting.
 */
export class EtcdPolicyStore {
  readonly #access: PolicyAccess;
  readonly #keys: KeyLayout;

  constructor(access: PolicyAccess) {
    this.#access = access;
    this.#keys = access.keys;
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
    const updatedAt = this.#access.contextRequest('write a policy').defaults.clock.wallNow();
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
    const response = await withContext(this.#access.contextRequest('read a policy'), (context) =>
      context.caller.call(
        'read a policy',
        (deadline) => context.client.kv.range({ key: bytes(key) }, deadline),
        { class: 'read', account: this.#access.account, signal: call.signal, deadline: call.deadline },
      ),
    );
    const kv = response.kvs[0];
    return kv ? policyFrom(toEntry(kv), this.#keys) : undefined;
  }

  async list(call: CallOptions = {}): Promise<Policy[]> {
    const prefix = this.#keys.policiesPrefix;
    const response = await withContext(this.#access.contextRequest('list policies'), (context) =>
      context.caller.call(
        'list policies',
        (deadline) =>
          context.client.kv.range({ key: bytes(prefix), range_end: prefixRangeEnd(prefix) }, deadline),
        { class: 'read', account: this.#access.account, signal: call.signal, deadline: call.deadline },
      ),
    );
    return response.kvs
      .map((kv) => policyFrom(toEntry(kv), this.#keys))
      .filter((policy): policy is Policy => policy !== undefined)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * A snapshot, then every change, from the context's mirror of the policies (the shared prefix
   * mirror, or on a narrow view one of the policy keys alone): nothing is lost across
   * reconnects (the mirror re-lists and the difference is reported), and after a compaction the
   * subscriber gets a fresh snapshot.
   */
  async *subscribe(
    options: { signal?: AbortSignal | undefined; bufferSize?: number } = {},
  ): AsyncGenerator<PolicyUpdate> {
    const { context, release } = acquireContext(this.#access.contextRequest('watch the policies'));
    const mirror = context.policyMirror();
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
      try {
        await mirror.start(options.signal);
        await mirror.sync(context.settings.requestTimeout, options.signal);
      } catch (error) {
        if (options.signal?.aborted) return; // an aborted subscription ends; it does not fail
        throw error;
      }
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
