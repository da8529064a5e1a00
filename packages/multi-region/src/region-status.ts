import { type Clock, systemClock } from '@ztap/cluster';
import { EtcdClusterClient, type EtcdConnectionOptions } from '@ztap/cluster-etcd';
import { EtcdCalls } from './calls.ts';
import { checkPrefix, defaultPrefixes, GlobalLayout, ReplicaLayout, rangeEnd } from './layout.ts';
import { validateRegion } from './options.ts';
import { type Checkpoint, decodeCheckpoint, decodeRegion, type GlobalLeaderRecord } from './records.ts';

/** A region to report on, beside (or instead of) the ones the global store's directory lists. */
export interface RegionAddress {
  readonly name: string;
  readonly endpoints: readonly string[];
  readonly regionalPrefix?: string;
  readonly replicaPrefix?: string;
}

export interface MultiRegionStatusOptions {
  /** The global etcd; TLS and auth here are also used for every region. */
  readonly global: EtcdConnectionOptions & { readonly prefix?: string };
  /** Names the default prefixes, as for `MultiRegionNode`. Default `default`. */
  readonly cluster?: string;
  /** Regions given explicitly: they override the directory's entry of the same name. */
  readonly regions?: readonly RegionAddress[];
  /** Deadline of each request attempt, ms. Default 5000. */
  readonly requestTimeout?: number;
  /** Retries of transient failures. Default 1: a status read should answer quickly. */
  readonly maxRetries?: number;
  readonly clock?: Clock;
}

/** One region as `ztap region status` shows it. */
export interface RegionStatus {
  readonly name: string;
  readonly endpoints: readonly string[];
  /** Whether its etcd answered. */
  readonly reachable: boolean;
  /** Why it could not be read (when not reachable). */
  readonly error?: string;
  /** Its regional leader and regional term, if it has one. */
  readonly leader?: { readonly nodeId: string; readonly term: number };
  readonly nodes?: number;
  readonly healthyNodes?: number;
  /** Replication into it, from its checkpoint (absent: nothing replicated yet). */
  readonly replication?: {
    readonly globalRevision: number;
    readonly confirmedAt?: string;
    /** Now minus `confirmedAt`, by this machine's clock, ms. */
    readonly lagMs?: number;
    readonly policies: number;
    /** A full resync was interrupted and is still to be completed. */
    readonly resyncing: boolean;
    readonly writer: Checkpoint['writer'];
  };
}

