/**
 * The election recipe — etcd's Go `concurrency` package (`Campaign`, the wait, `Resign`), decided
 * from a revision-ordered view instead of a watch per candidate. Everything here is a pure function
 * of what it is given; `EtcdElection` does the I/O and calls these to decide what to write and
 * whether it leads. Read top to bottom:
 *
 * 1. **Keys.** A campaign key is `<prefix>election/<lease id in hex>`, value = node id, on the
 *    node's lease ({@link campaignKeyOf}); the member record `<prefix>members/<id>` hangs off the same
 *    lease, so a crashed node's keys vanish with its lease.
 * 2. **Join and campaign** ({@link planWrites}, {@link writeTxn}): one transaction makes etcd match
 *    what the node wants — its member record current and its campaign key present while it is an
 *    eligible candidate, absent otherwise. The campaign key is created only if absent
 *    (`create_revision == 0`), never overwritten: a retry after a lost answer must not move the node
 *    back in the queue. The record is written only under the compare of member-claim.ts (one node id,
 *    one node): as judged, or on our own lease; a node whose record another live lease holds writes
 *    neither and does not campaign. A join is a lease grant plus this one transaction.
 * 3. **Who leads** ({@link decide}): at revision R the live campaign key with the lowest create
 *    revision leads, and its create revision is the term (fencing token). Any key created later has
 *    a higher create revision, so a key that is first at R stays first until it is deleted: deciding
 *    from the view after every batch is the Go recipe's "re-check after each wake-up", for free.
 *    Local truth comes first: a node whose lease may be expiring, that is unhealthy, or that resigned
 *    does not lead, whatever the view says.
 * 4. **Step down in time** ({@link stepDownDeadline}): etcd expires a lease no earlier than TTL after
 *    it received the last keepalive, which is no earlier than when we sent it; so leadership ends
 *    locally at `send time + TTL − margin`, even if etcd cannot be reached.
 * 5. **Fencing** ({@link fencedTxn}, {@link fenceOutcome}): a leader-only write is one flat
 *    transaction that also compares the create revision of the writer's campaign key with its term;
 *    a deposed leader's write fails and writes nothing.
 */
import type { LeadershipLossReason } from '@ztap/cluster';
import type { ICompare, IRequestOp, ITxnRequest, ITxnResponse } from 'etcd3';
import {
  type RecordExpectation,
  type RecordStanding,
  recordCompare,
  recordExpectation,
} from './member-claim.ts';

/** A key as etcd (or the mirror of it) holds it: text, with the revisions the recipe needs. */
export interface StoredKey {
  readonly key: string;
  readonly value: string;
  readonly createRevision: number;
  readonly modRevision: number;
  /** Decimal lease id, `'0'` when the key has no lease. */
  readonly lease: string;
}

/** A key or value as etcd3 wants it. */
export const bytes = (text: string): Buffer => Buffer.from(text);

// ---- 1. keys --------------------------------------------------------------------------------------

/** etcd lease ids are int64 in decimal strings; Go's concurrency package names keys with `%x`. */
export function leaseIdHex(leaseId: string): string {
  return BigInt(leaseId).toString(16);
}

/** The campaign key of the lease `leaseId` under `electionPrefix` (which ends in `/`). */
export function campaignKeyOf(electionPrefix: string, leaseId: string): string {
  return `${electionPrefix}${leaseIdHex(leaseId)}`;
}

// ---- 2. join and campaign ------------------------------------------------------------------------

/** What a node wants etcd to hold for it. */
export interface Wanted {
  readonly nodeId: string;
  readonly leaseId: string;
  readonly memberKey: string;
  /** The member record as it should be stored (see `encodeMember`). */
  readonly record: string;
  readonly campaignKey: string;
  /** Healthy and past `initialLeadership`: it may be in the queue. */
  readonly eligible: boolean;
  /** It resigned or missed its deadline: its key must go and come back at the end of the queue. */
  readonly requeue: boolean;
}

/** The writes that make etcd match what the node wants; `undefined` when it already does. */
export interface Writes {
  /** Put the member record (on the node's lease) if it is still as expected; undefined: leave it. */
  readonly record: RecordExpectation | undefined;
  /** Create the campaign key if absent, delete it, or leave it. */
  readonly campaign: 'create' | 'withdraw' | 'keep';
}

