import {
  NotLeaderError,
  type Policy,
  type PolicyDocument,
  type PolicySync,
  type PolicyUpdate,
  type PolicyWriteOptions,
  type PolicyWriteResult,
} from '@ztap/cluster';
import type { GlobalLeadership } from './global-leadership.ts';

/**
 * Global policies in the global store. Writes come only from the global leader: refused locally
 * (`NotLeaderError`) unless this node leads its region and globally, then fenced by the global term
 * in etcd (`FencedWriteError` for a deposed global leader). Reads go to the global store; services
 * that follow policies read their region's copy instead (`MultiRegionNode.policies`).
 */
export class GlobalPolicies implements PolicySync {
  readonly #store: PolicySync;
  readonly #leadership: GlobalLeadership;
  readonly #nodeId: string;

  /** `store` is an `EtcdPolicySync` on the global election. */
  constructor(store: PolicySync, leadership: GlobalLeadership, nodeId: string) {
    this.#store = store;
    this.#leadership = leadership;
    this.#nodeId = nodeId;
  }

  async syncPolicy(
    name: string,
    document: PolicyDocument,
    options: PolicyWriteOptions = {},
  ): Promise<PolicyWriteResult> {
    return this.#store.syncPolicy(name, document, this.#fenced('write global policies', options));
  }

  async deletePolicy(name: string, options: PolicyWriteOptions = {}): Promise<boolean> {
    return this.#store.deletePolicy(name, this.#fenced('delete global policies', options));
  }

  getPolicyVersion(name: string): Promise<number | undefined> {
    return this.#store.getPolicyVersion(name);
  }

  getPolicy(name: string): Promise<Policy | undefined> {
    return this.#store.getPolicy(name);
  }

  listPolicies(): Promise<Policy[]> {
    return this.#store.listPolicies();
  }

  subscribePolicies(options?: { signal?: AbortSignal | undefined }): AsyncIterable<PolicyUpdate> {
    return this.#store.subscribePolicies(options);
  }

  /** The write options bound to the global term held now (the store checks a caller's term against it). */
  #fenced(operation: string, options: PolicyWriteOptions): PolicyWriteOptions {
    const term = this.#leadership.term;
    if (term === undefined)
      throw new NotLeaderError(this.#nodeId, `${operation} (it does not lead globally)`);
    return { ...options, term: options.term ?? term };
  }
}
