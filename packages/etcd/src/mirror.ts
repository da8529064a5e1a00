import type { Clock, TimerHandle } from '@ztap/cluster';
import type { Etcd3, IKeyValue, IWatchResponse, Watcher } from 'etcd3';
import { abortable, type CallAccount, type EtcdCaller } from './calls.ts';
import { bytes, type StoredKey } from './campaign.ts';
import { pause, progressCheckDelayMs, RECONNECT_SLOT_MS } from './reconnect-pacing.ts';
import { processRelists, type RelistGate } from './relist-gate.ts';

/** What one watch response (or one resync) changed. */
export interface MirrorBatch {
  /** The store revision the mirror now reflects. */
  readonly revision: number;
  /** Keys put or deleted in this batch. */
  readonly changedKeys: ReadonlySet<string>;
  /** True when the batch came from a full re-list (after a reconnect, a compaction or a stuck watch). */
  readonly resync: boolean;
}

/** What `PrefixMirror.subscribe` calls after every batch. */
export type MirrorListener = (batch: MirrorBatch) => void;

export interface MirrorOptions {
  /** How often to ask etcd for its current revision, to catch a watch that went silent (read at each check). */
  readonly progressIntervalMs: () => number;
  /**
   * `prefix` (the default): every key under the prefix. `key`: exactly the one key named (a node's
   * own member record, for a node that does not keep the member list).
   */
  readonly scope?: 'prefix' | 'key';
  /**
   * How a check tells a silent watch from a quiet range. `revision` (the default): the store
   * revision must not run ahead of the mirror for two checks in a row — right for a whole cluster
   * prefix, but writes anywhere else in etcd move that revision too. `contents`: the keys of the
   * range and their mod revisions (read keys only) must match the mirror's — right for a small range
   * (the election keys, one key) that must cost nothing while the rest of the cluster churns.
   */
  readonly progress?: 'revision' | 'contents';
  readonly clock: Clock;
  /** Where the mirror's own requests are counted and their failures reported. */
  readonly account: CallAccount;
  /** Uniform in [0, 1): the jitter of progress checks and re-lists (tests pass their own). */
  readonly random?: () => number;
  /** Where re-lists wait for a turn; the process-wide gate by default (see relist-gate.ts). */
  readonly relists?: RelistGate;
  /** Whether this mirror's re-lists skip the line (a candidate decides from it); read at each re-list. */
  readonly urgent?: () => boolean;
}

/** The smallest key greater than every key with this prefix: etcd's `range_end` for a prefix range. */
export function prefixRangeEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix);
  for (let index = end.length - 1; index >= 0; index--) {
    if ((end[index] as number) < 0xff) {
      end[index] = (end[index] as number) + 1;
      return end.subarray(0, index + 1);
    }
  }
  return Buffer.from([0]);
}

/** An etcd key-value as the mirror keeps it. */
export function toEntry(kv: IKeyValue): StoredKey {
  return {
    key: kv.key.toString(),
    value: kv.value.toString(),
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
    lease: kv.lease || '0',
  };
}

/**
 * A revision-ordered copy of everything under one key prefix, kept current by a single etcd watch.
 *
 * Correctness rules, because a membership view that silently drifts is worse than none:
 * - After every (re)connect the prefix is re-listed at revision R and only watch events newer than R
 *   are applied. This closes the gap `etcd3`'s watcher can leave when it resumes from a revision it
 *   took from the creation response rather than from the last event delivered.
 * - A cancelled watch (compaction, or anything else) is replaced and the prefix re-listed.
 * - Every `progressIntervalMs` the current store revision is read; if the mirror is behind it twice in a
 *   row, the watch is presumed stuck (an isolated etcd member sends no error at all) and replaced.
 *
 * Everything in one process on the same client and prefix shares one mirror (see context.ts).
 */
export class PrefixMirror {
  readonly #client: Etcd3;
  readonly #prefix: string;
  readonly #caller: EtcdCaller;
  readonly #options: MirrorOptions;
  #entries = new Map<string, StoredKey>();
  #revision = 0;
  #watcher: Watcher | undefined;
  #listing: Promise<void> | undefined;
  #queued: IWatchResponse[] = [];
  #listeners = new Set<MirrorListener>();
  #progressTimer: TimerHandle | undefined;
  #lagTarget: number | undefined;
  #ready: Promise<void> | undefined;
  #stopped = false;
  /** Aborted by stop(): the mirror's requests in flight end at once. */
  readonly #stopping = new AbortController();
  #lastError: Error | undefined;
  /** Lists started so far: a re-list asked for by a reconnect is done by any list started after it. */
  #listStarts = 0;
  /** A reconnect's re-list is waiting out its jitter: a further reconnect meanwhile joins it. */
  #reconnectRelist: Promise<void> | undefined;
  #peakSize = 0;

