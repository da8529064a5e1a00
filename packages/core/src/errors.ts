import type { ElectionRole } from './config.ts';

/**
 * Every error this library throws is a {@link ZtapError} with a stable `code`. Each concept has its own
 * class and a guard (`isValidationError(e)`, ...). The guards compare `code`, not the prototype chain,
 * so they also recognise errors thrown by a second copy of this package in the same process.
 */
export class ZtapError extends Error {
  /** Stable, machine-readable identifier, e.g. `ZTAP_VALIDATION`. */
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Whether `error` is an Error carrying `code`: the basis of every guard, here and in the backends. */
export function hasErrorCode(error: unknown, code: string): boolean {
  return error instanceof Error && (error as { code?: unknown }).code === code;
}

/** Any error from this library (any copy of it). */
export function isZtapError(error: unknown): error is ZtapError {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('ZTAP_');
}

/**
 * Bad input: a config field, a node id, an address, metadata. `field` names what was wrong and the
 * message states the rule, e.g. `heartbeatInterval must be at most a third of electionTimeout`.
 */
export class ValidationError extends ZtapError {
  static readonly code = 'ZTAP_VALIDATION';
  /** The config field or argument that broke a rule, e.g. `nodeId` or `metadata.zone`. */
  readonly field: string;

  constructor(field: string, rule: string, options?: ErrorOptions) {
    super(ValidationError.code, `${field} ${rule}`, options);
    this.field = field;
  }
}
export const isValidationError = (error: unknown): error is ValidationError =>
  hasErrorCode(error, ValidationError.code);

/** `registerNode` was given an id that is already a member of the cluster. */
export class NodeExistsError extends ZtapError {
  static readonly code = 'ZTAP_NODE_EXISTS';
  readonly nodeId: string;

  constructor(nodeId: string) {
    super(NodeExistsError.code, `node ${JSON.stringify(nodeId)} is already a member of the cluster`);
    this.nodeId = nodeId;
  }
}
export const isNodeExistsError = (error: unknown): error is NodeExistsError =>
  hasErrorCode(error, NodeExistsError.code);

/** Who holds a node id: what its member record says. */
export interface NodeIdHolder {
  /** The address the holding node advertises. */
  readonly address: string;
  /** When the holding node joined (from its record); absent when the record does not say. */
  readonly since?: Date;
  /** On etcd: the holder's lease (decimal, like `EtcdElection.leaseId`). */
  readonly leaseId?: string;
}

/** A time as messages show it: ISO 8601 in UTC, to the second. */
const isoSeconds = (date: Date): string => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * `start()` was refused: another running node holds this node id (its member record is on a live
 * lease that is being renewed). Two nodes with one id would overwrite each other's record; pick
 * another id, or stop the other node first. A node restarted after a crash is not refused: it waits
 * (at most one lease TTL) for its predecessor's claim to lapse.
 */
export class NodeIdInUseError extends ZtapError {
  static readonly code = 'ZTAP_NODE_ID_IN_USE';
  readonly nodeId: string;
  readonly holder: NodeIdHolder;

  constructor(nodeId: string, holder: NodeIdHolder, options?: ErrorOptions) {
    super(
      NodeIdInUseError.code,
      `${NodeIdInUseError.describe(nodeId, holder)}; pick another node id, or stop that node first`,
      options,
    );
    this.nodeId = nodeId;
    this.holder = holder;
  }

  /** The conflict without the remedy, e.g. `node id "n1" is in use by a running node at 10.0.0.7:9090 (since 2026-11-30T10:01:02Z)`. */
  static describe(nodeId: string, holder: NodeIdHolder): string {
    const since =
      holder.since && !Number.isNaN(holder.since.getTime()) ? ` (since ${isoSeconds(holder.since)})` : '';
    return `node id ${JSON.stringify(nodeId)} is in use by a running node at ${holder.address}${since}`;
  }
}
export const isNodeIdInUseError = (error: unknown): error is NodeIdInUseError =>
  hasErrorCode(error, NodeIdInUseError.code);

/** `deregisterNode` was given an id that is not a member of the cluster. */
export class NodeNotFoundError extends ZtapError {
  static readonly code = 'ZTAP_NODE_NOT_FOUND';
  readonly nodeId: string;

