import type { Clock } from '@ztap/cluster';
import type { ClusterSource } from './etcd-source.ts';
import type { DashboardModel } from './model.ts';
import { leadershipsFromHistory, timedLeaderships } from './reconstruct.ts';
import type { WireRegions } from './wire.ts';

export interface LiveFeedOptions {
  /** How often etcd is asked for its revision, to notice (and date) an outage. */
  readonly probeIntervalMs: number;
  /** How often `lastSeen` is refreshed from the members' leases; 0 turns it off. */
  readonly lastSeenIntervalMs: number;
  /** Pause before a failed watch or history read is tried again. */
  readonly retryDelayMs: number;
  readonly clock: Clock;
  readonly regions?: AsyncIterable<WireRegions> | undefined;
  /** Hears of failures that the model cannot show (a watch that had to restart); for logs. */
  readonly onError?: ((error: unknown) => void) | undefined;
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Keeps a {@link DashboardModel} current from a {@link ClusterSource}: one cluster watch and one policy
 * subscription (which share the etcd package's one prefix watch), a periodic probe that dates outages,
 * a periodic read of lease times for `lastSeen`, and one replay of etcd's history at start.
 */
export class LiveFeed {
  readonly #source: ClusterSource;
  readonly #model: DashboardModel;
  readonly #options: LiveFeedOptions;
  readonly #controller = new AbortController();
  #tasks: Promise<void>[] = [];

  constructor(source: ClusterSource, model: DashboardModel, options: LiveFeedOptions) {
    this.#source = source;
    this.#model = model;
    this.#options = options;
  }

  start(): void {
    if (this.#tasks.length > 0) return;
    this.#tasks = [
      this.#followCluster(),
      this.#followPolicies(),
      this.#probe(),
      this.#refreshLastSeen(),
      this.#readHistory(),
      this.#followRegions(),
    ];
  }

  async close(): Promise<void> {
    this.#controller.abort(new Error('the dashboard is closing'));
    await Promise.allSettled(this.#tasks);
  }

  get #signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Resolves after `ms` on the injected clock, or at once when the feed closes. */
  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.#signal.aborted) return resolve();
      const onAbort = () => {
        this.#options.clock.clearTimeout(timer);
        resolve();
      };
      const timer = this.#options.clock.setTimeout(() => {
        this.#signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      this.#signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Reads `open()`'s stream item by item for as long as the feed runs; when it fails (etcd unreachable
   * at start, a watcher that fell behind), reports it and opens a fresh one after a pause.
   * `reopened` runs before each stream after the first.
   */
  async #follow<T>(
    open: () => AsyncIterable<T>,
    apply: (item: T) => void,
    reopened?: () => void,
  ): Promise<void> {
    for (let attempt = 0; !this.#signal.aborted; attempt++) {
      if (attempt > 0) reopened?.();
      try {
        for await (const item of open()) apply(item);
      } catch (error) {
        if (this.#signal.aborted) return;
        this.#options.onError?.(error);
      }
      await this.#pause(this.#options.retryDelayMs);
    }
  }

  #followCluster(): Promise<void> {
    // A (re)started watch begins with the whole picture, delivered in one go: it is over once the
    // event loop has turned after its first item.
    let initial = true;
    let settling = false;
    return this.#follow(
      () => {
        initial = true;
        settling = false;
        return this.#source.changes(this.#signal);
      },
      (change) => {
        if (!settling) {
          settling = true;
          setImmediate(() => {
            initial = false;
          });
        }
        this.#model.applyChange(change, initial);
        // Why it ended shows in the rest of the same etcd batch (did the member record go too?).
        if (change.type === 'leader_lost' && change.term !== undefined) {
          const term = change.term;
          setImmediate(() => this.#model.settleEndReason(term));
        }
      },
      () => this.#model.resetMembers(),
    );
  }

  #followPolicies(): Promise<void> {
    return this.#follow(
      () => this.#source.policyUpdates(this.#signal),
      (update) => {
        if (update.type === 'snapshot') this.#model.applyPolicies(update.policies, [], true);
        else if (update.type === 'updated') this.#model.applyPolicies([update.policy], [], false);
        else this.#model.applyPolicies([], [update.name], false);
      },
    );
  }

  async #probe(): Promise<void> {
    while (!this.#signal.aborted) {
      const sentAt = this.#options.clock.wallNow().getTime();
      try {
        await this.#source.probe(this.#signal);
        this.#model.connected();
      } catch (error) {
        if (this.#signal.aborted) return;
        this.#model.disconnected(sentAt, messageOf(error));
      }
      await this.#pause(this.#options.probeIntervalMs);
    }
  }

  async #refreshLastSeen(): Promise<void> {
    if (this.#options.lastSeenIntervalMs <= 0) return;
    while (!this.#signal.aborted) {
      await this.#pause(this.#options.lastSeenIntervalMs);
      if (this.#signal.aborted || this.#model.connection.state !== 'connected') continue;
      try {
        this.#model.applyLastSeen(await this.#source.lastSeen(this.#signal));
      } catch {
        // The probe reports the outage; the last values stay.
      }
    }
  }

  async #readHistory(): Promise<void> {
    // The replay is the costliest read: a failing one is retried ever more slowly, up to twice a minute.
    for (let delay = this.#options.retryDelayMs; !this.#signal.aborted; delay = Math.min(30_000, delay * 2)) {
      try {
        const readAt = this.#options.clock.wallNow().getTime();
        const history = await this.#source.history(this.#signal);
        const { leaderships, anchors } = leadershipsFromHistory(history, this.#source.keys);
        this.#model.mergeHistory(
          timedLeaderships(leaderships, anchors, { revision: history.toRevision, time: readAt }),
        );
        this.#model.setHistory({
          state: 'done',
          oldestRevision: history.oldestRevision,
          toRevision: history.toRevision,
        });
        return;
      } catch (error) {
        if (this.#signal.aborted) return;
        this.#model.setHistory({ state: 'failed', detail: messageOf(error) });
      }
      await this.#pause(delay);
    }
  }

  async #followRegions(): Promise<void> {
    const regions = this.#options.regions;
    if (!regions) return;
    try {
      for await (const view of regions) {
        if (this.#signal.aborted) return;
        this.#model.setRegions(view);
      }
    } catch (error) {
      this.#options.onError?.(error);
    }
  }
}
