import type { Clock, ClusterStateChange } from '@ztap/cluster';
import { ClusterView, type LeaderRecord, type MemberRecord } from '@ztap/cluster/backend';
import { CampaignQueue, type StoredKey } from './campaign.ts';
import { leaderFrom, memberFrom } from './cluster-store.ts';
import type { KeyLayout } from './keys.ts';
import type { MirrorBatch } from './mirror.ts';

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

/**
 * The cluster as decoded from the mirror of one client and prefix, shared by every election and
 * watcher on them: each batch is decoded once (changed member records into immutable nodes, the
 * campaign queue), and the ordered changes are computed once.
 */
export class SharedView {
  readonly cluster = new ClusterView();
  readonly campaigns = new CampaignQueue();
  readonly #keys: KeyLayout;
  readonly #clock: Clock;

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
    const { membersPrefix, electionPrefix } = this.#keys;
    for (const key of batch.changedKeys) {
      const entry = mirror.get(key);
      if (key.startsWith(membersPrefix)) {
        const member = entry && memberFrom(entry, this.#keys, now);
        if (member) upserts.push(member);
        else removals.push(key.slice(membersPrefix.length));
      } else if (key.startsWith(electionPrefix)) {
        if (entry) this.campaigns.set(entry);
        else this.campaigns.delete(key);
      }
    }
    const first = this.campaigns.first;
    const changes = this.cluster.update({ upserts, removals, leader: leaderFrom(first) }, now);
    const firstMoved = first?.key === firstBefore ? undefined : { before: firstBefore, after: first?.key };
    return { changes, leaderBefore, firstMoved };
  }
}