/**
 * Compares what the view shows of the node's own keys with what it wants. `record` is how the node
 * stands toward its member record (see member-claim.ts): a node that does not hold it is not a
 * member, so it writes nothing there and does not campaign either. A campaign key that must be
 * re-queued is withdrawn now and created again by the next plan (a new key: a new place at the end
 * of the queue, and a new term).
 */
export function planWrites(
  record: RecordStanding,
  campaign: StoredKey | undefined,
  wanted: Wanted,
): Writes | undefined {
  const write = recordExpectation(record, wanted.leaseId);
  const eligible = wanted.eligible && record.kind !== 'held';
  let action: Writes['campaign'] = 'keep';
  if (campaign && (wanted.requeue || !eligible)) action = 'withdraw';
  else if (!campaign && eligible) action = 'create';
  return write || action !== 'keep' ? { record: write, campaign: action } : undefined;
}

/**
 * The one transaction for {@link Writes}, flat: its compares are the record's (as expected) and,
 * when campaigning, `create_revision == 0` for the campaign key, so all its writes commit together or
 * none does. The failure branch reads the record: the caller learns at once whether it lost the
 * record to another node, and judges again from there (a campaign key that exists already — an
 * earlier attempt committed but its answer was lost — is seen by the next plan, which keeps it).
 */
export function writeTxn(writes: Writes, wanted: Wanted): ITxnRequest {
  const memberKey = bytes(wanted.memberKey);
  const campaignKey = bytes(wanted.campaignKey);
  const compare: ICompare[] = writes.record ? [recordCompare(wanted.memberKey, writes.record)] : [];
  const success: IRequestOp[] = writes.record
    ? [{ request_put: { key: memberKey, value: bytes(wanted.record), lease: wanted.leaseId } }]
    : [];
  if (writes.campaign === 'create') {
    compare.push({ key: campaignKey, target: 'Create', result: 'Equal', create_revision: '0' });
    success.push({ request_put: { key: campaignKey, value: bytes(wanted.nodeId), lease: wanted.leaseId } });
  } else if (writes.campaign === 'withdraw') {
    success.push({ request_delete_range: { key: campaignKey } });
  }
  return { compare, success, failure: [{ request_range: { key: memberKey } }] };
}

// ---- 3. who leads --------------------------------------------------------------------------------

/** What the node knows locally about its lease, its health, its id and its wishes. */
export interface LocalStanding {
  /** The lease this node holds, if any. */
  readonly session:
    | { readonly lost: boolean; readonly valid: boolean; readonly campaignKey: string }
    | undefined;
  readonly healthy: boolean;
  readonly requeue: boolean;
  /** False while another live node holds this node's id (its member record): it stands aside. */
  readonly holdsId: boolean;
}

/** This node leads with `term`, or does not, for `reason`. */
export type Verdict =
  | { readonly leads: true; readonly term: number; readonly campaignKey: string }
  | { readonly leads: false; readonly reason: LeadershipLossReason };

/**
 * Whether this node leads, from its local standing and the view: `own` is its campaign key as the
 * view shows it (undefined if absent), `first` the campaign key with the lowest create revision.
 */
export function decide(
  local: LocalStanding,
  own: StoredKey | undefined,
  first: StoredKey | undefined,
): Verdict {
  const { session } = local;
  if (!session || session.lost) return { leads: false, reason: 'lease_lost' };
  // Before the view: the lease may be expiring whatever etcd last said.
  if (!session.valid) return { leads: false, reason: 'deadline' };
  if (!local.healthy) return { leads: false, reason: 'unhealthy' };
  if (local.requeue) return { leads: false, reason: 'resigned' };
  if (!local.holdsId || !own) return { leads: false, reason: 'lease_lost' };
  if (first?.key !== own.key) return { leads: false, reason: 'superseded' };
  return { leads: true, term: own.createRevision, campaignKey: own.key };
}

/** Keeps track of the campaign key with the lowest create revision among those present. */
export class CampaignQueue {
  readonly #keys = new Map<string, StoredKey>();
  #first: StoredKey | undefined;

