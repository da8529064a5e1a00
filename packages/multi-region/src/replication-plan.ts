/**
 * The replication recipe as pure functions: what to write into a region for a batch of global
 * changes, for a full resync, and whether a region has caught up with a listing of the global store.
 * The replicator (replicator.ts) only orchestrates these and sends what they return.
 *
 * Versions are the global store's mod revisions; a region keeps, per replicated policy, the global
 * version it holds, and one checkpoint: the global revision up to which every change is applied.
 */

/** A global policy as listed or changed: `version` is its mod revision in the global store. */
export interface GlobalPolicyValue {
  readonly name: string;
  readonly version: number;
  readonly value: string;
}

/** A change of one global policy, at the revision the global store committed it. */
export interface GlobalPolicyChange {
  readonly type: 'put' | 'delete';
  readonly name: string;
  /** For a put, also its new version. */
  readonly revision: number;
  readonly value: string;
}

/** One write into the region. `revision` is the global revision it brings the region to. */
export type ReplicaOp =
  | { readonly type: 'put'; readonly name: string; readonly revision: number; readonly value: string }
  | { readonly type: 'delete'; readonly name: string; readonly revision: number };

/** Global version held in the region, per replicated policy name. */
export type ReplicaVersions = ReadonlyMap<string, number>;

/**
 * The writes that apply `changes` (in revision order) to a region holding `replicas`, whose
 * checkpoint is `checkpointRevision`. A change at or below the checkpoint is already applied; a put
 * the region already holds at that version or newer is skipped, and so is a delete of a policy the
 * region does not hold or holds at a newer version: replaying a stretch of changes twice (a new
 * regional leader resuming from the checkpoint, a watch resumed after a disconnect) never moves a
 * policy backwards. Only the last change of each name in the batch is written (a policy created
 * and deleted within the batch keeps its delete: a no-op in etcd that records when it went).
 */
export function planChanges(
  changes: readonly GlobalPolicyChange[],
  replicas: ReplicaVersions,
  checkpointRevision: number,
): ReplicaOp[] {
  const held = new Map(replicas);
  const last = new Map<string, ReplicaOp>();
  for (const change of changes) {
    if (change.revision <= checkpointRevision) continue;
    const version = held.get(change.name);
    if (change.type === 'put') {
      if (version !== undefined && version >= change.revision) continue;
      held.set(change.name, change.revision);
      last.delete(change.name); // re-inserted last: ops stay in revision order
      last.set(change.name, {
        type: 'put',
        name: change.name,
        revision: change.revision,
        value: change.value,
      });
    } else {
      if (version === undefined || version >= change.revision) continue;
      held.delete(change.name);
      last.delete(change.name);
      last.set(change.name, { type: 'delete', name: change.name, revision: change.revision });
    }
  }
  return [...last.values()];
}

/**
 * The writes that make a region hold exactly `listing` (the global store at one revision): puts for
 * every policy the region lacks or holds at another version, deletes for every policy the listing
 * does not have. Authoritative on purpose: after a compaction, or when the global store was
 * replaced (its versions went backwards), the region follows the global store as it is now.
 */
export function planResync(listing: readonly GlobalPolicyValue[], replicas: ReplicaVersions): ReplicaOp[] {
  const ops: ReplicaOp[] = [];
  const listed = new Set<string>();
  for (const policy of [...listing].sort((a, b) => a.version - b.version)) {
    listed.add(policy.name);
    if (replicas.get(policy.name) !== policy.version)
      ops.push({ type: 'put', name: policy.name, revision: policy.version, value: policy.value });
  }
  for (const name of [...replicas.keys()].sort())
    if (!listed.has(name)) ops.push({ type: 'delete', name, revision: 0 });
  return ops;
}

/**
 * Splits `ops` into groups small enough for one etcd transaction each: at most `maxOps` operations
 * and about `maxBytes` bytes (etcd refuses more: `--max-txn-ops` is 128 and a request at most
 * 1.5 MiB by default). No ops give one empty group: a transaction that only moves the checkpoint.
 * Only the last group may move the checkpoint forward: the changes of a batch are collapsed per
 * name, so a region holding the first groups alone holds no consistent earlier revision.
 */
