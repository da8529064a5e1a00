import { isMap, isScalar, parseDocument, visit } from 'yaml';
import { ValidationError, ZtapError } from './errors.ts';

export const MAX_POLICY_NAME_LENGTH = 128;
/** Documents are YAML text of at most this many UTF-8 bytes (etcd's default request limit is 1.5 MiB). */
export const MAX_POLICY_BYTES = 256 * 1024;

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
  /** Publishes `document` (YAML) as policy `name`; resolves with the stored policy and its new version. */
  syncPolicy(name: string, document: string, options?: PolicyWriteOptions): Promise<Policy>;
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

/** The first key that a mapping repeats (scalar keys, compared as text), if any. */
function firstDuplicateKey(parsed: ReturnType<typeof parseDocument>): string | undefined {
  let duplicate: string | undefined;
  visit(parsed, {
    Map(_, map) {
      if (!isMap(map)) return;
      const seen = new Set<string>();
      for (const pair of map.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
        if (key === undefined) continue;
        if (seen.has(key)) {
          duplicate = key;
          return visit.BREAK;
        }
        seen.add(key);
      }
    },
  });
  return duplicate;
}

/**
 * Checks that `document` is YAML worth storing: a string of at most {@link MAX_POLICY_BYTES}, that a
 * real YAML parser reads without errors, and that is not empty. Returns it unchanged: the text is
 * stored as pushed (comments and formatting are the author's).
 */
export function validatePolicyDocument(document: unknown, field = 'document'): string {
  if (typeof document !== 'string')
    throw new ValidationError(field, `must be YAML text (got ${typeof document})`);
  const bytes = Buffer.byteLength(document);
  if (bytes > MAX_POLICY_BYTES)
    throw new ValidationError(field, `must be at most ${MAX_POLICY_BYTES} bytes (got ${bytes})`);
  // uniqueKeys is checked below in linear time: the parser's own check is quadratic per mapping.
  const parsed = parseDocument(document, { prettyErrors: true, uniqueKeys: false });
  const error = parsed.errors[0];
  if (error) {
    const line = error.linePos?.[0];
    const reason = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?\s*$/, '');
    throw new ValidationError(
      field,
      `is not valid YAML${line ? ` (line ${line.line}, column ${line.col})` : ''}: ${reason}`,
    );
  }
  const duplicate = firstDuplicateKey(parsed);
  if (duplicate !== undefined)
    throw new ValidationError(
      field,
      `is not valid YAML: map keys must be unique (${JSON.stringify(duplicate)} repeats)`,
    );
  let value: unknown;
  try {
    // Resolves aliases: an unknown one, or an "alias bomb" that would expand without bound, throws.
    value = parsed.toJS({ maxAliasCount: 100 });
  } catch (cause) {
    throw new ValidationError(field, `is not valid YAML: ${(cause as Error).message}`, { cause });
  }
  if (parsed.contents === null || value === null || value === undefined) {
    throw new ValidationError(field, 'must not be empty');
  }
  return document;
}
