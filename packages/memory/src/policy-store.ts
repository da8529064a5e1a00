import {
  type Clock,
  FencedWriteError,
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

/** Who writes, and under which leadership term (undefined: an operator's unfenced write). */
export interface PolicyWriter {
  readonly updatedBy: string;
  readonly term?: number | undefined;
}

/**
 * The policies of one in-memory cluster. Versions come from one counter for the whole store, so they
 * strictly increase per policy, also across a delete and re-create. A write carrying a term commits
 * only while that term is the cluster's current one (fencing, as on etcd).
 */
export class MemoryPolicyStore {
  readonly #clock: Clock;
  readonly #currentTerm: () => number | undefined;
  readonly #policies = new Map<string, Policy>();
  readonly #feeds = new Set<PolicyFeed>();
  #revision = 0;

  constructor(clock: Clock, currentTerm: () => number | undefined) {
    this.#clock = clock;
    this.#currentTerm = currentTerm;
  }

  /** Writes a policy; a document identical to the current one writes nothing (`changed: false`). */
  put(
    name: string,
    document: PolicyDocument,
    writer: PolicyWriter,
    options: PolicyWriteOptions = {},
  ): PolicyWriteResult {
    validatePolicyName(name);
    const text = validatePolicyDocument(document);
    // Fenced and compared first, as on etcd: "unchanged" is only ever the answer to a valid write.
    this.#checkWrite(name, writer, options);
    const current = this.#policies.get(name);
    if (current?.document === text) return Object.freeze({ ...current, changed: false });
    const policy: Policy = Object.freeze({
      name,
      version: ++this.#revision,
      document: text,
      updatedAt: this.#clock.wallNow(),
      updatedBy: writer.updatedBy,
    });
    this.#policies.set(name, policy);
    this.#publish({ type: 'updated', policy });
    return Object.freeze({ ...policy, changed: true });
  }

  delete(name: string, writer: PolicyWriter, options: PolicyWriteOptions = {}): boolean {
    validatePolicyName(name);
    this.#checkWrite(name, writer, options);
    if (!this.#policies.delete(name)) return false;
    this.#publish({ type: 'deleted', name, version: ++this.#revision });
    return true;
  }

  get(name: string): Policy | undefined {
    return this.#policies.get(validatePolicyName(name));
  }

  list(): Policy[] {
    return [...this.#policies.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  subscribe(options: { signal?: AbortSignal | undefined; bufferSize?: number } = {}): PolicyFeed {
    const feed = new PolicyFeed({
      snapshot: () => this.list(),
      bufferSize: options.bufferSize ?? 1024,
      signal: options.signal,
      onClose: () => this.#feeds.delete(feed),
    });
    this.#feeds.add(feed);
    return feed;
  }

  #checkWrite(name: string, writer: PolicyWriter, options: PolicyWriteOptions): void {
    if (writer.term !== undefined && writer.term !== this.#currentTerm())
      throw new FencedWriteError(writer.term);
    if (options.ifVersion !== undefined) {
      const actual = this.#policies.get(name)?.version;
      if ((actual ?? 0) !== options.ifVersion)
        throw new PolicyVersionConflictError(name, options.ifVersion, actual);
    }
  }

  #publish(update: PolicyUpdate): void {
    for (const feed of this.#feeds) feed.push(update);
  }
}
