import type { Etcd3, IKeyValue, IWatchResponse, Watcher } from 'etcd3';
import type { EtcdCalls } from './calls.ts';
import { rangeEnd } from './layout.ts';

/** A key under the followed prefix as a list reported it. */
export interface ListedKey {
  readonly key: string;
  readonly value: string;
  /** Its mod revision: the version of what it holds. */
  readonly modRevision: number;
}

/** One change delivered by the watch; `revision` is the revision etcd committed it at. */
export interface KeyChange {
  readonly type: 'put' | 'delete';
  readonly key: string;
  readonly value: string;
  readonly revision: number;
}

/** What a follower delivers, in order. */
export type FollowerBatch =
  /** Everything under the prefix at `revision`: first (unless resuming), and after every re-list. */
  | {
      readonly kind: 'snapshot';
      readonly revision: number;
      readonly clusterId: string;
      readonly keys: readonly ListedKey[];
      /** When the (linearizable) list was asked for: the snapshot is current as of then. */
      readonly askedAt: Date;
    }
  /** The changes of one watch response, in revision order. */
  | { readonly kind: 'changes'; readonly clusterId: string; readonly changes: readonly KeyChange[] };

export interface FollowerOptions {
  readonly client: Etcd3;
  readonly prefix: string;
  readonly calls: EtcdCalls;
  /** What the follower follows, for error messages ("the global policies"). */
  readonly description: string;
  /** After a failed list or watch, the next try comes this much later. */
  readonly retryDelayMs: number;
  readonly onBatch: (batch: FollowerBatch) => void;
  /** Wall-clock time, for {@link FollowerBatch} `askedAt`. */
  readonly wallNow: () => Date;
}

/** Whether `error` (or its cause, for a translated one) carries etcd's `message`. */
const isEtcdSaying = (error: unknown, message: string): boolean =>
  error instanceof Error &&
  (error.message.includes(message) ||
    (error.cause instanceof Error && error.cause.message.includes(message)));

const toListed = (kv: IKeyValue): ListedKey => ({
  key: kv.key.toString(),
  value: kv.value.toString(),
  modRevision: Number(kv.mod_revision),
});

/**
 * Follows everything under one prefix of one etcd with a single watch, never silently losing a
 * change:
 * - a broken watch stream is replaced by a watch from the revision after the last delivered change
 *   (not etcd3's own resume, which restarts from the revision of its creation response and can skip
 *   changes made while it reconnected);
 * - a cancelled watch (a compaction took the revisions it needed) leads to a full re-list, delivered
 *   as a `snapshot`;
 * - a watch that is merely silent cannot be told from one on an isolated etcd member: the consumer
 *   checks against a linearizable read and calls {@link relist} when it has fallen behind.
 */
export class PrefixFollower {
  readonly #options: FollowerOptions;
  #watcher: Watcher | undefined;
  /** Bumped for every watch opened: responses of a replaced watch are dropped. */
  #generation = 0;
  #position = 0;
  #relisting: Promise<void> | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  #lastError: Error | undefined;

  constructor(options: FollowerOptions) {
    this.#options = options;
  }

  /** The last revision whose changes have been delivered (0 before anything was). */
  get position(): number {
    return this.#position;
  }

  /** The last failure to list or watch, cleared by the next success. */
  get lastError(): Error | undefined {
    return this.#lastError;
  }

  /**
   * Begins following. With `fromRevision`, watches from that revision without listing (a consumer
   * resuming from where it stored it had come); otherwise lists first. Rejects if etcd cannot be
   * reached (call {@link stop} then: a retry is already scheduled).
   */
  async start(fromRevision?: number): Promise<void> {
    if (fromRevision === undefined) await this.relist();
    else {
      this.#position = fromRevision - 1;
      await this.#resume(fromRevision);
    }
  }

