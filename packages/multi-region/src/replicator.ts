import { type Clock, isFencedWriteError, type TimerHandle } from '@ztap/cluster';
import type { EtcdElection } from '@ztap/cluster-etcd';
import type { Etcd3, IRequestOp } from 'etcd3';
import type { EtcdCalls } from './calls.ts';
import type { Emitter } from './emitter.ts';
import { type FollowerBatch, PrefixFollower } from './follower.ts';
import { type GlobalLayout, type ReplicaLayout, rangeEnd } from './layout.ts';
import { pause } from './pause.ts';
import {
  type Checkpoint,
  decodeCheckpoint,
  decodeReplica,
  encodeCheckpoint,
  encodeReplica,
  type GlobalLeaderRecord,
} from './records.ts';
import {
  chunkOps,
  type GlobalPolicyChange,
  type GlobalPolicyValue,
  judgeConfirmation,
  planChanges,
  planResync,
  type ReplicaOp,
} from './replication-plan.ts';

/** Why a region was rebuilt from a full listing of the global store. */
export type ResyncReason =
  /** Nothing replicated yet (no checkpoint in the region). */
  | 'first'
  /** A previous resync was interrupted before its last transaction. */
  | 'interrupted'
  /** The global store no longer has the revisions to resume from (compaction), or the watch was cancelled. */
  | 'compacted'
  /** Another global store (another cluster id), or its revision went backwards. */
  | 'store_changed'
  /** The region stayed behind a listing of the global store although the watch should have delivered. */
  | 'behind'
  /** The region's checkpoint changed under us: somebody else wrote it. */
  | 'conflict';

export const RESYNC_REASONS: readonly ResyncReason[] = Object.freeze([
  'first',
  'interrupted',
  'compacted',
  'store_changed',
  'behind',
  'conflict',
]);

/** What replication did, for telemetry and tests. */
export type ReplicationEvent =
  /** A fenced write into the region committed (or was refused: `ok: false`). */
  | {
      readonly type: 'write';
      readonly ok: boolean;
      /** The regional term that fenced it. */
      readonly term: number;
      /** The regional revision it committed at (when `ok`). */
      readonly revision?: number;
      /** The global revision the region's checkpoint says after it. */
      readonly globalRevision: number;
      readonly puts: number;
      readonly deletes: number;
      readonly kind: 'changes' | 'resync' | 'confirm';
      readonly error?: Error;
    }
  | { readonly type: 'resync'; readonly reason: ResyncReason; readonly globalRevision: number }
  /** Something failed talking to the global or regional store; replication retries by itself. */
  | { readonly type: 'error'; readonly error: Error };

export interface ReplicatorOptions {
  readonly regional: EtcdElection;
  readonly regionalClient: Etcd3;
  readonly regionalCalls: EtcdCalls;
  readonly globalClient: Etcd3;
  readonly globalCalls: EtcdCalls;
  readonly globalLayout: GlobalLayout;
  readonly replicaLayout: ReplicaLayout;
  readonly confirmIntervalMs: number;
  readonly clock: Clock;
  /** Who leads globally, as this node sees it now. */
  readonly globalLeader: () => GlobalLeaderRecord | undefined;
  readonly events: Emitter<ReplicationEvent>;
}

/** etcd's own limits are 128 operations and 1.5 MiB per request; stay well inside them. */
const TXN_LIMITS = { maxOps: 100, maxBytes: 1024 * 1024 };

const bytes = (text: string) => Buffer.from(text);

/**
 * Replicates the global store's policies into one region while this node leads the region: one run
 * per regional term (see {@link run}). Every write into the region is a `guardedTxn` fenced by the
 * regional term and compared with the checkpoint it last wrote, so a deposed regional leader, or
 * anything else that changed the checkpoint, writes nothing.
 */
export class Replicator {
  readonly #options: ReplicatorOptions;

  constructor(options: ReplicatorOptions) {
    this.#options = options;
  }

