/**
 * Leadership transfer on etcd's queue, as pure functions (`EtcdElection` does the I/O).
 *
 * The leader is the campaign key with the lowest create revision, so a named candidate (the target)
 * can only lead once every key ahead of it is gone. A transfer therefore re-queues everyone ahead
 * of the target (delete the campaign key, create it again: the back of the queue):
 *
 * 1. The leader of term T writes `<prefix>transfer/<T>` = {@link TransferRecord}, in a transaction
 *    fenced by its term and on its own lease — the request vanishes with the leader. An operator
 *    (`ztap cluster transfer`) writes the same key, fenced by the leader's campaign key and on the
 *    leader's lease ({@link requestTxn}).
 * 2. The leader steps down locally (its leadership signal aborts, leader work drains) but keeps its
 *    campaign key: nobody else can be first meanwhile, so there is no instant without a key holder
 *    and never two leaders.
 * 3. Every other candidate ahead of the target that sees the request re-queues itself
 *    ({@link mustStepAside}). It cannot lead meanwhile: the leader's key is still ahead of it.
 * 4. When nobody but the leader is ahead of the target ({@link transferProgress}), the leader
 *    re-queues too; the target is then first and leads, with its own create revision as its term —
 *    higher than T, as the key was created after the leader's.
 *
 * A crash anywhere leaves an ordinary election: a crashed leader's lease takes its key and the
 * request with it (the first of the queue leads, whoever it is); a crashed candidate's key goes with
 * its lease (the transfer goes on or, if it was the target, fails with `target_withdrew`); a
 * candidate that never re-queues (partitioned, or a client that does not know this protocol) holds
 * the transfer up until its timeout, after which the leader re-queues anyway and the queue decides.
 */
import {
  isTransferError,
  type Node,
  TRANSFER_FAILURE_REASONS,
  TransferError,
  type TransferFailureReason,
} from '@ztap/cluster';
import type { ITxnRequest, ITxnResponse } from 'etcd3';
import { bytes, fenceCompare, type StoredKey } from './campaign.ts';

/** What a transfer request key holds. */
export interface TransferRecord {
  /** The node leadership goes to. */
  readonly target: string;
  /** How long the leader gives the target to lead, drain included. */
  readonly timeoutMs?: number;
  /** `operator` when written by `ztap cluster transfer`, absent when the leader wrote it. */
  readonly by?: 'operator';
  /** Written by the leader when the transfer failed, just before it deletes the request. */
  readonly failed?: { readonly reason: string; readonly message: string };
}

export function encodeTransfer(record: TransferRecord): string {
  return JSON.stringify(record);
}

/** The request as stored, or undefined when it is not one (a foreign or damaged value: ignored). */
export function decodeTransfer(value: string): TransferRecord | undefined {
  try {
    const parsed = JSON.parse(value) as Partial<TransferRecord>;
    if (typeof parsed !== 'object' || parsed === null || typeof parsed.target !== 'string') return undefined;
    const timeoutMs =
      typeof parsed.timeoutMs === 'number' && Number.isInteger(parsed.timeoutMs) && parsed.timeoutMs > 0
        ? parsed.timeoutMs
        : undefined;
    const failed =
      parsed.failed && typeof parsed.failed.reason === 'string' && typeof parsed.failed.message === 'string'
        ? { reason: parsed.failed.reason, message: parsed.failed.message }
        : undefined;
    return {
      target: parsed.target,
      ...(timeoutMs ? { timeoutMs } : {}),
      ...(parsed.by === 'operator' ? { by: 'operator' as const } : {}),
      ...(failed ? { failed } : {}),
    };
  } catch {
    return undefined;
  }
}

/** The campaign key of `nodeId`, if it campaigns (its value is its node id). */
export function campaignOf(campaigns: Iterable<StoredKey>, nodeId: string): StoredKey | undefined {
  for (const entry of campaigns) if (entry.value === nodeId) return entry;
  return undefined;
}

/**
 * The transfer in force, if any: the request naming the current leader's term (the first campaign
 * key's create revision). A request for any other term belongs to a leadership that is over.
 */
export function transferInForce(
  first: StoredKey | undefined,
  requestOf: (term: number) => StoredKey | undefined,
): { readonly term: number; readonly record: TransferRecord } | undefined {
  if (!first) return undefined;
  const entry = requestOf(first.createRevision);
  const record = entry && decodeTransfer(entry.value);
  return record && !record.failed ? { term: first.createRevision, record } : undefined;
}

