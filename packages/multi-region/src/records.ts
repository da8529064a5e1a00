import type { Policy } from '@ztap/cluster';

/**
 * A policy value as `EtcdPolicySync` stores it (docs/architecture.md): `{document, updatedAt,
 * updatedBy}`; its version is the key's mod revision. Undefined for a value that is not a policy.
 */
export function policyFromValue(name: string, version: number, value: string): Policy | undefined {
  try {
    const stored = JSON.parse(value) as { document?: unknown; updatedAt?: unknown; updatedBy?: unknown };
    if (typeof stored.document !== 'string') return undefined;
    return Object.freeze({
      name,
      version,
      document: stored.document,
      updatedAt: new Date(typeof stored.updatedAt === 'string' ? stored.updatedAt : 0),
      updatedBy: typeof stored.updatedBy === 'string' ? stored.updatedBy : 'unknown',
    });
  } catch {
    return undefined;
  }
}

/**
 * A replicated policy: the global store's value verbatim, with the version it had there. etcd
 * revisions are per cluster, so the regional key's own revision says nothing about global order;
 * the global version inside the value does.
 */
export interface ReplicaRecord {
  readonly globalVersion: number;
  readonly value: string;
}

export const encodeReplica = (record: ReplicaRecord): string => JSON.stringify(record);

export function decodeReplica(value: string): ReplicaRecord | undefined {
  try {
    const record = JSON.parse(value) as Partial<ReplicaRecord>;
    if (!Number.isSafeInteger(record.globalVersion) || typeof record.value !== 'string') return undefined;
    return { globalVersion: record.globalVersion as number, value: record.value };
  } catch {
    return undefined;
  }
}

/** Who led globally, as the region's leader last saw it. */
export interface GlobalLeaderRecord {
  /** The global election's node id: `<node id>@<region>`. */
  readonly node: string;
  readonly region: string;
  /** The global term (fencing token of global writes). */
  readonly term: number;
}

/** How far a region's replication has come; written with every replicated change and every confirmation. */
export interface Checkpoint {
  /** Every global change up to this revision of the global store is in the region. */
  readonly globalRevision: number;
  /** The global etcd cluster's id: another id means another store (restored, recreated): resync. */
  readonly globalClusterId: string;
  /** A full resync up to this revision was interrupted: the next replicator starts over with one. */
  readonly resyncingTo?: number;
  /**
   * When the replicated state was last confirmed current against the global store (the send time of
   * that check, ISO 8601). Absent until the first confirmation.
   */
  readonly confirmedAt?: string;
  /** How often the replicator confirms: readers treat a checkpoint older than a few of these as stuck. */
  readonly confirmIntervalMs: number;
  readonly globalLeader?: GlobalLeaderRecord;
  /** The regional leader that wrote it, and its regional term. */
  readonly writer: { readonly nodeId: string; readonly term: number };
}

export const encodeCheckpoint = (checkpoint: Checkpoint): string => JSON.stringify(checkpoint);

export function decodeCheckpoint(value: string): Checkpoint | undefined {
  try {
    const parsed = JSON.parse(value) as Partial<Checkpoint>;
    if (
      !Number.isSafeInteger(parsed.globalRevision) ||
      typeof parsed.globalClusterId !== 'string' ||
      !Number.isSafeInteger(parsed.confirmIntervalMs) ||
      typeof parsed.writer?.nodeId !== 'string'
    )
      return undefined;
    return parsed as Checkpoint;
  } catch {
    return undefined;
  }
}

/** A region in the global store's directory, written by its leader; what `ztap region status` lists. */
export interface RegionRecord {
  readonly name: string;
  /** The regional etcd's client endpoints, as that region's nodes reach it. */
  readonly endpoints: readonly string[];
  readonly regionalPrefix: string;
  readonly replicaPrefix: string;
}

export const encodeRegion = (record: RegionRecord): string => JSON.stringify(record);

export function decodeRegion(value: string): RegionRecord | undefined {
  try {
    const parsed = JSON.parse(value) as Partial<RegionRecord>;
    if (
      typeof parsed.name !== 'string' ||
      !Array.isArray(parsed.endpoints) ||
      !parsed.endpoints.every((endpoint) => typeof endpoint === 'string') ||
      typeof parsed.regionalPrefix !== 'string' ||
      typeof parsed.replicaPrefix !== 'string'
    )
      return undefined;
    return parsed as RegionRecord;
  } catch {
    return undefined;
  }
}
