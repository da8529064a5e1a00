import { ValidationError, ZtapError } from './errors.ts';

export const MAX_POLICY_NAME_LENGTH = 128;

/** A versioned policy document. */
export interface Policy {
  readonly name: string;
  /** Strictly increases with every write of this policy (on etcd: the key's mod revision). */
  readonly version: number;
  /** The YAML text, exactly as pushed. */
  readonly document: string;
  readonly updatedAt: Date;
  /** Who wrote it: a node id (leader writes) or `operator`. */
  readonly updatedBy: string;
}

/**
 * A policy document as a writer gives it: YAML text, or the bytes of a file holding it (checked to be
 * UTF-8, so a file in another encoding is refused rather than stored with replacement characters).
 */
export type PolicyDocument = string | Uint8Array;

/** What a write resolves with: the policy as stored, and whether this write changed it. */
export interface PolicyWriteResult extends Policy {
  /**
   * `false` when the document was identical to the current version: nothing was written (no new
   * version, no update for subscribers) and `version` is that current version.
   */
  readonly changed: boolean;
}

/** One step in a policy subscription. */
export type PolicyUpdate =
  /** Every policy at this moment: first, and again whenever the subscriber must start over. */
  | { readonly type: 'snapshot'; readonly policies: readonly Policy[] }
  | { readonly type: 'updated'; readonly policy: Policy }
  | { readonly type: 'deleted'; readonly name: string; readonly version: number };

export interface PolicyWriteOptions {
  /** Aborting it rejects the write with the signal's reason (it may still have been committed). */
  readonly signal?: AbortSignal | undefined;
  /** Compare-and-set: write only if the policy is at this version (0: only if it does not exist). */
  readonly ifVersion?: number;
  /**
   * The leadership term the caller's work started under (`runWhileLeader`'s `term`). The write is
   * fenced by it: if that leadership ended — even if this node leads again under a newer term —
   * it fails with `FencedWriteError`. Default: the node's current term.
   */
  readonly term?: number;
}

/**
 * The product document's `PolicySync`: versioned policies that only the leader may write.
 * Writes are fenced by the leader's term: a deposed leader's write fails with `FencedWriteError`
 * (or `NotLeaderError` if it already knows) and writes nothing.
 */
export interface PolicySync {
  /**
   * Publishes `document` (YAML text, or its UTF-8 bytes) as policy `name`; resolves with the stored
   * policy and its new version. A document identical to the current version writes nothing and
   * resolves with that version (`changed: false`); the write is still fenced.
   */
  syncPolicy(
    name: string,
    document: PolicyDocument,
    options?: PolicyWriteOptions,
  ): Promise<PolicyWriteResult>;
  /** Deletes a policy; resolves false if there was none. Fenced like `syncPolicy`. */
  deletePolicy(name: string, options?: PolicyWriteOptions): Promise<boolean>;
  /** The current version of `name`, or undefined if there is no such policy. */
  getPolicyVersion(name: string, options?: { signal?: AbortSignal | undefined }): Promise<number | undefined>;
  getPolicy(name: string, options?: { signal?: AbortSignal | undefined }): Promise<Policy | undefined>;
  /** Every policy, sorted by name. */
  listPolicies(options?: { signal?: AbortSignal | undefined }): Promise<Policy[]>;
  /**
   * A snapshot of every policy first, then every change in order, until `signal` aborts. Nothing is
   * lost across reconnects; after a compaction, or if this consumer falls too far behind, a fresh
   * `snapshot` replaces what it missed.
   */
  subscribePolicies(options?: { signal?: AbortSignal | undefined }): AsyncIterable<PolicyUpdate>;
}

/** A compare-and-set write found a different version. Nothing was written. */
export class PolicyVersionConflictError extends ZtapError {
  static readonly code = 'ZTAP_POLICY_VERSION_CONFLICT';
  readonly policy: string;
  readonly expected: number;
  readonly actual: number | undefined;

  constructor(policy: string, expected: number, actual: number | undefined) {
    super(
      PolicyVersionConflictError.code,
      `policy ${JSON.stringify(policy)} is at version ${actual ?? 'none (it does not exist)'}, not ${expected}: ` +
        'someone else changed it; read it again and retry',
    );
    this.policy = policy;
    this.expected = expected;
    this.actual = actual;
  }
}
export const isPolicyVersionConflictError = (error: unknown): error is PolicyVersionConflictError =>
  error instanceof Error && (error as { code?: unknown }).code === PolicyVersionConflictError.code;

const POLICY_NAME = /^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$/;

/** Policy names are 1-128 lowercase letters, digits, `.`, `_` or `-`, starting and ending alphanumeric. */
export function validatePolicyName(name: unknown, field = 'policy name'): string {
  if (typeof name !== 'string') throw new ValidationError(field, `must be a string (got ${typeof name})`);
  if (name.length === 0 || name.length > MAX_POLICY_NAME_LENGTH || !POLICY_NAME.test(name)) {
    throw new ValidationError(
      field,
      `must be 1-${MAX_POLICY_NAME_LENGTH} lowercase letters, digits, ".", "_" or "-", starting and ending with a letter or digit (got ${JSON.stringify(name)})`,
    );
  }
  return name;
}
