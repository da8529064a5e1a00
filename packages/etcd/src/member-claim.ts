import { type Clock, type NodeIdHolder, NodeIdInUseError } from '@ztap/cluster';
import type { Etcd3, ICompare } from 'etcd3';
import type { CallAccount, EtcdCaller } from './calls.ts';
import type { StoredKey } from './campaign.ts';
import { decodeMember } from './keys.ts';
import { LeaseRenewalDetector } from './lease-renewal.ts';
import type { PrefixMirror } from './mirror.ts';

type MirrorEntry = StoredKey;

/**
 * One node id, one node. The member record `members/<id>` is the claim on an id: whoever's lease it
 * hangs on holds the id. This file is the whole rule, in the style of Go's `concurrency` recipe:
 *
 * - {@link standingOf} judges the record: free to claim (absent, an operator's lease-less record, or
 *   on a lease of ours that is gone), ours, or **held** by another lease;
 * - {@link recordCompare} writes it only if it is still what was judged (compare-and-put, in the join
 *   or reconcile transaction of campaign.ts), so two nodes racing for one id cannot both win and a
 *   record taken meanwhile is never overwritten;
 * - {@link awaitRelease} is what a starting node does about a held record: a live duplicate renews
 *   its lease (refused with `NodeIdInUseError` about a second after the first look), a crashed
 *   predecessor does not (its lease expires, its record goes, the wait ends: about one TTL).
 */

/** How this node stands toward the record under its id. */
export type RecordStanding =
  /** Claim it with a write that expects `modRevision` (0: the key is absent). */
  | { readonly kind: 'free'; readonly modRevision: number }
  /** On our lease; `current` when it already says what we want it to. */
  | { readonly kind: 'ours'; readonly current: boolean }
  /** On another lease that may be alive: not ours to touch. */
  | { readonly kind: 'held'; readonly entry: MirrorEntry };

/**
 * @param ownLeaseId the lease this node holds now, if any
 * @param retiredLeaseIds leases this node held before and knows are gone (their keys are deleted
 *   with them; a view that still shows one is only late)
 * @param wanted the record this node wants to publish
 */
export function standingOf(
  entry: MirrorEntry | undefined,
  ownLeaseId: string | undefined,
  retiredLeaseIds: ReadonlySet<string>,
  wanted: string,
): RecordStanding {
  if (!entry) return { kind: 'free', modRevision: 0 };
  if (ownLeaseId !== undefined && entry.lease === ownLeaseId)
    return { kind: 'ours', current: entry.value === wanted };
  if (entry.lease === '0' || retiredLeaseIds.has(entry.lease))
    return { kind: 'free', modRevision: entry.modRevision };
  return { kind: 'held', entry };
}

/** How a record write expects to find the record: unchanged since `modRevision`, or on our lease. */
export type RecordExpectation = { readonly modRevision: number } | { readonly onLease: string };

/**
 * The compare under which the record is written: still unchanged since `modRevision` (claiming), or
 * still on our lease (refreshing). A transaction that fails it writes nothing and reads the record,
 * so a lost race tells at once who won.
 */
export function recordCompare(key: string, expect: RecordExpectation): ICompare {
  const keyBytes = Buffer.from(key);
  return 'modRevision' in expect
    ? { key: keyBytes, target: 'Mod', result: 'Equal', mod_revision: String(expect.modRevision) }
    : { key: keyBytes, target: 'Lease', result: 'Equal', lease: expect.onLease };
}

/** The expectation to write the record under, from how this node stands toward it; none when it need not (or may not) be written. */
export function recordExpectation(standing: RecordStanding, leaseId: string): RecordExpectation | undefined {
  if (standing.kind === 'free') return { modRevision: standing.modRevision };
  if (standing.kind === 'ours' && !standing.current) return { onLease: leaseId };
  return undefined;
}

/** Who holds a record, as its value says (a record that is not ours to read still names its lease). */
export function holderOf(nodeId: string, entry: MirrorEntry): NodeIdHolder {
  const member = decodeMember(nodeId, entry.value, true, new Date(Number.NaN));
  return {
    address: member?.address ?? '(an address its record does not show)',
    ...(member && !Number.isNaN(member.joinedAt.getTime()) ? { since: member.joinedAt } : {}),
    leaseId: entry.lease,
  };
}

export interface ReleaseWait {
  readonly nodeId: string;
  readonly memberKey: string;
  readonly mirror: PrefixMirror;
  readonly client: Etcd3;
  readonly caller: EtcdCaller;
  /** Whose requests the lease checks are. */
  readonly account: CallAccount;
  readonly clock: Clock;
  /** How often to ask etcd about the holder's lease (the node's heartbeat interval). */
  readonly pollIntervalMs: number;
  /** Whether the record as the mirror shows it is no longer held by another lease. */
  readonly isReleased: (entry: MirrorEntry | undefined) => boolean;
}

/**
 * Resolves once the mirror shows the record under our id released (see `isReleased`); rejects with
 * `NodeIdInUseError` as soon as the holder's lease is seen renewed, and with the signal's reason when
 * it aborts. Bounded: a lease that outlives its last reported TTL was renewed, so a holder that does
 * not go within about one TTL is refused.
 */
export async function awaitRelease(wait: ReleaseWait, signal: AbortSignal): Promise<void> {
  let watchedLease: string | undefined;
  let renewal = new LeaseRenewalDetector();
  for (;;) {
    signal.throwIfAborted();
    const entry = wait.mirror.get(wait.memberKey);
    if (!entry || wait.isReleased(entry)) return;
    if (entry.lease !== watchedLease) {
      watchedLease = entry.lease;
      renewal = new LeaseRenewalDetector();
    }
    const sentAtMs = wait.clock.monotonicNow();
    const answer = await wait.caller.call(
      'check the lease that holds this node id',
      (deadline) => wait.client.leaseClient.leaseTimeToLive({ ID: entry.lease }, deadline),
      { class: 'read', account: wait.account, signal },
    );
    const ttlSeconds = Number(answer.TTL);
    // TTL -1: the lease is gone and the record with it; the mirror is about to show the deletion.
    if (ttlSeconds >= 0 && renewal.observe(ttlSeconds, sentAtMs, wait.clock.monotonicNow())) {
      throw new NodeIdInUseError(wait.nodeId, holderOf(wait.nodeId, entry));
    }
    await nextLook(wait, signal);
  }
}

/** Resolves when the record changes in the mirror or after one poll interval; rejects on abort. */
function nextLook(wait: ReleaseWait, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const finish = (error?: unknown) => {
      wait.clock.clearTimeout(timer);
      unsubscribe();
      signal.removeEventListener('abort', onAbort);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onAbort = () => finish(signal.reason);
    const timer = wait.clock.setTimeout(() => finish(), wait.pollIntervalMs);
    const unsubscribe = wait.mirror.subscribe((batch) => {
      if (batch.changedKeys.has(wait.memberKey)) finish();
    });
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
  });
}
