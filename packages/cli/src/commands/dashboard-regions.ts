import { type Clock, systemClock } from '@ztap/cluster';
import type { WireRegion, WireRegions } from '@ztap/cluster-dashboard';
import type { MultiRegionStatus } from '@ztap/cluster-multi-region';

/**
 * How long after one region read ends the next begins. `readMultiRegionStatus` offers no watch, and
 * a watch would not do: the lag is "now minus the last confirmation", which grows without any key
 * changing, so it has to be re-read anyway. Each read opens a client per etcd (global + regions).
 */
export const REGION_POLL_INTERVAL_MS = 2000;

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** `ztap region status`'s view of the regions, as the dashboard page shows it. */
export function wireRegionsFrom(status: MultiRegionStatus): WireRegions {
  const global = status.global;
  return {
    ...(global.leader
      ? {
          globalLeader: global.leader.node,
          globalRegion: global.leader.region,
          globalTerm: global.leader.term,
        }
      : {}),
    globalState: global.reachable ? 'connected' : 'disconnected',
    ...(global.reachable ? {} : { globalReason: global.error ?? 'unreachable' }),
    regions: status.regions.map(
      (region): WireRegion => ({
        name: region.name,
        ...(region.leader ? { leader: region.leader.nodeId, term: region.leader.term } : {}),
        ...(region.replication?.lagMs !== undefined ? { replicationLagMs: region.replication.lagMs } : {}),
        state: region.reachable ? 'connected' : 'disconnected',
        ...(region.reachable ? {} : { reason: region.error ?? 'unreachable' }),
      }),
    ),
  };
}

/**
 * `region` as last known (leader and term), marked not read just now for `reason`. Its lag is
 * dropped: it is "now minus the last confirmation", so an old figure would understate it.
 */
function stale(region: WireRegion, reason: string): WireRegion {
  return {
    name: region.name,
    ...(region.leader !== undefined ? { leader: region.leader } : {}),
    ...(region.term !== undefined ? { term: region.term } : {}),
    state: 'disconnected',
    reason,
  };
}

/**
 * The next view after a read. A region whose etcd did not answer keeps its last known leader and
 * term (marked disconnected); without the global store its directory is unknown, so regions seen
 * before and missing now stay too, instead of vanishing from the page.
 */
export function nextRegionsView(previous: WireRegions | undefined, read: WireRegions): WireRegions {
  if (!previous) return read;
  const before = new Map(previous.regions.map((region) => [region.name, region]));
  const regions = read.regions.map((region) => {
    const known = before.get(region.name);
    return region.state === 'disconnected' && known
      ? stale({ ...known, name: region.name }, region.reason ?? 'unreachable')
      : region;
  });
  if (read.globalState === 'disconnected') {
    const named = new Set(read.regions.map((region) => region.name));
    for (const region of previous.regions)
      if (!named.has(region.name))
        regions.push(stale(region, 'not read: the global store (its directory of regions) is unreachable'));
    regions.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
  return { ...read, regions };
}

/** The last view with everything marked disconnected: a read failed as a whole. */
export function failedRegionsView(previous: WireRegions | undefined, error: unknown): WireRegions {
  const reason = `cannot read the regions: ${messageOf(error)}`;
  return {
    ...previous,
    globalState: 'disconnected',
    globalReason: reason,
    regions: (previous?.regions ?? []).map((region) => stale(region, reason)),
  };
}

export interface RegionPollOptions {
  readonly intervalMs?: number;
  readonly clock?: Clock;
  /** Hears of reads that failed as a whole (an unreachable etcd is not one: it is shown). */
  readonly onError?: (error: unknown) => void;
  /** Ends the iteration; a read in flight is abandoned (it ends by its own timeout). */
  readonly signal?: AbortSignal;
}

/**
 * The dashboard's live region feed: `read()` now, then again `intervalMs` after each read ends (so
 * reads never pile up behind a slow etcd), each turned into a view. A view equal to the last is
 * not sent again. A read that throws keeps the last view, marked disconnected.
 */
export async function* pollRegions(
  read: () => Promise<MultiRegionStatus>,
  options: RegionPollOptions = {},
): AsyncGenerator<WireRegions> {
  const clock = options.clock ?? systemClock;
  const intervalMs = options.intervalMs ?? REGION_POLL_INTERVAL_MS;
  const signal = options.signal;
  let last: WireRegions | undefined;
  let lastText: string | undefined;
  while (!signal?.aborted) {
    let view: WireRegions;
    try {
      const status = await untilAborted(read(), signal);
      if (status === undefined) return;
      view = nextRegionsView(last, wireRegionsFrom(status));
    } catch (error) {
      options.onError?.(error);
      view = failedRegionsView(last, error);
    }
    last = view;
    const text = JSON.stringify(view);
    if (text !== lastText) {
      lastText = text;
      yield view;
    }
    await pause(clock, intervalMs, signal);
  }
}

/** `promise`'s value, or undefined as soon as `signal` aborts (the promise is left to settle). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T | undefined> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.resolve(undefined);
  const aborted = Promise.withResolvers<undefined>();
  const onAbort = () => aborted.resolve(undefined);
  signal.addEventListener('abort', onAbort, { once: true });
  return Promise.race([promise, aborted.promise]).finally(() => signal.removeEventListener('abort', onAbort));
}

function pause(clock: Clock, ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      clock.clearTimeout(timer);
      resolve();
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
