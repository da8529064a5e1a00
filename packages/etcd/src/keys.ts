import { MAX_PRIORITY, type NodeMetadata, ValidationError } from '@ztap/cluster';
import { hasControlCharacters, type MemberRecord } from '@ztap/cluster/backend';

/**
 * Where a cluster lives in etcd. Everything hangs under one prefix that always ends in `/`, so the
 * cluster `a` never matches keys of the cluster `ab`, nor member `n1` those of `n10`:
 *
 * - `<prefix>members/<nodeId>`: the member record (JSON), on the node's lease while an agent runs;
 * - `<prefix>election/<leaseIdHex>`: a campaign key whose value is the node id (see campaign.ts).
 *   Same form as etcd's Go `concurrency` package, so `etcdctl elect -l <prefix>election` shows our
 *   leader and Go services can take part;
 * - `<prefix>policies/<name>`: a policy (JSON envelope around the YAML text); its mod revision is
 *   its version;
 * - `<prefix>transfer/<term>`: a request to hand the leadership of `term` to a named candidate, on
 *   the leader's lease (see transfer.ts).
 */
export class KeyLayout {
  readonly prefix: string;
  readonly membersPrefix: string;
  readonly electionName: string;
  readonly electionPrefix: string;
  readonly policiesPrefix: string;
  readonly transfersPrefix: string;

  constructor(prefix: string) {
    this.prefix = prefix;
    this.membersPrefix = `${prefix}members/`;
    this.electionName = `${prefix}election`;
    this.electionPrefix = `${this.electionName}/`;
    this.policiesPrefix = `${prefix}policies/`;
    this.transfersPrefix = `${prefix}transfer/`;
  }

  /** The transfer request of the leadership whose term (campaign key create revision) is `term`. */
  transferKey(term: number): string {
    return `${this.transfersPrefix}${term}`;
  }

  policyKey(name: string): string {
    return `${this.policiesPrefix}${name}`;
  }

  memberKey(nodeId: string): string {
    return `${this.membersPrefix}${nodeId}`;
  }
}

/** The default prefix of a named cluster. */
export const clusterPrefix = (cluster: string): string => `/ztap/clusters/${cluster}/`;

const CLUSTER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** Picks and checks the key prefix from `prefix` (wins) or `cluster` (default `default`). */
export function resolvePrefix(options: {
  cluster?: string | undefined;
  prefix?: string | undefined;
}): string {
  if (options.prefix !== undefined) {
    const prefix = options.prefix;
    if (typeof prefix !== 'string' || prefix.length === 0 || prefix === '/') {
      throw new ValidationError(
        'prefix',
        'must be a non-empty key prefix other than "/", e.g. /ztap/clusters/prod/',
      );
    }
    if (hasControlCharacters(prefix))
      throw new ValidationError('prefix', 'must not contain control characters');
    return prefix.endsWith('/') ? prefix : `${prefix}/`;
  }
  const cluster = options.cluster ?? 'default';
  if (typeof cluster !== 'string' || !CLUSTER_NAME.test(cluster)) {
    throw new ValidationError(
      'cluster',
      `must be 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit (got ${JSON.stringify(cluster)})`,
    );
  }
  return clusterPrefix(cluster);
}

/** The member record as stored: what the node says about itself. State comes from the lease. */
export interface StoredMember {
  readonly address: string;
  readonly metadata: NodeMetadata;
  readonly joinedAt: string;
  /** `healthy` or `unhealthy` as the node's own health check says; absent for operator records. */
  readonly health?: 'healthy' | 'unhealthy';
  /** The node's priority; absent when 0 (so records of nodes that set none are as before). */
  readonly priority?: number;
}

export function encodeMember(member: StoredMember): string {
  const { priority, ...rest } = member;
  return JSON.stringify(priority ? { ...rest, priority } : rest);
}

/** A priority as a record states it; anything but a whole number in range counts as 0. */
function storedPriority(value: unknown): number {
  return typeof value === 'number' && Number.isInteger(value) && Math.abs(value) <= MAX_PRIORITY ? value : 0;
}

/**
 * Reads a member record. A record on a live lease is `healthy`/`unhealthy` as its node reports; one
 * without a lease was registered by an operator and is `unknown`. Returns undefined for a record
 * that is not ours to read (foreign or corrupt): it is ignored rather than crash every watcher.
 */
export function decodeMember(
  nodeId: string,
  value: string,
  hasLease: boolean,
  lastSeen: Date,
): MemberRecord | undefined {
  try {
    const stored = JSON.parse(value) as Partial<StoredMember>;
    if (typeof stored.address !== 'string') return undefined;
    const metadata =
      stored.metadata && typeof stored.metadata === 'object' ? Object.freeze({ ...stored.metadata }) : {};
    const stamped = new Date(stored.joinedAt ?? Number.NaN);
    const joinedAt = Number.isNaN(stamped.getTime()) ? lastSeen : stamped;
    return {
      id: nodeId,
      address: stored.address,
      metadata,
      state: hasLease ? (stored.health === 'unhealthy' ? 'unhealthy' : 'healthy') : 'unknown',
      joinedAt,
      // No lease, no node: an operator's record has never been heard from since it was registered.
      lastSeen: hasLease ? lastSeen : joinedAt,
      priority: storedPriority(stored.priority),
    };
  } catch {
    return undefined;
  }
}
