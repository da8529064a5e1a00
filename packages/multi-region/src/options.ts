import {
  type Clock,
  DEFAULT_CONFIG,
  MAX_NODE_ID_LENGTH,
  type NodeMetadata,
  systemClock,
  ValidationError,
} from '@ztap/cluster';
import type { EtcdElectionOptions } from '@ztap/cluster-etcd';
import { checkPrefix, defaultPrefixes } from './layout.ts';
import { DEFAULT_WAN_RTT_MS, wanTiming } from './wan-timing.ts';

/** The regional election: an ordinary `EtcdElection` on the region's etcd. */
export type RegionalElectionOptions = Omit<
  EtcdElectionOptions,
  'nodeId' | 'nodeAddress' | 'metadata' | 'clock' | 'cluster'
>;

/**
 * The global election on the global etcd. Its health is the regional leadership (a node campaigns
 * globally only while it leads its region) and it may lead at once (its region already vetted it).
 * Defaults from {@link wanTiming} for a 150 ms round trip: a 5 s lease kept alive every second,
 * stepping down 1 s before it could expire.
 */
export type GlobalElectionOptions = Omit<
  EtcdElectionOptions,
  'nodeId' | 'nodeAddress' | 'metadata' | 'clock' | 'cluster' | 'healthCheck' | 'initialLeadership'
>;

export interface MultiRegionNodeOptions {
  /** This node's id, unique in its region (globally it campaigns as `<nodeId>@<region>`). */
  readonly nodeId: string;
  readonly nodeAddress: string;
  readonly metadata?: NodeMetadata;
  /** This node's region: 1-63 lowercase letters, digits and `-`. */
  readonly region: string;
  /**
   * The preferred region: while its leader is healthy and campaigns globally, a global leader from
   * another region hands global leadership back to it (after {@link handBackDelay}).
   */
  readonly homeRegion?: string;
  /**
   * Names the default key prefixes: the regional cluster under `/ztap/clusters/<cluster>/`, the
   * global one under `/ztap/global/<cluster>/`, the replicas under `/ztap/replicas/<cluster>/`.
   * Default `default`.
   */
  readonly cluster?: string;
  readonly regional: RegionalElectionOptions;
  readonly global: GlobalElectionOptions;
  readonly replication?: {
    /** Where the region keeps replicated policies and the checkpoint (its own etcd). */
    readonly prefix?: string;
    /** How often the regional leader confirms its region against the global store, ms. Default 1000. */
    readonly confirmInterval?: number;
  };
  /**
   * How long the home region's leader must be seen healthy and campaigning before a global leader
   * from another region hands back, ms: a home region that flaps does not drag global leadership
   * back and forth. Default: the global election timeout.
   */
  readonly handBackDelay?: number;
  readonly clock?: Clock;
}

/** What a node runs with, checked. */
export interface ResolvedMultiRegionOptions {
  readonly nodeId: string;
  readonly region: string;
  readonly homeRegion: string | undefined;
  /** The node id in the global election. */
  readonly globalNodeId: string;
  readonly regionalPrefix: string;
  readonly globalPrefix: string;
  readonly replicaPrefix: string;
  readonly regional: EtcdElectionOptions;
  readonly global: EtcdElectionOptions;
  readonly confirmIntervalMs: number;
  readonly handBackDelayMs: number;
  readonly clock: Clock;
}

const REGION = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const CLUSTER = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** Region names: 1-63 lowercase letters, digits and `-`, starting and ending with a letter or digit. */
export function validateRegion(region: unknown, field = 'region'): string {
  if (typeof region !== 'string' || !REGION.test(region))
    throw new ValidationError(
      field,
      `must be 1-63 lowercase letters, digits or "-", starting and ending with a letter or digit (got ${JSON.stringify(region)})`,
    );
  return region;
}

function wholeMs(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw new ValidationError(
      field,
      `must be a whole number of ms from ${min} to ${max} (got ${String(value)})`,
    );
  return value;
}

const overlaps = (a: string, b: string) => a.startsWith(b) || b.startsWith(a);