  constructor(nodeId: string) {
    super(NodeNotFoundError.code, `node ${JSON.stringify(nodeId)} is not a member of the cluster`);
    this.nodeId = nodeId;
  }
}
export const isNodeNotFoundError = (error: unknown): error is NodeNotFoundError =>
  hasErrorCode(error, NodeNotFoundError.code);

/** Why a leadership ended; carried by {@link LeadershipLostError}. */
export type LeadershipLossReason =
  /** `resign()` was called. */
  | 'resigned'
  /** This node handed leadership to another (`transferLeadership()`, an operator, or a priority). */
  | 'transferred'
  /** `stop()` was called or the start signal aborted. */
  | 'stopped'
  /** Another node was elected (e.g. a healthier or lower-id candidate in memory). */
  | 'superseded'
  /** The application health check failed. */
  | 'unhealthy'
  /**
   * The lease or campaign key is gone (expired, revoked, deleted by an operator), or another live
   * node took this node's id while its member record was gone.
   */
  | 'lease_lost'
  /** No keepalive succeeded in time: stepped down before the server could expire the lease. */
  | 'deadline';

/** Every {@link LeadershipLossReason}, e.g. to export a metric series for each from the start. */
export const LEADERSHIP_LOSS_REASONS: readonly LeadershipLossReason[] = Object.freeze([
  'resigned',
  'transferred',
  'stopped',
  'superseded',
  'unhealthy',
  'lease_lost',
  'deadline',
]);

/**
 * The abort reason of a leadership signal, and the rejection of work that needed leadership that
 * ended. `term` is the fencing token of the leadership that ended.
 */
export class LeadershipLostError extends ZtapError {
  static readonly code = 'ZTAP_LEADERSHIP_LOST';
  readonly term: number;
  readonly reason: LeadershipLossReason;

  constructor(term: number, reason: LeadershipLossReason, options?: ErrorOptions) {
    super(LeadershipLostError.code, `leadership of term ${term} ended (${reason})`, options);
    this.term = term;
    this.reason = reason;
  }
}
export const isLeadershipLostError = (error: unknown): error is LeadershipLostError =>
  hasErrorCode(error, LeadershipLostError.code);

/** An operation that only the leader may perform was attempted by a node that is not the leader. */
export class NotLeaderError extends ZtapError {
  static readonly code = 'ZTAP_NOT_LEADER';
  readonly nodeId: string;

  constructor(nodeId: string, operation: string) {
    super(NotLeaderError.code, `node ${JSON.stringify(nodeId)} cannot ${operation}: it is not the leader`);
    this.nodeId = nodeId;
  }
}
export const isNotLeaderError = (error: unknown): error is NotLeaderError =>
  hasErrorCode(error, NotLeaderError.code);

/**
 * A write guarded by a fencing token was refused because the token is stale: the writer's leadership
 * of that term has ended (possibly without the writer knowing yet). Nothing was written.
 */
export class FencedWriteError extends ZtapError {
  static readonly code = 'ZTAP_FENCED';
  readonly term: number;

