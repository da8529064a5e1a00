import {
  NotLeaderError,
  type Policy,
  type PolicyDocument,
  type PolicySync,
  type PolicyUpdate,
  type PolicyWriteOptions,
  type PolicyWriteResult,
} from '@ztap/cluster';
import type { InMemoryElection } from './memory-election.ts';

/**
 * `PolicySync` for the in-memory backend: policies live in the election's hub; only the current
 * leader may write, and its writes are fenced by its term.
 */
export class InMemoryPolicySync implements PolicySync {
  readonly #election: InMemoryElection;

  constructor(election: InMemoryElection) {
    this.#election = election;
  }

  async syncPolicy(
    name: string,
    document: PolicyDocument,
    options?: PolicyWriteOptions,
  ): Promise<PolicyWriteResult> {
    return this.#election.hub.policies.put(
      name,
      document,
      this.#writer('write policies', options?.term),
      options,
    );
  }

  async deletePolicy(name: string, options?: PolicyWriteOptions): Promise<boolean> {
    return this.#election.hub.policies.delete(name, this.#writer('delete policies', options?.term), options);
  }

  async getPolicyVersion(name: string): Promise<number | undefined> {
    return this.#election.hub.policies.get(name)?.version;
  }

  async getPolicy(name: string): Promise<Policy | undefined> {
    return this.#election.hub.policies.get(name);
  }

  async listPolicies(): Promise<Policy[]> {
    return this.#election.hub.policies.list();
  }

  subscribePolicies(options: { signal?: AbortSignal | undefined } = {}): AsyncIterable<PolicyUpdate> {
    return this.#election.hub.policies.subscribe(options);
  }

  #writer(operation: string, callerTerm: number | undefined) {
    const term = this.#election.term;
    if (term === undefined) throw new NotLeaderError(this.#election.nodeId, operation);
    // The store checks the term against the hub's current one: a stale caller's term fails there.
    return { updatedBy: this.#election.nodeId, term: callerTerm ?? term };
  }
}