export function chunkOps(
  ops: readonly ReplicaOp[],
  limits: { maxOps: number; maxBytes: number },
): ReplicaOp[][] {
  const groups: ReplicaOp[][] = [[]];
  let bytes = 0;
  for (const op of ops) {
    const size = op.name.length + (op.type === 'put' ? op.value.length : 0) + 64;
    const current = groups[groups.length - 1] as ReplicaOp[];
    if (current.length > 0 && (current.length >= limits.maxOps || bytes + size > limits.maxBytes)) {
      groups.push([op]);
      bytes = size;
    } else {
      current.push(op);
      bytes += size;
    }
  }
  return groups;
}

/**
 * Whether a region holding `replicas` reflects the global store as `listing` showed it at
 * `listingRevision`, or something newer: every listed policy is held at its listed version or
 * was changed after the listing (held at a newer version, or deleted later: `deletedAt`), and
 * every policy held but not listed was created after the listing. Names that fail are returned.
 */
export function behindListing(
  listing: ReadonlyMap<string, number>,
  listingRevision: number,
  replicas: ReplicaVersions,
  deletedAt: ReadonlyMap<string, number>,
): string[] {
  const behind: string[] = [];
  for (const [name, version] of listing) {
    const held = replicas.get(name);
    const fine =
      held === undefined
        ? (deletedAt.get(name) ?? 0) > listingRevision
        : held === version || held > listingRevision;
    if (!fine) behind.push(name);
  }
  for (const [name, held] of replicas) if (!listing.has(name) && held <= listingRevision) behind.push(name);
  return behind.sort();
}

/** What a confirmation against a listing of the global store concludes. */
export type Confirmation =
  /** The region holds everything the listing holds: its checkpoint may say `globalRevision`. */
  | { readonly kind: 'confirmed'; readonly globalRevision: number }
  /** Another store (cluster id), or one whose revision went below what the region had reached. */
  | { readonly kind: 'store_changed' }
  /** Behind the listing; `stuck` when waiting cannot help (rebuild from a full listing). */
  | { readonly kind: 'behind'; readonly stuck: boolean; readonly names: readonly string[] };

export interface ConfirmationInput {
  readonly listing: ReadonlyMap<string, number>;
  readonly listingRevision: number;
  readonly listingClusterId: string;
  /**
   * The region's checkpoint revision when the listing was asked for. The listing is a snapshot taken
   * later, and changes the watch delivered meanwhile may be newer than it: only a listing below what
   * the region had reached before asking shows a store that went backwards.
   */
  readonly reachedBefore: number;
  /** The region's checkpoint now (every change delivered before the listing arrived is applied). */
  readonly checkpoint: { readonly globalRevision: number; readonly globalClusterId: string };
  readonly replicas: ReplicaVersions;
  readonly deletedAt: ReadonlyMap<string, number>;
  /** The watch's position when the listing arrived. */
  readonly position: number;
  /** The watch's position at the previous confirmation, if that one found the region behind. */
  readonly behindAt: number | undefined;
}

/**
 * Judges a region against a linearizable listing of the global store: confirmed when it holds
 * everything listed (or newer); behind otherwise, and stuck when the watch has delivered past the
 * listing and the region is still behind, or made no progress since the previous check (a silent
 * watch, as on an isolated member, is only found this way).
 */
export function judgeConfirmation(input: ConfirmationInput): Confirmation {
  if (
    input.listingClusterId !== input.checkpoint.globalClusterId ||
    input.listingRevision < input.reachedBefore
  )
    return { kind: 'store_changed' };
  const names = behindListing(input.listing, input.listingRevision, input.replicas, input.deletedAt);
  if (names.length === 0)
    return {
      kind: 'confirmed',
      globalRevision: Math.max(input.checkpoint.globalRevision, input.listingRevision),
    };
  const stuck = input.position >= input.listingRevision || input.behindAt === input.position;
  return { kind: 'behind', stuck, names };
}