export interface MultiRegionStatus {
  readonly global: {
    readonly endpoints: readonly string[];
    readonly reachable: boolean;
    readonly error?: string;
    readonly leader?: GlobalLeaderRecord;
    /** The global store's revision when read. */
    readonly revision?: number;
    readonly policies?: number;
  };
  readonly regions: readonly RegionStatus[];
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Reads every region's state for operators: the global leader and global store from the global
 * etcd, then each region (from the global store's directory, plus `regions`) from its own etcd, all
 * at once. An unreachable etcd is reported, not thrown: the point is to see which region is cut off.
 */
export async function readMultiRegionStatus(options: MultiRegionStatusOptions): Promise<MultiRegionStatus> {
  const cluster = options.cluster ?? 'default';
  const defaults = defaultPrefixes(cluster);
  const globalPrefix = checkPrefix('global.prefix', options.global.prefix ?? defaults.global);
  const requestTimeout = options.requestTimeout ?? 5000;
  const maxRetries = options.maxRetries ?? 1;
  const clock = options.clock ?? systemClock;
  const { tls, auth } = options.global;
  const endpoints = options.global.endpoints ?? ['http://127.0.0.1:2379'];
  const layout = new GlobalLayout(globalPrefix);
  const calls = new EtcdCalls(endpoints, { requestTimeout, maxRetries });

  await using globalClient = new EtcdClusterClient({
    ...options.global,
    prefix: globalPrefix,
    requestTimeout,
    maxRetries,
  });
  let global: MultiRegionStatus['global'];
  let directory: RegionAddress[] = [];
  try {
    const state = await globalClient.getState();
    const [regions, policies] = await Promise.all([
      calls.call('read the region directory', (attempt) =>
        globalClient.client.kv.range(
          { key: Buffer.from(layout.regionsPrefix), range_end: rangeEnd(layout.regionsPrefix) },
          attempt,
        ),
      ),
      calls.call('count the global policies', (attempt) =>
        globalClient.client.kv.range(
          {
            key: Buffer.from(layout.policiesPrefix),
            range_end: rangeEnd(layout.policiesPrefix),
            count_only: true,
          },
          attempt,
        ),
      ),
    ]);
    directory = regions.kvs
      .map((kv) => decodeRegion(kv.value.toString()))
      .filter((record) => record !== undefined)
      .map((record) => ({ ...record }));
    global = {
      endpoints,
      reachable: true,
      ...(state.leader && state.term !== undefined
        ? {
            leader: {
              node: state.leader.id,
              region: state.leader.metadata.region ?? 'unknown',
              term: state.term,
            },
          }
        : {}),
      revision: Number(policies.header.revision),
      policies: Number(policies.count),
    };
  } catch (error) {
    global = { endpoints, reachable: false, error: messageOf(error) };
  }

  const byName = new Map<string, RegionAddress>();
  for (const region of [...directory, ...(options.regions ?? [])])
    byName.set(validateRegion(region.name, 'regions[].name'), region);
  const regions = await Promise.all(
    [...byName.values()]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((region) =>
        readRegion(region, {
          tls,
          auth,
          requestTimeout,
          maxRetries,
          clock,
          regionalPrefix: region.regionalPrefix ?? defaults.regional,
          replicaPrefix: region.replicaPrefix ?? defaults.replica,
        }),
      ),
  );
  return { global, regions };
}

async function readRegion(
  region: RegionAddress,
  options: {
    tls: EtcdConnectionOptions['tls'];
    auth: EtcdConnectionOptions['auth'];
    requestTimeout: number;
    maxRetries: number;
    clock: Clock;
    regionalPrefix: string;
    replicaPrefix: string;
  },
): Promise<RegionStatus> {
  const base = { name: region.name, endpoints: region.endpoints };
  if (region.endpoints.length === 0)
    return { ...base, reachable: false, error: 'no endpoints known (give them with --region NAME=URL)' };
  const replicas = new ReplicaLayout(checkPrefix('replicaPrefix', options.replicaPrefix));
  const calls = new EtcdCalls(region.endpoints, options);
  try {
    await using client = new EtcdClusterClient({
      endpoints: region.endpoints,
      ...(options.tls ? { tls: options.tls } : {}),
      ...(options.auth ? { auth: options.auth } : {}),
      prefix: checkPrefix('regionalPrefix', options.regionalPrefix),
      requestTimeout: options.requestTimeout,
      maxRetries: options.maxRetries,
    });
    const [state, checkpointResponse, count] = await Promise.all([
      client.getState(),
      calls.call('read the replication checkpoint', (attempt) =>
        client.client.kv.range({ key: Buffer.from(replicas.checkpointKey) }, attempt),
      ),
      calls.call('count the replicated policies', (attempt) =>
        client.client.kv.range(
          {
            key: Buffer.from(replicas.policiesPrefix),
            range_end: rangeEnd(replicas.policiesPrefix),
            count_only: true,
          },
          attempt,
        ),
      ),
    ]);
    const value = checkpointResponse.kvs[0]?.value.toString();
    const checkpoint = value === undefined ? undefined : decodeCheckpoint(value);
    const now = options.clock.wallNow().getTime();
    return {
      ...base,
      reachable: true,
      ...(state.leader && state.term !== undefined
        ? { leader: { nodeId: state.leader.id, term: state.term } }
        : {}),
      nodes: state.nodes.length,
      healthyNodes: state.nodes.filter((node) => node.state === 'healthy').length,
      ...(checkpoint
        ? {
            replication: {
              globalRevision: checkpoint.globalRevision,
              ...(checkpoint.confirmedAt !== undefined
                ? {
                    confirmedAt: checkpoint.confirmedAt,
                    lagMs: Math.max(0, now - Date.parse(checkpoint.confirmedAt)),
                  }
                : {}),
              policies: Number(count.count),
              resyncing: checkpoint.resyncingTo !== undefined,
              writer: checkpoint.writer,
            },
          }
        : {}),
    };
  } catch (error) {
    return { ...base, reachable: false, error: messageOf(error) };
  }
}
