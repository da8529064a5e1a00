import {
  NotLeaderError,
  type Policy,
  type PolicyDocument,
  type PolicySync,
  type PolicyUpdate,
  type PolicyWriteOptions,
  type PolicyWriteResult,
  type SignalOptions,
} from '@ztap/cluster';
import { stateOf } from './hub.ts';
import type { InMemoryElection } from './memory-election.ts';
import type { MemoryPolicyStore } from './policy-store.ts';

/**
 * `PolicySync` for the in-memory backend: policies live in the election's hub; only the current
 * leader may write, and its writes are fenced by its term.
 */
export class InMemoryPolicySync implements PolicySync {
  readonly #election: InMemoryElection;

  constructor(election: InMemoryElection) {
    this.#election = election;
  }

  get #policies(): MemoryPolicyStore {
    return stateOf(this.#election.hub).policies;
  }

  async syncPolicy(
    name: string,
    document: PolicyDocument,
    options?: PolicyWriteOptions,
  ): Promise<PolicyWriteResult> {
    options?.signal?.throwIfAborted();
    return this.#policies.put(name, document, this.#writer('write policies', options?.term), options);
  }

  async deletePolicy(name: string, options?: PolicyWriteOptions): Promise<boolean> {
    options?.signal?.throwIfAborted();
    return this.#policies.delete(name, this.#writer('delete policies', options?.term), options);
  }

  async getPolicyVersion(name: string, options: SignalOptions = {}): Promise<number | undefined> {
    options.signal?.throwIfAborted();
    return this.#policies.get(name)?.version;
  }

  async getPolicy(name: string, options: SignalOptions = {}): Promise<Policy | undefined> {
    options.signal?.throwIfAborted();
    return this.#policies.get(name);
  }

  async listPolicies(options: SignalOptions = {}): Promise<Policy[]> {
    options.signal?.throwIfAborted();
    return this.#policies.list();
  }

  subscribePolicies(options: { signal?: AbortSignal | undefined } = {}): AsyncIterable<PolicyUpdate> {
    return this.#policies.subscribe(options);
  }

  #writer(operation: string, callerTerm: number | undefined) {
    const term = this.#election.term;
    if (term === undefined) throw new NotLeaderError(this.#election.nodeId, operation);
    // The store checks the term against the hub's current one: a stale caller's term fails there.
    return { updatedBy: this.#election.nodeId, term: callerTerm ?? term };
  }
}