  /** Lists the prefix now (delivered as a `snapshot`) and watches from after it. One at a time. */
  relist(): Promise<void> {
    this.#relisting ??= this.#relist().finally(() => {
      this.#relisting = undefined;
    });
    return this.#relisting;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    await this.#closeWatch();
  }

  async #relist(): Promise<void> {
    if (this.#stopped) return;
    await this.#closeWatch();
    const { client, calls, prefix, description } = this.#options;
    const askedAt = this.#options.wallNow();
    try {
      const response = await calls.call(`list ${description}`, (options) =>
        client.kv.range({ key: Buffer.from(prefix), range_end: rangeEnd(prefix) }, options),
      );
      if (this.#stopped) return;
      const revision = Number(response.header.revision);
      this.#position = revision;
      this.#lastError = undefined;
      this.#deliver({
        kind: 'snapshot',
        revision,
        clusterId: String(response.header.cluster_id),
        keys: response.kvs.map(toListed),
        askedAt,
      });
      await this.#openWatch(revision + 1);
    } catch (error) {
      this.#failed(error as Error, () => void this.relist().catch(() => {}));
      throw error;
    }
  }

  /**
   * Watches from `startRevision` if etcd still has it, else re-lists. etcd cancels a watch from a
   * compacted revision right after confirming it, and a cancel of ours crossing that one gets two
   * cancel answers for one watch, on which etcd3 throws inside its watch stream (after which, in one
   * chaos trial, no watch of that client opened again). A read at the revision before `startRevision`
   * fails exactly when the watch would be cancelled, so a resume asks first.
   */
  async #resume(startRevision: number): Promise<void> {
    if (this.#stopped) return;
    const { client, calls, prefix, description } = this.#options;
    if (startRevision > 1) {
      try {
        await calls.call(
          `read ${description} at revision ${startRevision - 1}`,
          (options) =>
            client.kv.range(
              {
                key: Buffer.from(prefix),
                range_end: rangeEnd(prefix),
                revision: String(startRevision - 1),
                count_only: true,
              },
              options,
            ),
          { retry: false },
        );
      } catch (error) {
        if (isEtcdSaying(error, 'required revision has been compacted')) return this.relist();
        // A store behind the revision (another store, or a restored one) is the consumer's to judge
        // from what the watch and its confirmations say, as before the probe.
        if (!isEtcdSaying(error, 'required revision is a future revision')) {
          this.#failed(error as Error, () => void this.#resume(startRevision).catch(() => {}));
          throw error;
        }
      }
    }
    await this.#openWatch(startRevision);
  }

  async #openWatch(startRevision: number): Promise<void> {
    if (this.#stopped) return;
    const { client, calls, prefix, description } = this.#options;
    const generation = ++this.#generation;
    // Built, not created, so the handlers are in place before etcd's first answer: etcd may confirm
    // the watch and, in the same breath, send its first changes or cancel it (a compacted start
    // revision); etcd3 emits those at once, and a handler added after `create()` resolved misses them.
    const watcher = client.watch().prefix(prefix).startRevision(String(startRevision)).watcher();
    const current = () => generation === this.#generation && !this.#stopped;
    // Set the moment etcd confirms it (a cancel may follow in the same tick, before any await resumes).
    let opened = false;
    watcher.once('connected', () => {
      opened = true;
    });
    watcher.on('data', (response: IWatchResponse) => {
      if (current()) this.#onResponse(response);
    });
    // The stream broke: resume ourselves from the last delivered change.
    watcher.on('disconnected', (error: Error) => {
      if (!current() || !opened) return;
      void this.#closeWatch();
      this.#failed(error, () => void this.#resume(this.#position + 1).catch(() => {}));
    });
    // Cancelled by etcd (compaction, or anything else): start over from a list. etcd3 has already
    // dropped it, and a cancel request for it would never be answered.
    watcher.on('error', (error: Error) => {
      if (!current() || !opened) return;
      this.#generation++;
      this.#watcher = undefined;
      this.#failed(error, () => void this.relist().catch(() => {}), 0);
    });
    this.#watcher = watcher;
    try {
      await calls.within(
        `watch ${description}`,
        new Promise<void>((resolve, reject) => {
          watcher.once('connected', () => resolve());
          watcher.once('error', (error: Error) => {
            if (!opened) reject(error);
          });
        }),
      );
    } catch (error) {
      // Refused at creation (or given up on): it must not live on unowned, and only a list helps.
      if (this.#watcher === watcher) this.#watcher = undefined;
      if (generation === this.#generation) this.#generation++;
      watcher.cancel().catch(() => {});
      this.#failed(error as Error, () => void this.relist().catch(() => {}));
      throw error;
    }
    if (!current()) {
      // Replaced meanwhile; unless etcd already cancelled it (then nothing is left to cancel).
      if (this.#watcher === watcher) {
        this.#watcher = undefined;
        await calls.within('stop watching', watcher.cancel()).catch(() => {});
      }
      return;
    }
    this.#lastError = undefined;
  }

  #onResponse(response: IWatchResponse): void {
    const changes: KeyChange[] = response.events.map((event) => ({
      type: event.type === 'Delete' ? 'delete' : 'put',
      key: event.kv.key.toString(),
      value: event.kv.value.toString(),
      revision: Number(event.kv.mod_revision),
    }));
    const fresh = changes.filter((change) => change.revision > this.#position);
    if (fresh.length === 0) return;
    this.#position = Math.max(this.#position, ...fresh.map((change) => change.revision));
    this.#deliver({ kind: 'changes', clusterId: String(response.header.cluster_id), changes: fresh });
  }

  #deliver(batch: FollowerBatch): void {
    this.#options.onBatch(batch);
  }

  /**
   * Records `error` and schedules `retry`: the follower never gives up by itself. (A caller whose
   * start() failed stops it, which cancels the retry.)
   */
  #failed(error: Error, retry: () => void, delayMs = this.#options.retryDelayMs): void {
    this.#lastError = error;
    if (this.#stopped) return;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(retry, delayMs);
  }

  async #closeWatch(): Promise<void> {
    this.#generation++;
    const watcher = this.#watcher;
    this.#watcher = undefined;
    // Bounded: etcd3's cancel waits for an answer that a broken stream never brings.
    if (watcher) await this.#options.calls.within('stop watching', watcher.cancel()).catch(() => {});
  }
}
