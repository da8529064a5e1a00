import type { Clock, TimerHandle } from '@ztap/cluster';
import type { EtcdElection } from '@ztap/cluster-etcd';
import type { GlobalLeadership } from './global-leadership.ts';
import { pause } from './pause.ts';

export interface CandidacyOptions {
  readonly regional: EtcdElection;
  readonly global: EtcdElection;
  readonly leadership: GlobalLeadership;
  readonly region: string;
  readonly homeRegion: string | undefined;
  readonly handBackDelayMs: number;
  readonly clock: Clock;
  /** After a failed start of the global election, the next try comes this much later. */
  readonly retryDelayMs: number;
  readonly onError: (error: Error) => void;
}

/**
 * One regional term's global candidacy: the global election runs exactly while this node leads its
 * region. When the regional leadership ends, global leadership ends locally first (the application
 * stops acting as global leader at once), then the global election stops, which lets leader work
 * drain and revokes the global lease, so another region's leader is elected without waiting for the
 * lease to expire. Resolves once the global election has stopped.
 */
export async function runCandidacy(options: CandidacyOptions, regionalSignal: AbortSignal): Promise<void> {
  const { global, leadership } = options;
  if (regionalSignal.aborted) return;
  let started = false;
  const regionLost = () => {
    leadership.lose('unhealthy', regionalSignal.reason);
    // A start in flight is ended by the same signal and cleans up itself: a stop() racing it would
    // run a second shutdown of the election beside the one its failed start runs.
    if (started) void global.stop();
  };
  regionalSignal.addEventListener('abort', regionLost, { once: true });
  try {
    started = await startGlobal(options, regionalSignal);
    if (!started) return;
    const handBack =
      options.homeRegion !== undefined && options.homeRegion !== options.region
        ? followHome(options, options.homeRegion, regionalSignal)
        : undefined;
    await new Promise<void>((resolve) => {
      if (regionalSignal.aborted) resolve();
      else regionalSignal.addEventListener('abort', () => resolve(), { once: true });
    });
    handBack?.dispose();
  } finally {
    regionalSignal.removeEventListener('abort', regionLost);
    leadership.lose('unhealthy', regionalSignal.reason);
    await global.stop();
  }
}

/** Starts the global election, retrying while the region is ours; false if the region was lost first. */
async function startGlobal(options: CandidacyOptions, regionalSignal: AbortSignal): Promise<boolean> {
  const { global, clock } = options;
  while (!regionalSignal.aborted) {
    try {
      // The regional signal also stops it later: BaseElection stops an election whose start signal aborts.
      await global.start({ signal: regionalSignal });
      return !regionalSignal.aborted;
    } catch (error) {
      if (regionalSignal.aborted) return false;
      options.onError(error as Error);
      await pause(clock, options.retryDelayMs, regionalSignal);
    }
  }
  return false;
}

/**
 * Hands global leadership back to the home region: while this node leads globally and has seen the
 * home region's leader as a healthy global member (it campaigns only while it leads its region)
 * for `handBackDelayMs` without a break, this node resigns globally. Resigning is local first and
 * releases the campaign key only after leader work drained, and the global election's own rule
 * (first campaign key leads) elects the next one: two global leaders never overlap. A candidate of
 * another region queued before the home region's leads next and hands back in turn, at once if it
 * too has seen the home region long enough (one more graceful handover).
 */
function followHome(
  options: CandidacyOptions,
  homeRegion: string,
  regionalSignal: AbortSignal,
): { dispose(): void } {
  const { global, leadership, clock } = options;
  let timer: TimerHandle | undefined;
  /** Since when (monotonic) the home region's leader has been a healthy member without a break. */
  let homeSince: number | undefined;
  const homeReady = () =>
    global.getNodes().some((node) => node.metadata.region === homeRegion && node.state === 'healthy');
  const evaluate = () => {
    const now = clock.monotonicNow();
    homeSince = homeReady() ? (homeSince ?? now) : undefined;
    if (homeSince !== undefined && leadership.isLeader()) {
      const waitMs = Math.max(0, homeSince + options.handBackDelayMs - now);
      timer ??= clock.setTimeout(() => {
        timer = undefined;
        if (homeReady() && leadership.isLeader() && homeSince !== undefined) {
          if (clock.monotonicNow() - homeSince >= options.handBackDelayMs)
            global.resign().catch((error: Error) => options.onError(error));
          else evaluate();
        }
      }, waitMs);
    } else if (timer !== undefined) {
      clock.clearTimeout(timer);
      timer = undefined;
    }
  };
  const subscription = leadership.onChange(evaluate);
  void (async () => {
    evaluate();
    for await (const _change of global.watch({ signal: regionalSignal })) evaluate();
  })().catch((error: unknown) => options.onError(error as Error));
  return {
    dispose: () => {
      subscription.dispose();
      clock.clearTimeout(timer);
      timer = undefined;
    },
  };
}
