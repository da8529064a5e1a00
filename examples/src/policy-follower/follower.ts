import type { Policy, PolicySync, PolicyUpdate } from '@ztap/cluster';

/** How the set of policies changed: what to log, and what the service reacts to. */
export type PolicyChange =
  | { readonly type: 'added' | 'updated'; readonly policy: Policy }
  | { readonly type: 'removed'; readonly name: string };

/**
 * The policies this service currently follows, kept by applying a subscription's updates.
 *
 * A `snapshot` replaces the whole set. The first one starts it; a later one comes after a resync
 * (a reconnect, a compaction, or this consumer falling behind) instead of the updates it missed, so
 * a policy missing from it was deleted meanwhile: merging snapshots in would keep it forever.
 */
export class PolicySet {
  #policies = new Map<string, Policy>();

  get(name: string): Policy | undefined {
    return this.#policies.get(name);
  }

  get size(): number {
    return this.#policies.size;
  }

  /** Every policy, sorted by name. */
  list(): Policy[] {
    return [...this.#policies.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Applies one update and says what it changed (nothing, for a snapshot that matches what we have). */
  apply(update: PolicyUpdate): PolicyChange[] {
    switch (update.type) {
      case 'snapshot': {
        const before = this.#policies;
        this.#policies = new Map(update.policies.map((policy) => [policy.name, policy]));
        const changes: PolicyChange[] = [];
        for (const name of before.keys()) {
          if (!this.#policies.has(name)) changes.push({ type: 'removed', name });
        }
        for (const policy of update.policies) changes.push(...compare(before.get(policy.name), policy));
        return changes;
      }
      case 'updated': {
        const before = this.#policies.get(update.policy.name);
        this.#policies.set(update.policy.name, update.policy);
        return compare(before, update.policy);
      }
      case 'deleted':
        return this.#policies.delete(update.name) ? [{ type: 'removed', name: update.name }] : [];
    }
  }
}

function compare(before: Policy | undefined, after: Policy): PolicyChange[] {
  if (!before) return [{ type: 'added', policy: after }];
  return before.version === after.version ? [] : [{ type: 'updated', policy: after }];
}

/** One line per change, e.g. `policy rate-limit updated to version 17 by node-1`. */
export function describeChange(change: PolicyChange): string {
  if (change.type === 'removed') return `policy ${change.name} removed`;
  const { name, version, updatedBy } = change.policy;
  return `policy ${name} ${change.type === 'added' ? 'added at' : 'updated to'} version ${version} by ${updatedBy}`;
}

/**
 * Follows every policy into `into` until `signal` aborts: the snapshot first, then each change in
 * order. `onChange` runs for each change, after `into` reflects it.
 */
export async function followPolicies(
  policies: PolicySync,
  into: PolicySet,
  options: { signal: AbortSignal; onChange?: (change: PolicyChange) => void; log?: (line: string) => void },
): Promise<void> {
  const { signal, onChange = () => {}, log = console.log } = options;
  for await (const update of policies.subscribePolicies({ signal })) {
    const changes = into.apply(update);
    if (update.type === 'snapshot')
      log(`snapshot: ${update.policies.length} policies, ${changes.length} changed`);
    for (const change of changes) {
      log(describeChange(change));
      onChange(change);
    }
  }
}