  /** The leader's campaign key: the lowest create revision. */
  get first(): StoredKey | undefined {
    return this.#first;
  }

  get(key: string): StoredKey | undefined {
    return this.#keys.get(key);
  }

  /** Every campaign key, in no particular order. */
  values(): Iterable<StoredKey> {
    return this.#keys.values();
  }

  set(entry: StoredKey): void {
    this.#keys.set(entry.key, entry);
    if (this.#first?.key === entry.key && this.#first.createRevision !== entry.createRevision) {
      // The first key was deleted and created again (a re-queue on the same lease) within one batch:
      // it is a new campaign at the end of the queue, so whoever is now oldest leads.
      this.#first = this.#oldest();
      return;
    }
    if (!this.#first || entry.createRevision < this.#first.createRevision || entry.key === this.#first.key)
      this.#first = entry;
  }

  delete(key: string): void {
    if (!this.#keys.delete(key) || this.#first?.key !== key) return;
    // Only the leader's departure costs a scan: keys join at the end (their create revision is the
    // newest), so the order among the others never changes.
    this.#first = this.#oldest();
  }

  #oldest(): StoredKey | undefined {
    let first: StoredKey | undefined;
    for (const entry of this.#keys.values())
      if (!first || entry.createRevision < first.createRevision) first = entry;
    return first;
  }

  clear(): void {
    this.#keys.clear();
    this.#first = undefined;
  }
}

// ---- 4. step down in time ------------------------------------------------------------------------

/**
 * Monotonic time after which a lease kept alive by a keepalive sent at `sentAtMs` (or granted by a
 * request sent then), and answered with `ttlSeconds`, may no longer be relied on. The margin absorbs
 * timer lateness and the rate difference between our monotonic clock and etcd's.
 */
export function stepDownDeadline(sentAtMs: number, ttlSeconds: number, marginMs: number): number {
  return sentAtMs + ttlSeconds * 1000 - marginMs;
}

// ---- 5. fencing ----------------------------------------------------------------------------------

/** A transaction that commits only while a leadership term is current (see `EtcdElection.guardedTxn`). */
export interface GuardedTxn {
  /** The fencing token the writer believes it holds. */
  readonly term: number;
  /** Further conditions (e.g. a version compare-and-set); they decide between `success` and `failure`. */
  readonly compare?: ICompare[];
  readonly success?: IRequestOp[];
  /** Reads only (`request_range`), run when one of `compare` fails. */
  readonly failure?: IRequestOp[];
}

/** The compare that fences a write: the writer's campaign key still has the create revision `term`. */
export function fenceCompare(campaignKey: string, term: number): ICompare {
  return { key: bytes(campaignKey), target: 'Create', result: 'Equal', create_revision: String(term) };
}

/**
 * The fenced transaction, flat on purpose: etcd 3.4 does not count puts inside a nested transaction
 * against its backend quota (nor check their permissions), so a nested write would slip past a
 * NOSPACE alarm. The failure branch first reads the campaign key, to tell "fenced" from "your compare
 * failed" ({@link fenceOutcome}).
 */
export function fencedTxn(campaignKey: string, txn: GuardedTxn): ITxnRequest {
  return {
    compare: [fenceCompare(campaignKey, txn.term), ...(txn.compare ?? [])],
    success: txn.success ?? [],
    failure: [{ request_range: { key: bytes(campaignKey) } }, ...(txn.failure ?? [])],
  };
}

/**
 * What a fenced transaction's answer means: `committed`; `compare_failed` (still leader, one of the
 * caller's compares failed; `response` holds only the caller's failure reads); or `fenced` (the
 * campaign key is gone or was created again: that leadership is over and nothing was written).
 */
export function fenceOutcome(
  response: ITxnResponse,
  term: number,
):
  | { readonly outcome: 'committed' | 'compare_failed'; readonly response: ITxnResponse }
  | { readonly outcome: 'fenced' } {
  if (response.succeeded) return { outcome: 'committed', response };
  const [fence, ...rest] = response.responses;
  const campaign = fence?.response_range?.kvs[0];
  if (!campaign || Number(campaign.create_revision) !== term) return { outcome: 'fenced' };
  return { outcome: 'compare_failed', response: { ...response, responses: rest } };
}