  constructor(term: number, options?: ErrorOptions) {
    super(
      FencedWriteError.code,
      `write refused: leadership of term ${term} is no longer current, nothing was written`,
      options,
    );
    this.term = term;
  }
}
export const isFencedWriteError = (error: unknown): error is FencedWriteError =>
  hasErrorCode(error, FencedWriteError.code);

/**
 * The abort reason a health check's signal carries when the check ran out of time (a heartbeat
 * interval): the node counts as unhealthy, and the check should stop what it is doing.
 */
export class HealthCheckTimeoutError extends ZtapError {
  static readonly code = 'ZTAP_HEALTH_CHECK_TIMEOUT';
  readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    super(HealthCheckTimeoutError.code, `health check took longer than ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}
export const isHealthCheckTimeoutError = (error: unknown): error is HealthCheckTimeoutError =>
  hasErrorCode(error, HealthCheckTimeoutError.code);

/**
 * Leader work run by `lead()` failed while this node still led (not because the leadership ended or
 * the caller aborted). The node resigned, so a healthy candidate takes over; `cause` is what the work
 * threw.
 */
export class LeaderWorkError extends ZtapError {
  static readonly code = 'ZTAP_LEADER_WORK';
  /** The term the work was running under. */
  readonly term: number;

  constructor(term: number, options?: ErrorOptions) {
    const cause = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(
      LeaderWorkError.code,
      `leader work failed under term ${term}${cause}; this node resigned so another can take over`,
      options,
    );
    this.term = term;
  }
}
export const isLeaderWorkError = (error: unknown): error is LeaderWorkError =>
  hasErrorCode(error, LeaderWorkError.code);

/** An operation needs a running election, or the election stopped while the operation waited. */
export class ElectionStoppedError extends ZtapError {
  static readonly code = 'ZTAP_STOPPED';

  constructor(nodeId: string, detail = 'the election is not running') {
    super(ElectionStoppedError.code, `node ${JSON.stringify(nodeId)}: ${detail}`);
  }
}
export const isElectionStoppedError = (error: unknown): error is ElectionStoppedError =>
  hasErrorCode(error, ElectionStoppedError.code);

/** `start()` was called on an election that is already starting or running. */
export class AlreadyStartedError extends ZtapError {
  static readonly code = 'ZTAP_ALREADY_STARTED';

  constructor(nodeId: string) {
    super(
      AlreadyStartedError.code,
      `node ${JSON.stringify(nodeId)}: start() was called twice; call stop() first`,
    );
  }
}
export const isAlreadyStartedError = (error: unknown): error is AlreadyStartedError =>
  hasErrorCode(error, AlreadyStartedError.code);

/**
 * A `watch()` consumer stopped reading while changes kept coming. Rather than grow memory without
 * bound or silently drop changes, its iterator delivers what it had buffered and then throws this.
 * Recover by reading `getState()` and calling `watch()` again.
 */
export class WatchOverflowError extends ZtapError {
  static readonly code = 'ZTAP_WATCH_OVERFLOW';
  readonly bufferSize: number;

  constructor(bufferSize: number) {
    super(
      WatchOverflowError.code,
      `watcher fell more than ${bufferSize} changes behind; read getState() and watch() again`,
    );
    this.bufferSize = bufferSize;
  }
}
export const isWatchOverflowError = (error: unknown): error is WatchOverflowError =>
  hasErrorCode(error, WatchOverflowError.code);

/** Why a transfer of leadership failed; carried by {@link TransferError}. */
export type TransferFailureReason =
  /** No member has the target's id. */
  | 'unknown_target'
  /** The target is a member but not healthy (unhealthy, or `unknown`: never heard from). */
  | 'unhealthy_target'
  /** The target is healthy but does not campaign (e.g. still within its `initialLeadership`). */
  | 'not_candidate'
  /** The target stopped being a candidate (unhealthy, stopped, crashed) before it led. */
  | 'target_withdrew'
  /** The target did not lead within the transfer's timeout. */
  | 'timeout'
  /** Another transfer of this leadership is under way. */
  | 'in_progress'
  /** An operator's transfer named a term that is not the current leader's: nothing was written. */
  | 'stale_term'
  /** An operator's transfer found no leader to hand over from: nothing was written. */
  | 'no_leader'
  /** The leadership ended some other way (lease lost, request removed) before the target led. */
  | 'interrupted';

/** Every {@link TransferFailureReason}. */
export const TRANSFER_FAILURE_REASONS: readonly TransferFailureReason[] = Object.freeze([
  'unknown_target',
  'unhealthy_target',
  'not_candidate',
  'target_withdrew',
  'timeout',
  'in_progress',
  'stale_term',
  'no_leader',
  'interrupted',
]);

const TRANSFER_FAILURES: Record<TransferFailureReason, string> = {
  unknown_target: 'no member has that id',
  unhealthy_target: 'it is not healthy',
  not_candidate: 'it is not a candidate (it does not campaign)',
  target_withdrew: 'it withdrew its candidacy before it led',
  timeout: 'it did not lead in time',
  in_progress: 'another transfer of this leadership is under way',
  stale_term: 'the term given is not the current leader’s; nothing was written',
  no_leader: 'the cluster has no leader to hand over from; nothing was written',
  interrupted: 'the leadership ended some other way before it led',
};

/**
 * A transfer of leadership (`transferLeadership()`, `ztap cluster transfer`) failed; `reason` says
 * why and `target` names the node leadership was meant for. Unless the reason is one that is found
 * before anything happens (`unknown_target`, `unhealthy_target`, `not_candidate`, `in_progress`,
 * `stale_term`, `no_leader`), the old leader has already stepped down: some candidate leads, or will shortly.
 */
export class TransferError extends ZtapError {
  static readonly code = 'ZTAP_TRANSFER';
  readonly target: string;
  readonly reason: TransferFailureReason;
  /** What was seen, when there is more to say than the reason (e.g. `state unhealthy`). */
  readonly detail: string | undefined;

  /** `detail` adds what was seen, e.g. `state unhealthy` or `n2 did not step aside`. */
  constructor(target: string, reason: TransferFailureReason, detail?: string, options?: ErrorOptions) {
    const why = detail ? `${TRANSFER_FAILURES[reason]}: ${detail}` : TRANSFER_FAILURES[reason];
    super(
      TransferError.code,
      `leadership could not be transferred to ${JSON.stringify(target)}: ${why}`,
      options,
    );
    this.target = target;
    this.reason = reason;
    this.detail = detail;
  }
}
export const isTransferError = (error: unknown): error is TransferError =>
  hasErrorCode(error, TransferError.code);
/**
 * A node was asked to do what its `role` rules out: a `member` or an `observer` never campaigns, so
 * it cannot wait for leadership, run leader work or lead. Rather than wait forever for a leadership
 * that cannot come, the call rejects with this at once. Give the node `role: 'candidate'` to let it lead.
 */
export class RoleError extends ZtapError {
  static readonly code = 'ZTAP_ROLE';
  readonly nodeId: string;
  /** The node's role (`member` or `observer`). */
  readonly role: ElectionRole;
  /** What was asked, e.g. `waitForLeadership()`. */
  readonly operation: string;

  constructor(nodeId: string, role: ElectionRole, operation: string) {
    super(
      RoleError.code,
      `node ${JSON.stringify(nodeId)} has role '${role}', which never campaigns, so it cannot ${operation}; ` +
        "give it role: 'candidate' to let it lead",
    );
    this.nodeId = nodeId;
    this.role = role;
    this.operation = operation;
  }
}
export const isRoleError = (error: unknown): error is RoleError => hasErrorCode(error, RoleError.code);

/**
 * The member list was asked of a node whose `view` is `leader`: it keeps only the leader and the
 * policies (so member churn costs it nothing), and has no member list to answer from — an empty
 * array would be a lie. Give it `view: 'full'` to keep every member.
 */
export class NarrowViewError extends ZtapError {
  static readonly code = 'ZTAP_NARROW_VIEW';
  readonly nodeId: string;
  /** What was asked, e.g. `getNodes()`. */
  readonly operation: string;

  constructor(nodeId: string, operation: string) {
    super(
      NarrowViewError.code,
      `node ${JSON.stringify(nodeId)} has view: 'leader', which keeps only the leader and the policies, ` +
        `not the member list, so ${operation} has nothing to answer from; give it view: 'full' to keep every member`,
    );
    this.nodeId = nodeId;
    this.operation = operation;
  }
}
export const isNarrowViewError = (error: unknown): error is NarrowViewError =>
  hasErrorCode(error, NarrowViewError.code);