/** Checks the options and fills in the defaults. Pure: no I/O. */
export function resolveMultiRegionOptions(options: MultiRegionNodeOptions): ResolvedMultiRegionOptions {
  if (typeof options !== 'object' || options === null)
    throw new ValidationError(
      'options',
      'must be an object with nodeId, nodeAddress, region, regional and global',
    );
  const region = validateRegion(options.region);
  const homeRegion =
    options.homeRegion === undefined ? undefined : validateRegion(options.homeRegion, 'homeRegion');
  const cluster = options.cluster ?? 'default';
  if (typeof cluster !== 'string' || !CLUSTER.test(cluster))
    throw new ValidationError(
      'cluster',
      `must be 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit (got ${JSON.stringify(cluster)})`,
    );
  if (typeof options.regional !== 'object' || options.regional === null)
    throw new ValidationError('regional', 'must give the regional etcd (endpoints or client)');
  if (typeof options.global !== 'object' || options.global === null)
    throw new ValidationError('global', 'must give the global etcd (endpoints or client)');
  const globalNodeId = `${options.nodeId}@${region}`;
  if (typeof options.nodeId === 'string' && globalNodeId.length > MAX_NODE_ID_LENGTH)
    throw new ValidationError(
      'nodeId',
      `must leave room for "@${region}" within ${MAX_NODE_ID_LENGTH} characters (the global election's node id)`,
    );
  const defaults = defaultPrefixes(cluster);
  const regionalPrefix = checkPrefix('regional.prefix', options.regional.prefix ?? defaults.regional);
  const globalPrefix = checkPrefix('global.prefix', options.global.prefix ?? defaults.global);
  const replicaPrefix = checkPrefix('replication.prefix', options.replication?.prefix ?? defaults.replica);
  const prefixes = {
    'regional.prefix': regionalPrefix,
    'global.prefix': globalPrefix,
    'replication.prefix': replicaPrefix,
  };
  const named = Object.entries(prefixes);
  for (const [index, [field, prefix]] of named.entries()) {
    for (const [otherField, other] of named.slice(index + 1)) {
      if (overlaps(prefix, other))
        throw new ValidationError(
          field,
          `must not overlap ${otherField} (${prefix} and ${other}): their keys would mix`,
        );
    }
  }
  const wan = wanTiming(DEFAULT_WAN_RTT_MS);
  const globalElectionTimeout = options.global.electionTimeout ?? wan.electionTimeout;
  const confirmIntervalMs = wholeMs(
    'replication.confirmInterval',
    options.replication?.confirmInterval ?? wan.confirmIntervalMs,
    100,
    60_000,
  );
  const handBackDelayMs = wholeMs(
    'handBackDelay',
    options.handBackDelay ?? globalElectionTimeout,
    0,
    3_600_000,
  );
  const clock = options.clock ?? systemClock;
  const identity = {
    nodeAddress: options.nodeAddress,
    ...(options.metadata !== undefined ? { metadata: options.metadata } : {}),
    clock,
  };
  return {
    nodeId: options.nodeId,
    region,
    homeRegion,
    globalNodeId,
    regionalPrefix,
    globalPrefix,
    replicaPrefix,
    regional: { ...options.regional, ...identity, nodeId: options.nodeId, prefix: regionalPrefix },
    global: {
      // A fifth of the lease for both, as wanTiming() sizes them (the etcd package's own rule too).
      heartbeatInterval: globalElectionTimeout / 5,
      stepDownMargin: globalElectionTimeout / 5,
      ...withoutUndefined(options.global),
      ...identity,
      metadata: { ...options.metadata, region },
      nodeId: globalNodeId,
      prefix: globalPrefix,
      electionTimeout: globalElectionTimeout,
      initialLeadership: 0,
    },
    confirmIntervalMs,
    handBackDelayMs,
    clock,
  };
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as Partial<T>;
}

/** The request timeout an election will use with these options (the etcd package's default rule). */
export function requestTimeoutOf(options: EtcdElectionOptions): number {
  return (
    options.requestTimeout ?? Math.min(5000, (options.electionTimeout ?? DEFAULT_CONFIG.electionTimeout) / 2)
  );
}
