import { TransferError, type TransferResult, ValidationError, validateNodeId } from '@ztap/cluster';
import { describeValue } from '@ztap/cluster/backend';
import type { CallAccount } from './calls.ts';
import { bytes } from './campaign.ts';
import type { EtcdClusterContext } from './context.ts';
import type { KeyLayout } from './keys.ts';
import {
  campaignOf,
  checkTarget,
  decodeTransfer,
  failureError,
  requestRefusal,
  requestTxn,
  type TransferRecord,
} from './transfer.ts';

export interface OperatorTransferOptions {
  /** Only if the leader's term is this one (what `ztap cluster status` showed): else `stale_term`. */
  readonly ifTerm?: number | undefined;
  /** How long the leader gives the target (it carries this out). Default 15000 ms. */
  readonly timeoutMs?: number | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** How long an operator waits beyond the leader's timeout for the leader to report. */
const REPORT_MARGIN_MS = 5000;
const DEFAULT_TIMEOUT_MS = 15_000;
const MAX_TIMEOUT_MS = 24 * 60 * 60 * 1000;

/**
 * An operator's transfer (`ztap cluster transfer`): asks the leader, through a request key on the
 * leader's own lease, fenced by its campaign key (and `ifTerm`), to hand leadership to `target`;
 * resolves once the target leads. The leader does the rest exactly as for `transferLeadership()`
 * and writes the reason into the request if it fails; this side then removes the request.
 */
export async function transferAsOperator(
  context: EtcdClusterContext,
  keys: KeyLayout,
  account: CallAccount,
  nodeId: string,
  options: OperatorTransferOptions,
): Promise<TransferResult> {
  const target = validateNodeId(nodeId, 'nodeId');
  const timeoutMs = checkedTimeout(options.timeoutMs);
  if (options.ifTerm !== undefined && (!Number.isSafeInteger(options.ifTerm) || options.ifTerm < 1))
    throw new ValidationError(
      'ifTerm',
      `must be a term: a whole number above 0 (got ${describeValue(options.ifTerm)})`,
    );
  const { signal } = options;
  await context.mirror.start(signal);
  await context.mirror.sync(context.settings.requestTimeout, signal);
  const { campaigns, cluster } = context.view;
  const first = campaigns.first;
  if (!first) throw new TransferError(target, 'no_leader');
  const term = first.createRevision;
  if (options.ifTerm !== undefined && options.ifTerm !== term)
    throw new TransferError(target, 'stale_term', `the leader's term is ${term}, not ${options.ifTerm}`);
  if (first.value === target) return { nodeId: target, term };
  checkTarget(target, cluster.getNode(target), campaignOf(campaigns.values(), target));

  const key = keys.transferKey(term);
  const once = { class: 'once', account, signal } as const;
  const record: TransferRecord = { target, timeoutMs, by: 'operator' };
  const response = await context.caller.call(
    'ask the leader to transfer',
    (deadline) => context.client.kv.txn(requestTxn(first.key, term, first.lease, key, record), deadline),
    once,
  );
  if (!response.succeeded) {
    const refusal = requestRefusal(response, term, record);
    if (refusal === 'stale_term')
      throw new TransferError(target, 'stale_term', 'the leader changed while the request was written');
    if (refusal === 'in_progress') throw new TransferError(target, 'in_progress');
  }
  try {
    // The view must show the request before its absence can mean anything.
    await context.mirror.waitFor(Number(response.header.revision), context.settings.requestTimeout, signal);
    return await outcome(context, key, first.key, target, timeoutMs + REPORT_MARGIN_MS, signal);
  } finally {
    // Ours to remove once answered: the leader leaves a failed request for us to read.
    await context.caller
      .call(
        'remove the transfer request',
        (deadline) => context.client.kv.deleteRange({ key: bytes(key) }, deadline),
        {
          ...once,
          signal: undefined,
        },
      )
      .catch(() => {});
  }
}

/** Waits in the view for the target to lead, or the request to fail or vanish. */
function outcome(
  context: EtcdClusterContext,
  key: string,
  leaderKey: string,
  target: string,
  waitMs: number,
  signal: AbortSignal | undefined,
): Promise<TransferResult> {
  return new Promise((resolve, reject) => {
    const clock = context.settings.clock;
    const finish = (error: unknown, result?: TransferResult) => {
      unsubscribe();
      clock.clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (result) resolve(result);
      else reject(error);
    };
    const check = () => {
      const first = context.view.campaigns.first;
      if (first?.value === target && first.key !== leaderKey)
        return finish(undefined, { nodeId: target, term: first.createRevision });
      const request = context.mirror.get(key);
      const record = request && decodeTransfer(request.value);
      if (record?.failed) return finish(failureError(target, record.failed));
      const leader = first ? `${first.value} leads now` : 'no node leads now';
      if (!request)
        return finish(new TransferError(target, 'interrupted', `the leader's lease ended; ${leader}`));
      // The leader writes a failure before it lets go: a leadership that moved elsewhere without
      // one ended some other way (resigned, lost its lease).
      if (first?.key !== leaderKey)
        finish(new TransferError(target, 'interrupted', `the leadership ended; ${leader}`));
    };
    const onAbort = () => finish(signal?.reason);
    const timer = clock.setTimeout(
      () =>
        finish(
          new TransferError(
            target,
            'timeout',
            `the leader did not answer within ${waitMs} ms (do all nodes run a version with transfers?)`,
          ),
        ),
      waitMs,
    );
    const unsubscribe = context.mirror.subscribe(check);
    signal?.addEventListener('abort', onAbort, { once: true });
    check();
  });
}

function checkedTimeout(timeoutMs: number | undefined): number {
  if (timeoutMs === undefined) return DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_TIMEOUT_MS)
    throw new ValidationError(
      'timeoutMs',
      `must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS} (got ${describeValue(timeoutMs)})`,
    );
  return timeoutMs;
}
