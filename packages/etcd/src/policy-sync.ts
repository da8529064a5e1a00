import {
  FencedWriteError,
  NotLeaderError,
  type Policy,
  type PolicyDocument,
  type PolicySync,
  type PolicyUpdate,
  type PolicyWriteOptions,
  type PolicyWriteResult,
} from '@ztap/cluster';
import { EtcdCaller } from './calls.ts';
import type { EtcdElection } from './etcd-election.ts';
import { EtcdPolicyStore, type PolicyTxn } from './policy-store.ts';

/**
 * `PolicySync` on etcd for a running `EtcdElection`: only its leader writes, and every write is a
 * `guardedTxn` fenced by the leader's term, so a deposed leader's write fails with
 * `FencedWriteError` and writes nothing, even before it notices it was deposed.
 */
export class EtcdPolicySync implements PolicySync {
  readonly #election: EtcdElection;
  readonly #store: EtcdPolicyStore;

  constructor(election: EtcdElection, options: { requestTimeout?: number; maxRetries?: number } = {}) {
    this.#election = election;
    const caller = new EtcdCaller({
      endpoints: election.endpoints,
      maxRetries: options.maxRetries ?? 3,
      requestTimeout: options.requestTimeout ?? 2000,
    });
    this.#store = new EtcdPolicyStore(() => election.client, election.keys, caller, election.clock, 5000);
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

  async getPolicyVersion(name: string): Promise<number | undefined> {
    return (await this.#store.get(name))?.version;
  }

  getPolicy(name: string): Promise<Policy | undefined> {
    return this.#store.get(name);
  }

  listPolicies(): Promise<Policy[]> {
    return this.#store.list();
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
    return (txn) => this.#election.guardedTxn({ term, ...txn });
  }
}