  /**
   * Replicates under regional `term` until `signal` aborts (the regional leadership ended). Resumes
   * from the region's checkpoint; rebuilds the region from a full listing when there is none, when a
   * resync was interrupted, after a compaction, or when the global store changed. Never throws: a
   * failure is reported and retried; a fenced write ends the run.
   */
  async run(term: number, signal: AbortSignal): Promise<void> {
    const run = new ReplicationRun(this.#options, term, signal);
    await run.execute();
  }
}

/** The state of one regional term's replication. */
class ReplicationRun {
  readonly #options: ReplicatorOptions;
  readonly #term: number;
  readonly #signal: AbortSignal;
  /** Global version held in the region per policy name (-1: a value we cannot read). */
  readonly #replicas = new Map<string, number>();
  /** Policies deleted since the last full resync, with the global revision of the deletion. */
  readonly #deletedAt = new Map<string, number>();
  #checkpoint: Checkpoint | undefined;
  /** The checkpoint key's mod revision in the region (0: absent): every write compares it. */
  #checkpointMod = 0;
  #follower: PrefixFollower | undefined;
  /** Serializes every write into the region. */
  #queue: Promise<void> = Promise.resolve();
  /** Bumped when the pipeline restarts: batches queued before a failure are dropped, then redelivered. */
  #epoch = 0;
  #confirmTimer: TimerHandle | undefined;
  /** The follower's position at the last confirmation that found the region behind. */
  #behindAt: number | undefined;
  /** The next start lists the global store instead of resuming from the checkpoint, for this reason. */
  #forceResync: ResyncReason | undefined;
  /** Why the next snapshot is delivered (one without a reason came from a cancelled watch). */
  #pendingResyncReason: ResyncReason | undefined;
  #ended = false;

  constructor(options: ReplicatorOptions, term: number, signal: AbortSignal) {
    this.#options = options;
    this.#term = term;
    this.#signal = signal;
  }

  async execute(): Promise<void> {
    const ended = new Promise<void>((resolve) => {
      if (this.#signal.aborted) resolve();
      else this.#signal.addEventListener('abort', () => resolve(), { once: true });
    });
    try {
      await this.#begin();
      await ended;
    } finally {
      this.#ended = true;
      this.#options.clock.clearTimeout(this.#confirmTimer);
      await this.#follower?.stop();
      await this.#queue.catch(() => {});
    }
  }

  get #active(): boolean {
    return !this.#ended && !this.#signal.aborted;
  }

  /** Loads the region's state and starts following the global store; retried until it works. */
  async #begin(): Promise<void> {
    while (this.#active) {
      try {
        await this.#load();
        const checkpoint = this.#checkpoint;
        const resync =
          this.#forceResync ??
          (!checkpoint ? 'first' : checkpoint.resyncingTo !== undefined ? 'interrupted' : undefined);
        const follower = this.#newFollower();
        this.#follower = follower;
        if (resync === undefined && checkpoint) {
          await follower.start(checkpoint.globalRevision + 1);
        } else {
          this.#pendingResyncReason = resync;
          await follower.start();
        }
        this.#forceResync = undefined;
        this.#scheduleConfirm();
        return;
      } catch (error) {
        await this.#follower?.stop();
        this.#follower = undefined;
        this.#report(error);
        await this.#pause(this.#options.confirmIntervalMs);
      }
    }
  }

