import type { Clock, ClusterStateChange } from '@ztap/cluster';
import { ClusterView, type LeaderRecord, type MemberRecord } from '@ztap/cluster/backend';
import { CampaignQueue, type StoredKey } from './campaign.ts';
import { leaderFrom, memberFrom } from './cluster-store.ts';
import type { KeyLayout } from './keys.ts';
import type { MirrorBatch } from './mirror.ts';
import { campaignOf, type TransferRecord, transferInForce } from './transfer.ts';

/** What one mirror batch did to the shared view. */
export interface ViewUpdate {
  /** The changes, in the documented order, computed once for everyone: hand them on, do not copy. */
  readonly changes: readonly ClusterStateChange[];
  /** The leader before the batch. */
  readonly leaderBefore: LeaderRecord | undefined;
  /** The first campaign key before and after, when it moved (the leader's key changed hands). */
  readonly firstMoved:
    | { readonly before: string | undefined; readonly after: string | undefined }
    | undefined;
}

/** The transfer in force (see transfer.ts): its term, its request, and the target's campaign key. */
export interface TransferInForce {
  readonly term: number;
  readonly record: TransferRecord;
  readonly targetKey: StoredKey | undefined;
}

/**
 * The cluster as decoded from the mirror of one client and prefix, shared by every election and
 * watcher on them: each batch is decoded once (changed member records into immutable nodes, the
 * campaign queue), and the ordered changes are computed once.
 */
export class SharedView {
  readonly cluster = new ClusterView();
  readonly campaigns = new CampaignQueue();
  /** The transfer in force after the last batch, if any. */
  transfer: TransferInForce | undefined;
  readonly #keys: KeyLayout;
  readonly #clock: Clock;
  /** Monotonic ms each campaign key was first seen, and since when each member has been healthy. */
  readonly #campaignSince = new Map<string, number>();
  readonly #healthySince = new Map<string, number>();

  constructor(keys: KeyLayout, clock: Clock) {
    this.#keys = keys;
    this.#clock = clock;
  }

  /** Applies what `batch` changed, reading the entries from `mirror`. */
  apply(batch: MirrorBatch, mirror: { get(key: string): StoredKey | undefined }): ViewUpdate {
    const leaderBefore = this.cluster.leaderRecord;
    const firstBefore = this.campaigns.first?.key;
    const upserts: MemberRecord[] = [];
    const removals: string[] = [];
    const now = this.#clock.wallNow();
    const nowMs = this.#clock.monotonicNow();
    const { membersPrefix, electionPrefix, transfersPrefix } = this.#keys;
    let transfersMayHaveChanged = false;
    for (const key of batch.changedKeys) {
      const entry = mirror.get(key);
      if (key.startsWith(membersPrefix)) {
        const member = entry && memberFrom(entry, this.#keys, now);
        const id = key.slice(membersPrefix.length);
        if (member) upserts.push(member);
        else removals.push(id);
        if (member?.state !== 'healthy') this.#healthySince.delete(id);
        else if (!this.#healthySince.has(id)) this.#healthySince.set(id, nowMs);
      } else if (key.startsWith(electionPrefix)) {
        transfersMayHaveChanged = true;
        if (entry) {
          this.campaigns.set(entry);
          if (!this.#campaignSince.has(key)) this.#campaignSince.set(key, nowMs);
        } else {
          this.campaigns.delete(key);
          this.#campaignSince.delete(key);
        }
      } else if (key.startsWith(transfersPrefix)) transfersMayHaveChanged = true;
    }
    // Once per batch for everyone, and only when a campaign key or a request moved.
    if (transfersMayHaveChanged) this.transfer = this.#transferInForce(mirror);
    const first = this.campaigns.first;
    const changes = this.cluster.update({ upserts, removals, leader: leaderFrom(first) }, now);
    const firstMoved = first?.key === firstBefore ? undefined : { before: firstBefore, after: first?.key };
    return { changes, leaderBefore, firstMoved };
  }

  /**
   * Since when (monotonic ms) the candidate with campaign key `entry` has been eligible without
   * interruption: campaigning and healthy, as this process saw it. Undefined while not healthy.
   */
  eligibleSince(entry: StoredKey): number | undefined {
    const healthy = this.#healthySince.get(entry.value);
    const campaigning = this.#campaignSince.get(entry.key);
    return healthy === undefined || campaigning === undefined ? undefined : Math.max(healthy, campaigning);
  }

  #transferInForce(mirror: { get(key: string): StoredKey | undefined }): TransferInForce | undefined {
    const inForce = transferInForce(this.campaigns.first, (term) => mirror.get(this.#keys.transferKey(term)));
    if (!inForce) return undefined;
    return { ...inForce, targetKey: campaignOf(this.campaigns.values(), inForce.record.target) };
  }
}