/**
 * Whether the candidate with campaign key `own` must re-queue for the transfer in force: it is
 * ahead of the target's key, and it is neither the target nor the leader (who re-queues last).
 */
export function mustStepAside(
  own: StoredKey | undefined,
  first: StoredKey | undefined,
  target: StoredKey | undefined,
): boolean {
  if (!own || !first || !target || own.key === first.key || own.key === target.key) return false;
  return own.createRevision < target.createRevision;
}

/** Where a transfer stands, as the leader (`leaderKey`) sees the queue. */
export type TransferProgress =
  /** The target leads, with `term`. */
  | { readonly kind: 'done'; readonly term: number }
  /** The target no longer campaigns. */
  | { readonly kind: 'withdrew' }
  /** Only the leader is ahead of the target: it re-queues now. */
  | { readonly kind: 'requeue' }
  /** Others are still ahead of the target (their ids): wait for them to re-queue. */
  | { readonly kind: 'waiting'; readonly ahead: readonly string[] };

export function transferProgress(
  campaigns: Iterable<StoredKey>,
  first: StoredKey | undefined,
  leaderKey: string,
  target: string,
): TransferProgress {
  const entries = [...campaigns];
  const targetKey = campaignOf(entries, target);
  if (!targetKey) return { kind: 'withdrew' };
  if (first?.key === targetKey.key) return { kind: 'done', term: targetKey.createRevision };
  const ahead = entries
    .filter((entry) => entry.key !== leaderKey && entry.createRevision < targetKey.createRevision)
    .sort((a, b) => a.createRevision - b.createRevision)
    .map((entry) => entry.value);
  return ahead.length === 0 ? { kind: 'requeue' } : { kind: 'waiting', ahead };
}

/**
 * Writes a transfer request for the leadership of `term`, held by the campaign key `leaderKey` on
 * the lease `leaseId` (the leader's: the request must not outlive it). Commits only while that
 * leadership is current and no request for it exists; the failure branch reads both, to tell which.
 */
export function requestTxn(
  leaderKey: string,
  term: number,
  leaseId: string,
  transferKey: string,
  record: TransferRecord,
): ITxnRequest {
  const key = bytes(transferKey);
  return {
    compare: [
      fenceCompare(leaderKey, term),
      { key, target: 'Create', result: 'Equal', create_revision: '0' },
    ],
    success: [{ request_put: { key, value: bytes(encodeTransfer(record)), lease: leaseId } }],
    failure: [{ request_range: { key: bytes(leaderKey) } }, { request_range: { key } }],
  };
}

/**
 * Why a {@link requestTxn} failed: the leadership is over, or a request for it exists already —
 * unless that request is `record` itself (an earlier attempt committed, its answer was lost: the
 * transaction is retried, so this is how a retry learns it had succeeded).
 */
export function requestRefusal(
  response: ITxnResponse,
  term: number,
  record: TransferRecord,
): 'stale_term' | 'in_progress' | 'written' {
  const [leader, existing] = response.responses;
  const campaign = leader?.response_range?.kvs[0];
  if (!campaign || Number(campaign.create_revision) !== term) return 'stale_term';
  const stored = existing?.response_range?.kvs[0]?.value.toString();
  return stored === encodeTransfer(record) ? 'written' : 'in_progress';
}

/**
 * What a failed request records: the reason (a `TransferError`'s, else `interrupted`) and what the
 * leader saw (a `TransferError`'s detail, else the error's message).
 */
export function failureOf(error: unknown): { readonly reason: string; readonly message: string } {
  if (isTransferError(error)) return { reason: error.reason, message: error.detail ?? '' };
  return { reason: 'interrupted', message: error instanceof Error ? error.message : String(error) };
}

/** Refuses a target that cannot take over now: not a member, not healthy, or not campaigning. */
export function checkTarget(target: string, node: Node | undefined, campaign: StoredKey | undefined): void {
  if (!node) throw new TransferError(target, 'unknown_target');
  if (node.state !== 'healthy') throw new TransferError(target, 'unhealthy_target', `state ${node.state}`);
  if (!campaign) throw new TransferError(target, 'not_candidate', 'it has no campaign key');
}

/** The error a failed request records, as the leader that failed it would have thrown it. */
export function failureError(target: string, failed: { readonly reason: string; readonly message: string }) {
  const reason = (TRANSFER_FAILURE_REASONS as readonly string[]).includes(failed.reason)
    ? (failed.reason as TransferFailureReason)
    : 'interrupted';
  return new TransferError(target, reason, failed.message || undefined);
}
