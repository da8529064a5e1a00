import {
  FencedWriteError,
  NotLeaderError,
  type Policy,
  type PolicyDocument,
  type PolicySync,
  type PolicyUpdate,
  type PolicyWriteOptions,
  type PolicyWriteResult,
  type SignalOptions,
} from '@ztap/cluster';
import { type EtcdElection, internalsOf } from './etcd-election.ts';
import { EtcdPolicyStore, type PolicyTxn } from './policy-store.ts';

/**
 * `PolicySync` on etcd for a running `EtcdElection`: only its leader writes, and every write is a
 * `guardedTxn` fenced by the leader's term, so a deposed leader's write fails with
 * `FencedWriteError` and writes nothing, even before it notices it was deposed.
 *
 * Reads and subscriptions go through the election's per-client context — its client, watch,
 * settings (request timeout, retries, clock) and error reporting, also when they begin before the
 * election starts — and their failures count in the election's telemetry.
 */
export class EtcdPolicySync implements PolicySync {
  readonly #election: EtcdElection;
  readonly #store: EtcdPolicyStore;

  constructor(election: EtcdElection) {
    this.#election = election;
    const { contextRequest, keys, account } = internalsOf(election);
    this.#store = new EtcdPolicyStore({ contextRequest, keys, account });
  }

  async syncPolicy(
    name: string,
    document: PolicyDocument,
    options?: PolicyWriteOptions,
  ): Promise<PolicyWriteResult> {
    return this.#store.put(
      name,
      document,
      this.#election.nodeId,
      this.#fenced('write policies', options?.term),
      options,
    );
  }

  async deletePolicy(name: string, options?: PolicyWriteOptions): Promise<boolean> {
    return this.#store.delete(name, this.#fenced('delete policies', options?.term), options);
  }

  async getPolicyVersion(name: string, options: SignalOptions = {}): Promise<number | undefined> {
    return (await this.#store.get(name, options))?.version;
  }

  getPolicy(name: string, options: SignalOptions = {}): Promise<Policy | undefined> {
    return this.#store.get(name, options);
  }

  listPolicies(options: SignalOptions = {}): Promise<Policy[]> {
    return this.#store.list(options);
  }

  subscribePolicies(options: { signal?: AbortSignal | undefined } = {}): AsyncIterable<PolicyUpdate> {
    return this.#store.subscribe(options);
  }

  /**
   * A transaction runner bound to one leadership — the caller's `term`, or the one held now —
   * checked locally, then by etcd.
   */
  #fenced(operation: string, callerTerm: number | undefined): PolicyTxn {
    const term = this.#election.term;
    if (term === undefined) throw new NotLeaderError(this.#election.nodeId, operation);
    if (callerTerm !== undefined && callerTerm !== term) throw new FencedWriteError(callerTerm);
    return (txn, call) => this.#election.guardedTxn({ term, ...txn }, call);
  }
}