  #newFollower(): PrefixFollower {
    const { globalClient, globalCalls, globalLayout, confirmIntervalMs } = this.#options;
    return new PrefixFollower({
      client: globalClient,
      calls: globalCalls,
      prefix: globalLayout.policiesPrefix,
      description: 'the global policies',
      retryDelayMs: confirmIntervalMs,
      wallNow: () => this.#options.clock.wallNow(),
      onBatch: (batch) => {
        const epoch = this.#epoch;
        void this.#enqueue(() => (epoch === this.#epoch ? this.#onBatch(batch) : Promise.resolve()));
      },
    });
  }

  /** Reads what the region holds: every replicated policy's global version and the checkpoint. */
  async #load(): Promise<void> {
    const { regionalClient, regionalCalls, replicaLayout } = this.#options;
    const prefix = replicaLayout.prefix;
    const response = await regionalCalls.call(
      'read the replicated policies',
      (options) => regionalClient.kv.range({ key: bytes(prefix), range_end: rangeEnd(prefix) }, options),
      { signal: this.#signal },
    );
    this.#replicas.clear();
    this.#deletedAt.clear();
    this.#checkpoint = undefined;
    this.#checkpointMod = 0;
    for (const kv of response.kvs) {
      const key = kv.key.toString();
      if (key === replicaLayout.checkpointKey) {
        this.#checkpoint = decodeCheckpoint(kv.value.toString());
        this.#checkpointMod = Number(kv.mod_revision);
      } else if (key.startsWith(replicaLayout.policiesPrefix)) {
        const name = key.slice(replicaLayout.policiesPrefix.length);
        this.#replicas.set(name, decodeReplica(kv.value.toString())?.globalVersion ?? -1);
      }
    }
  }

  #enqueue(work: () => Promise<void>): Promise<void> {
    const next = this.#queue.then(async () => {
      if (this.#active) await work();
    });
    this.#queue = next.catch(() => {});
    return next;
  }

  async #onBatch(batch: FollowerBatch): Promise<void> {
    const checkpoint = this.#checkpoint;
    if (batch.kind === 'snapshot') {
      const reason = this.#pendingResyncReason ?? 'compacted';
      this.#pendingResyncReason = undefined;
      await this.#resync(
        batch.revision,
        batch.clusterId,
        this.#policiesOf(batch.keys),
        reason,
        batch.askedAt,
      );
      return;
    }
    if (checkpoint && batch.clusterId !== checkpoint.globalClusterId) {
      this.#restart('store_changed');
      return;
    }
    const prefix = this.#options.globalLayout.policiesPrefix;
    const changes: GlobalPolicyChange[] = batch.changes.map((change) => ({
      type: change.type,
      name: change.key.slice(prefix.length),
      revision: change.revision,
      value: change.value,
    }));
    const upTo = Math.max(...changes.map((change) => change.revision));
    const ops = planChanges(changes, this.#replicas, checkpoint?.globalRevision ?? 0);
    if (ops.length === 0) return; // the next confirmation moves the checkpoint
    await this.#write(ops, 'changes', {
      globalRevision: Math.max(upTo, checkpoint?.globalRevision ?? 0),
      globalClusterId: batch.clusterId,
    });
  }

  #policiesOf(keys: readonly { key: string; value: string; modRevision: number }[]): GlobalPolicyValue[] {
    const prefix = this.#options.globalLayout.policiesPrefix;
    return keys.map((entry) => ({
      name: entry.key.slice(prefix.length),
      version: entry.modRevision,
      value: entry.value,
    }));
  }

  /**
   * Makes the region equal a linearizable listing asked for at `askedAt`: once it lands, the region
   * is known to have been current then, which is what its lag is measured from.
   */
  async #resync(
    revision: number,
    clusterId: string,
    listing: readonly GlobalPolicyValue[],
    reason: ResyncReason,
    askedAt: Date,
  ): Promise<void> {
    this.#options.events.fire({ type: 'resync', reason, globalRevision: revision });
    this.#deletedAt.clear();
    await this.#write(planResync(listing, this.#replicas), 'resync', {
      globalRevision: revision,
      globalClusterId: clusterId,
      confirmedAt: askedAt.toISOString(),
    });
  }

  /**
   * Writes `ops` in as few fenced transactions as etcd allows. Only the last one moves the
   * checkpoint to `target`; the ones before it keep the checkpoint where it was (a resync marks
   * itself interrupted until its last one lands), so a leader that stops halfway leaves a region its
   * successor resumes correctly.
   */
  async #write(
    ops: readonly ReplicaOp[],
    kind: 'changes' | 'resync',
    target: { globalRevision: number; globalClusterId: string; confirmedAt?: string },
  ): Promise<void> {
    const groups = chunkOps(ops, TXN_LIMITS);
    for (const [index, group] of groups.entries()) {
      const last = index === groups.length - 1;
      const before = this.#checkpoint;
      const checkpoint: Checkpoint = last
        ? this.#checkpointFor(
            target.globalRevision,
            target.globalClusterId,
            target.confirmedAt ?? before?.confirmedAt,
          )
        : {
            ...this.#checkpointFor(
              before?.globalRevision ?? 0,
              before?.globalClusterId ?? target.globalClusterId,
              before?.confirmedAt,
            ),
            ...(kind === 'resync' ? { resyncingTo: target.globalRevision } : {}),
          };
      if (!(await this.#commit(group, checkpoint, kind))) return;
    }
  }

  #checkpointFor(
    globalRevision: number,
    globalClusterId: string,
    confirmedAt: string | undefined,
  ): Checkpoint {
    const leader = this.#options.globalLeader();
    return {
      globalRevision,
      globalClusterId,
      ...(confirmedAt !== undefined ? { confirmedAt } : {}),
      confirmIntervalMs: this.#options.confirmIntervalMs,
      ...(leader ? { globalLeader: leader } : {}),
      writer: { nodeId: this.#options.regional.nodeId, term: this.#term },
    };
  }

  /**
   * One fenced transaction: `ops` and the new checkpoint, only if the regional term is current and
   * the checkpoint is still the one we last wrote. Returns whether it committed; on any failure the
   * pipeline restarts from the stored checkpoint (nothing queued behind a failed write may commit,
   * or the checkpoint would claim changes the region never got).
   */
  async #commit(ops: readonly ReplicaOp[], checkpoint: Checkpoint, kind: 'changes' | 'resync' | 'confirm') {
    const { regional, replicaLayout, events } = this.#options;
    const checkpointKey = bytes(replicaLayout.checkpointKey);
    const puts = ops.filter((op) => op.type === 'put').length;
    const report = {
      term: this.#term,
      globalRevision: checkpoint.globalRevision,
      puts,
      deletes: ops.length - puts,
      kind,
    };
    try {
      const response = await regional.guardedTxn({
        term: this.#term,
        compare: [
          { key: checkpointKey, target: 'Mod', result: 'Equal', mod_revision: String(this.#checkpointMod) },
        ],
        success: [
          ...ops.map((op) => this.#request(op)),
          { request_put: { key: checkpointKey, value: bytes(encodeCheckpoint(checkpoint)) } },
        ],
        failure: [{ request_range: { key: checkpointKey } }],
      });
      if (!response.succeeded) {
        events.fire({ type: 'write', ok: false, ...report });
        this.#restart('conflict');
        return false;
      }
      const revision = Number(response.header.revision);
      events.fire({ type: 'write', ok: true, revision, ...report });
      this.#checkpointMod = revision;
      this.#checkpoint = checkpoint;
      if (kind === 'resync' && checkpoint.resyncingTo === undefined) this.#deletedAt.clear();
      for (const op of ops) {
        if (op.type === 'put') {
          this.#replicas.set(op.name, op.revision);
          this.#deletedAt.delete(op.name);
        } else {
          this.#replicas.delete(op.name);
          if (op.revision > 0) this.#deletedAt.set(op.name, op.revision);
        }
      }
      return true;
    } catch (error) {
      events.fire({ type: 'write', ok: false, ...report, error: error as Error });
      // Fenced: this term is over; the run ends when the leadership signal aborts.
      if (!isFencedWriteError(error)) this.#restart(undefined, error);
      return false;
    }
  }

  #request(op: ReplicaOp): IRequestOp {
    const key = bytes(this.#options.replicaLayout.policyKey(op.name));
    if (op.type === 'delete') return { request_delete_range: { key } };
    return {
      request_put: { key, value: bytes(encodeReplica({ globalVersion: op.revision, value: op.value })) },
    };
  }

  /**
   * Starts the pipeline over: drops what is queued, re-reads the region, and follows the global store
   * again from the stored checkpoint, or from a full listing when `resync` says why resuming cannot
   * help. After an error, only after a pause.
   */
  #restart(resync: ResyncReason | undefined, error?: unknown): void {
    if (error !== undefined) this.#report(error);
    this.#epoch++;
    if (resync !== undefined) this.#forceResync = resync;
    const follower = this.#follower;
    this.#follower = undefined;
    this.#options.clock.clearTimeout(this.#confirmTimer);
    void (async () => {
      await follower?.stop();
      await this.#pause(error === undefined ? 0 : this.#options.confirmIntervalMs);
      if (this.#active) await this.#enqueue(() => this.#begin());
    })();
  }

  // ---- confirmation ------------------------------------------------------------------------------

  /** One confirmation loop per pipeline start: a restart ends the old loop (its epoch is gone). */
  #scheduleConfirm(): void {
    if (!this.#active) return;
    const { clock, confirmIntervalMs } = this.#options;
    clock.clearTimeout(this.#confirmTimer);
    const epoch = this.#epoch;
    this.#confirmTimer = clock.setTimeout(() => {
      this.#confirmTimer = undefined;
      void this.#confirm().finally(() => {
        if (epoch === this.#epoch) this.#scheduleConfirm();
      });
    }, confirmIntervalMs);
  }

  /**
   * Checks the region against a linearizable listing of the global store (keys and versions only)
   * and, when it holds everything the listing holds, writes the checkpoint with `confirmedAt` = when
   * the listing was asked for: that is what the replication lag is measured from. A region still
   * behind with no progress since the previous check (a silent watch, as on an isolated member) is
   * rebuilt from a full listing.
   */
  async #confirm(): Promise<void> {
    const { globalClient, globalCalls, globalLayout, clock } = this.#options;
    const prefix = globalLayout.policiesPrefix;
    const askedAt = clock.wallNow();
    // A listing is a snapshot taken some time after this; changes the watch delivers meanwhile can
    // be newer. Only a revision below what the region had reached before asking means the store
    // went backwards.
    const reachedBefore = this.#checkpoint?.globalRevision ?? 0;
    let listing: Map<string, number>;
    let revision: number;
    let clusterId: string;
    try {
      const response = await globalCalls.call(
        'check the global policies',
        (options) =>
          globalClient.kv.range(
            { key: bytes(prefix), range_end: rangeEnd(prefix), keys_only: true },
            options,
          ),
        { signal: this.#signal },
      );
      listing = new Map(
        response.kvs.map((kv) => [kv.key.toString().slice(prefix.length), Number(kv.mod_revision)]),
      );
      revision = Number(response.header.revision);
      clusterId = String(response.header.cluster_id);
    } catch (error) {
      this.#report(error);
      return;
    }
    // Every change delivered up to here is queued ahead of this check.
    const position = this.#follower?.position ?? 0;
    const epoch = this.#epoch;
    await this.#enqueue(async () => {
      if (epoch !== this.#epoch) return;
      const checkpoint = this.#checkpoint;
      if (!checkpoint || checkpoint.resyncingTo !== undefined) return; // the resync under way decides
      const verdict = judgeConfirmation({
        listing,
        listingRevision: revision,
        listingClusterId: clusterId,
        reachedBefore,
        checkpoint,
        replicas: this.#replicas,
        deletedAt: this.#deletedAt,
        position,
        behindAt: this.#behindAt,
      });
      if (verdict.kind === 'store_changed') {
        this.#restart('store_changed');
        return;
      }
      if (verdict.kind === 'behind') {
        this.#behindAt = verdict.stuck ? undefined : position;
        if (verdict.stuck) this.#restart('behind');
        return;
      }
      this.#behindAt = undefined;
      const globalRevision = verdict.globalRevision;
      for (const [name, deleted] of this.#deletedAt)
        if (deleted <= globalRevision) this.#deletedAt.delete(name);
      await this.#commit(
        [],
        this.#checkpointFor(globalRevision, clusterId, askedAt.toISOString()),
        'confirm',
      );
    });
  }

  // ---- helpers ---------------------------------------------------------------------------------

  #report(error: unknown): void {
    if (this.#active) this.#options.events.fire({ type: 'error', error: error as Error });
  }

  /** Waits `ms` on the injected clock, or less if the run ends. */
  #pause(ms: number): Promise<void> {
    return this.#active ? pause(this.#options.clock, ms, this.#signal) : Promise.resolve();
  }
}