  constructor(client: Etcd3, prefix: string, caller: EtcdCaller, options: MirrorOptions) {
    this.#client = client;
    this.#prefix = prefix;
    this.#caller = caller;
    this.#options = options;
  }

  /**
   * The most keys the mirror has held: how many will come back together after an outage that
   * emptied the prefix (the pacing of re-grants and re-lists, see reconnect-pacing.ts).
   */
  get peakSize(): number {
    return this.#peakSize;
  }

  /** The store revision the mirror reflects (0 before the first list). */
  get revision(): number {
    return this.#revision;
  }

  /** The last failure talking to etcd, cleared by the next success. */
  get lastError(): Error | undefined {
    return this.#lastError;
  }

  get(key: string): StoredKey | undefined {
    return this.#entries.get(key);
  }

  /** Every entry whose key starts with `subPrefix`, in no particular order. */
  *entriesUnder(subPrefix: string): Iterable<StoredKey> {
    for (const entry of this.#entries.values()) if (entry.key.startsWith(subPrefix)) yield entry;
  }

  /**
   * Resolves once the mirror reflects `revision` (a write of ours is visible to us): true then, false
   * after `timeoutMs` (a lagging watch is the mirror's to repair, not its readers' to hang on).
   * Rejects with the signal's reason when it aborts first.
   */
  waitFor(revision: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.#revision >= revision) return Promise.resolve(true);
    const waiting = new Promise<boolean>((resolve) => {
      const finish = (caughtUp: boolean) => {
        this.#options.clock.clearTimeout(timer);
        unsubscribe();
        signal?.removeEventListener('abort', onAbort);
        resolve(caughtUp);
      };
      const onAbort = () => finish(false);
      const timer = this.#options.clock.setTimeout(() => finish(false), timeoutMs);
      const unsubscribe = this.subscribe(() => {
        if (this.#revision >= revision) finish(true);
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    return abortable(waiting, signal);
  }

  /**
   * Resolves once the mirror reflects everything etcd had committed when this was called (one
   * linearizable read of the current revision): read-your-writes for a process that just wrote.
   * If the watch does not deliver within `timeoutMs`, the prefix is re-listed instead.
   */
  async sync(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.#options.progress === 'contents') {
      // A small range whose keys did not change never sees the store's revision: compare its keys
      // with etcd's now, and list it only if they differ.
      if ((await this.#progressTarget(signal)) > this.#revision) await abortable(this.#relist(false), signal);
      return;
    }
    const target = await this.#currentRevision(signal);
    if (!(await this.waitFor(target, timeoutMs, signal))) await this.#relist(true);
  }

  /**
   * Resolves once the mirror reflects `revision`: at once if it does, else after one list of the
   * range (an ordinary batch of whatever differs). For a small range whose keys may not change at
   * `revision` at all — waiting for its watch to get there could take forever.
   */
  async catchUp(revision: number, signal?: AbortSignal): Promise<void> {
    if (this.#revision >= revision) return;
    await abortable(this.#relist(false), signal);
  }

  subscribe(listener: MirrorListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Lists the prefix and starts watching. Resolves after the first list; idempotent (every caller
   * shares the first start). `signal` ends this caller's wait, not the start others may wait for.
   */
  start(signal?: AbortSignal): Promise<void> {
    return abortable(this.#start(), signal);
  }

  #start(): Promise<void> {
    if (!this.#ready) {
      const ready = this.#begin().catch(async (error: unknown) => {
        // Let the next start() try again from scratch.
        this.#ready = undefined;
        const watcher = this.#watcher;
        this.#watcher = undefined;
        await watcher?.cancel().catch(() => {});
        throw error;
      });
      // Every caller awaits this; but a caller whose start was aborted has stopped listening, and its
      // failure must not resurface later as an unhandled rejection.
      ready.catch(() => {});
      this.#ready = ready;
    }
    return this.#ready;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stopping.abort();
    this.#options.clock.clearTimeout(this.#progressTimer);
    const watcher = this.#watcher;
    this.#watcher = undefined;
    await watcher?.cancel().catch(() => {});
  }

  // List first: a unary call with a deadline fails fast when etcd is unreachable, where creating a
  // watch would wait for a connection forever. The watch then starts right after the listed revision.
  async #begin(): Promise<void> {
    await this.#relist(false);
    if (this.#stopped) return;
    await this.#openWatch(this.#revision + 1);
    this.#scheduleProgressCheck();
  }

  async #openWatch(startRevision: number): Promise<void> {
    const builder = this.#client.watch();
    const scoped = this.#options.scope === 'key' ? builder.key(this.#prefix) : builder.prefix(this.#prefix);
    const creating = scoped.startRevision(String(startRevision)).create();
    const watcher = await this.#caller
      .within('start watching the cluster prefix', creating, this.#options.account)
      .catch((error: unknown) => {
        // Gave up waiting: should the watch still come up later, it must not live on unowned.
        creating.then((late) => late.cancel()).catch(() => {});
        throw error;
      });
    if (this.#stopped) {
      await watcher.cancel().catch(() => {});
      return;
    }
    this.#watcher = watcher;
    watcher.on('data', (response: IWatchResponse) => this.#onWatchResponse(response));
    // create() resolved on the first 'connected'; every later one is a reconnect that may hide a gap
    // (etcd3 resumes from the revision in the creation response, not from the last event delivered).
    // A failed re-list is recorded in lastError; the progress check notices the lag and retries.
    watcher.on('connected', () => void this.#relistAfterReconnect());
    watcher.on('disconnected', (error: Error) => {
      this.#lastError = error;
    });
    watcher.on('error', (error: Error) => {
      this.#lastError = error;
      void this.#replaceWatch();
    });
  }

  /**
   * One re-list per reconnect, after a jitter that grows with the prefix (a few ms for a small
   * cluster, up to half a progress interval for a large one): a whole fleet reconnecting at once
   * does not list in the same instant. Reconnects while it waits join it, and a list started after
   * the reconnect (a replaced watch, a sync) already did its work.
   */
  #relistAfterReconnect(): Promise<void> {
    if (this.#reconnectRelist) return this.#reconnectRelist;
    const startsBefore = this.#listStarts;
    const windowMs = Math.min(this.#options.progressIntervalMs() / 2, this.#peakSize * RECONNECT_SLOT_MS);
    const random = this.#options.random ?? Math.random;
    // Assigned before its first await resumes: the body compares the pending re-list with itself.
    let relist!: Promise<void>;
    relist = (async () => {
      try {
        if (!(await pause(this.#options.clock, Math.floor(windowMs * random()), this.#stopping.signal)))
          return;
        // A list begun before the reconnect (one still waiting for its turn, say) may have read etcd
        // before the gap closed: let it finish, then list again unless a list begun since did.
        await this.#listing?.catch(() => {});
        if (this.#listStarts > startsBefore || this.#stopped) return;
        // From here on a reconnect comes after this list began: it must wait for a list of its own.
        if (this.#reconnectRelist === relist) this.#reconnectRelist = undefined;
        // A failed re-list is recorded in lastError; the progress check notices the lag and retries.
        await this.#relist(true).catch(() => {});
      } finally {
        if (this.#reconnectRelist === relist) this.#reconnectRelist = undefined;
      }
    })();
    this.#reconnectRelist = relist;
    return relist;
  }

  /** A cancelled or stuck watch: start a fresh one and re-list, so nothing between them is missed. */
  async #replaceWatch(): Promise<void> {
    if (this.#stopped) return;
    const old = this.#watcher;
    this.#watcher = undefined;
    await old?.cancel().catch(() => {});
    try {
      await this.#relist(true);
      await this.#openWatch(this.#revision + 1);
    } catch (error) {
      this.#lastError = error as Error;
      // The next progress check tries again.
    }
  }

  #onWatchResponse(response: IWatchResponse): void {
    if (this.#listing) {
      this.#queued.push(response);
      return;
    }
    this.#applyWatchResponses([response], new Set(), false);
  }

  #applyWatchResponses(responses: IWatchResponse[], changedKeys: Set<string>, resync: boolean): void {
    for (const response of responses) {
      for (const event of response.events) {
        const entry = toEntry(event.kv);
        // Anything at or below the listed revision is already in the list.
        if (entry.modRevision <= this.#revision) continue;
        if (event.type === 'Delete') this.#entries.delete(entry.key);
        else this.#entries.set(entry.key, entry);
        changedKeys.add(entry.key);
      }
      this.#revision = Math.max(this.#revision, Number(response.header.revision));
    }
    if (changedKeys.size > 0 || resync) this.#emit({ revision: this.#revision, changedKeys, resync });
  }

  async #relist(resync: boolean): Promise<void> {
    if (this.#stopped) return;
    if (this.#listing) return this.#listing;
    this.#listing = (async () => {
      try {
        this.#listStarts++;
        // A re-list waits for a turn among the process's (the first list of a start does not: a
        // starting node has nothing to fall back on).
        const list = () => this.#read('list the cluster prefix', {});
        const gate = this.#options.relists ?? processRelists;
        const response = await (resync ? gate.run(list, this.#options.urgent?.() ?? false) : list());
        const listed = new Map<string, StoredKey>();
        for (const kv of response.kvs) {
          const entry = toEntry(kv);
          listed.set(entry.key, entry);
        }
        const changedKeys = new Set<string>();
        for (const [key, entry] of listed) {
          const before = this.#entries.get(key);
          if (!before || before.modRevision !== entry.modRevision) changedKeys.add(key);
        }
        for (const key of this.#entries.keys()) if (!listed.has(key)) changedKeys.add(key);
        this.#entries = listed;
        this.#revision = Number(response.header.revision);
        this.#lastError = undefined;
        const queued = this.#queued;
        this.#queued = [];
        this.#listing = undefined;
        this.#applyWatchResponses(queued, changedKeys, resync);
      } catch (error) {
        this.#lastError = error as Error;
        throw error;
      } finally {
        this.#listing = undefined;
      }
    })();
    return this.#listing;
  }

  #emit(batch: MirrorBatch): void {
    this.#peakSize = Math.max(this.#peakSize, this.#entries.size);
    for (const listener of [...this.#listeners]) listener(batch);
  }

  #scheduleProgressCheck(): void {
    if (this.#stopped) return;
    const random = this.#options.random ?? Math.random;
    this.#progressTimer = this.#options.clock.setTimeout(
      () => void this.#checkProgress().finally(() => this.#scheduleProgressCheck()),
      progressCheckDelayMs(this.#options.progressIntervalMs(), random()),
    );
  }

  /** The store revision now: one linearizable read (a count, so it costs nothing per key). */
  async #currentRevision(signal?: AbortSignal): Promise<number> {
    const response = await this.#read('read the current revision', { count_only: true }, signal);
    return Number(response.header.revision);
  }

  /**
   * One read of this mirror's keys (`extra`: count only, keys only); it ends when the mirror stops
   * or `signal` aborts.
   */
  #read(operation: string, extra: { count_only?: boolean; keys_only?: boolean }, signal?: AbortSignal) {
    const key = bytes(this.#prefix);
    const request =
      this.#options.scope === 'key'
        ? { key, ...extra }
        : { key, range_end: prefixRangeEnd(this.#prefix), ...extra };
    return this.#caller.call(operation, (options) => this.#client.kv.range(request, options), {
      class: 'read',
      account: this.#options.account,
      signal: signal ? AbortSignal.any([signal, this.#stopping.signal]) : this.#stopping.signal,
    });
  }

  /**
   * The store revision now, or — for a `contents` mirror whose keys and mod revisions match what
   * etcd holds — no more than the mirror's own revision: nothing in its range is missing, whatever
   * was written elsewhere. One read of keys only.
   */
  async #progressTarget(signal?: AbortSignal): Promise<number> {
    if (this.#options.progress !== 'contents') return this.#currentRevision(signal);
    const response = await this.#read('check the watched keys', { keys_only: true }, signal);
    const same =
      response.kvs.length === this.#entries.size &&
      response.kvs.every(
        (kv) => this.#entries.get(kv.key.toString())?.modRevision === Number(kv.mod_revision),
      );
    return same
      ? Math.min(this.#revision, Number(response.header.revision))
      : Number(response.header.revision);
  }

  /**
   * Whether nothing under the prefix changed although etcd's revision moved past the mirror's: writes
   * elsewhere in the same etcd (another application, or multi-region replicas beside the cluster
   * prefix) move it without an event for this watch, and taking that for a silent watch would replace
   * it every two checks. A keys-only listing that matches the mirror key for key, mod revision for mod
   * revision, shows the mirror is current as of that listing (what a re-list would have found), so
   * its revision moves there. A listing that differs, or one that crossed a re-list, answers false.
   */
  async #unchangedSince(current: number): Promise<boolean> {
    if (this.#listing) return false;
    const response = await this.#read('list the watched keys (keys only)', { keys_only: true });
    const listedAt = Number(response.header.revision);
    if (this.#listing || listedAt < current || response.kvs.length !== this.#entries.size) return false;
    for (const kv of response.kvs)
      if (this.#entries.get(kv.key.toString())?.modRevision !== Number(kv.mod_revision)) return false;
    if (listedAt > this.#revision) {
      this.#revision = listedAt;
      // Readers waiting for a revision (read-your-writes) hear that the mirror reached it.
      this.#emit({ revision: listedAt, changedKeys: new Set(), resync: false });
    }
    return true;
  }

  async #checkProgress(): Promise<void> {
    try {
      const current = await this.#progressTarget();
      this.#lastError = undefined;
      if (current <= this.#revision || (await this.#unchangedSince(current))) {
        this.#lagTarget = undefined;
      } else if (this.#lagTarget !== undefined && this.#revision < this.#lagTarget) {
        // Behind the revision seen one check (at least an interval) ago: events are not arriving.
        this.#lagTarget = undefined;
        await this.#replaceWatch();
      } else {
        this.#lagTarget = current;
      }
    } catch (error) {
      this.#lastError = error as Error;
    }
  }
}
