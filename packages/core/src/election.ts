import type { ElectionRole, ViewKind } from './config.ts';
import type { ElectionTelemetry } from './events.ts';
import type { Liveness } from './liveness.ts';
import type { ClusterState, ClusterStateChange, Leadership, Node, NodeRegistration } from './types.ts';

export interface SignalOptions {
  /** Aborting it cancels the wait: the call rejects with the signal's reason, or an iterator ends. */
  readonly signal?: AbortSignal | undefined;
}

export interface WatchOptions extends SignalOptions {
  /**
   * Start with the current picture: a `node_joined` for every member and a `leader_elected` for the
   * current leader, then the live changes. Default false (only changes from now on).
   */
  readonly includeExisting?: boolean;
}

export interface TransferOptions extends SignalOptions {
  /**
   * How long the target may take to lead, the old leader's drain included. Default `drainTimeout` +
   * 2 × `electionTimeout` (long enough for a crashed candidate's lease to run out). 1 ms to 24 h.
   */
  readonly timeoutMs?: number | undefined;
}

/** The leadership a transfer handed over: the node that leads now, and its term. */
export interface TransferResult {
  readonly nodeId: string;
  readonly term: number;
}

/**
 * One node's membership in a cluster and its candidacy for leadership: the seed's `LeaderElection`
 * interface, with Go's contexts as `AbortSignal`s and channels as `AsyncIterable`s.
 *
 * Getters (`isLeader`, `getNodes`, ...) answer from this node's current view and never wait.
 */
export interface LeaderElection extends AsyncDisposable {
  /** This node's id. */
  readonly nodeId: string;

  /** Whether this node may lead (`candidate`), only belongs (`member`) or only reads (`observer`). */
  readonly role: ElectionRole;

  /** How much of the cluster this node keeps: every member (`full`) or only the leader (`leader`). */
  readonly view: ViewKind;

  /** Typed events for monitoring: heartbeats, backend errors, resyncs, leader changes, liveness. */
  readonly telemetry: ElectionTelemetry;

  /**
   * Joins the cluster and starts campaigning in the background. Resolves once this node is a
   * registered member (not when it is elected: use {@link waitForLeadership} for that).
   * Aborting `signal` during start rejects with its reason and leaves nothing behind; aborting it
   * later stops the election, like `stop()`. Throws `AlreadyStartedError` if already started.
   */
  start(options?: SignalOptions): Promise<void>;

  /**
   * Resigns (if leader), leaves the cluster and ends every `watch()` / `leaderChanges()` iterator after
   * it has delivered what it holds. Idempotent; the election may be started again afterwards.
   *
   * Like {@link resign}, it first aborts the leadership signal and waits (at most `drainTimeout`) for
   * leader work to settle, holding leadership in the store meanwhile, so no successor starts while
   * that work still runs. Bounded: `drainTimeout` plus the backend's own request deadlines.
   */
  stop(): Promise<void>;

  /** Whether this node may act as leader right now. */
  isLeader(): boolean;

  /**
   * Whether this node can vouch for its own membership right now — what a health endpoint should
   * answer, for followers and leaders alike — and if not, why (one readable sentence). Not ok while
   * the election is not running, while the backend has not confirmed this node's heartbeats in time
   * (etcd: no lease granted yet, the lease lost, or the step-down deadline passed without a renewal;
   * memory: no heartbeat for `electionTimeout`, or its record removed), while its member record is
   * missing, and while the application health check fails. Computed when read: it turns false at
   * the deadline itself, before any timer runs. Changes are also reported by `telemetry.onLiveness`.
   */
  readonly liveness: Liveness;

  /**
   * The fencing token of this node's current leadership, or `undefined` when it is not leader.
   * Terms strictly increase with each new leadership in the cluster.
   */
  readonly term: number | undefined;

  /**
   * Aborts the moment this node may no longer act as leader (its reason is a `LeadershipLostError`).
   * While the node is not leader this is an already aborted signal, so work started on it stops at once.
   */
  readonly leadershipSignal: AbortSignal;

  /** The current leader as this node sees it, or `undefined` while there is none. */
  getLeader(): Node | undefined;

  /**
   * Leader, term and every member, as one consistent picture. With `view: 'leader'` the leader and
   * term are there, and reading `nodes` throws a `NarrowViewError` (that view has no member list).
   */
  getState(): ClusterState;

  /** Every member, sorted by id. Throws a `NarrowViewError` with `view: 'leader'`. */
  getNodes(): Node[];

  /** One member, or `undefined` if there is no such member. Throws a `NarrowViewError` with `view: 'leader'`. */
  getNode(nodeId: string): Node | undefined;

  /**
   * Adds a member on its behalf (an operator's `join`). Rejects with `ValidationError` for a bad id,
   * address or metadata and with `NodeExistsError` if the id is taken. Aborting `signal` rejects with
   * its reason (the write may still have happened).
   */
  registerNode(node: NodeRegistration, options?: SignalOptions): Promise<void>;

  /**
   * Removes a member (an operator's `leave`). Rejects with `NodeNotFoundError` for an unknown id.
   * Aborting `signal` rejects with its reason (the write may still have happened).
   */
  deregisterNode(nodeId: string, options?: SignalOptions): Promise<void>;

  /**
   * Every change to the cluster, in order, until `signal` aborts or the election stops. A consumer
   * that falls `watchBufferSize` changes behind gets what was buffered and then a `WatchOverflowError`
   * (nothing is dropped silently and memory stays bounded). With `view: 'leader'` only
   * `leader_elected` and `leader_lost` are delivered (that view has no members to report).
   */
  watch(options?: WatchOptions): AsyncIterable<ClusterStateChange>;

  /**
   * The leader, latest value first: yields the current leader (or `undefined` for "no leader") at
   * once, then each new one. A slow consumer may skip intermediate leaders but always ends up on the
   * current one. Ends when `signal` aborts or the election stops.
   */
  leaderChanges(options?: SignalOptions): AsyncIterable<Node | undefined>;

  /**
   * Resolves when this node is leader (at once if it is). Rejects with the signal's reason on abort, or
   * with `ElectionStoppedError` if the election is not running or stops while waiting. A node whose
   * `role` is `member` or `observer` never campaigns: it rejects at once with a `RoleError`.
   */
  waitForLeadership(options?: SignalOptions): Promise<Leadership>;

  /**
   * Gives up leadership: the leadership signal aborts at once (reason `resigned`); then the node waits
   * for leader work started through {@link runWhileLeader} or {@link lead} to settle, at most
   * `drainTimeout` (`telemetry.onDrain` tells how that ended), and only then releases leadership in
   * the store, so a successor never starts while that work still runs. The node stays a member and
   * campaigns again behind the other candidates. A no-op when not leader; concurrent calls share one
   * step-down.
   *
   * The drain protects graceful handovers only. A leadership that ends by itself (lease lost, step-down
   * deadline, superseded, unhealthy) has already been released and cannot wait; and on etcd a drain
   * ends early when the step-down deadline passes (etcd unreachable), because from then on a successor
   * may be elected anyway. Leader work that calls `resign()` or `stop()` itself is not waited for.
   * A `member` or an `observer` never leads, so for them it is always the no-op.
   */
  resign(): Promise<void>;

  /**
   * Hands leadership to `nodeId`, a healthy candidate, and resolves once it leads (seen in this
   * node's view, with a higher term). Like {@link resign} it steps down first — the leadership signal
   * aborts (reason `transferred`) and leader work drains — and only then lets the target take over,
   * so there is never more than one leader and the fencing of the old term ends with it. Resolves at
   * once with the current term when `nodeId` is this node.
   *
   * Rejects with `NotLeaderError` when this node does not lead, `ValidationError` for a bad argument,
   * and `TransferError` whose `reason` says why: `unknown_target`, `unhealthy_target`, `not_candidate`
   * or `in_progress` (nothing changed), `target_withdrew`, `timeout` or `interrupted` (this node has
   * stepped down already, unless a timeout came before the step-down: another candidate leads, or
   * will shortly). Aborting `signal` rejects with
   * its reason and ends the transfer: if this node had stepped down, it campaigns again behind the
   * others, like after `resign()`. See docs/leadership-control.md.
   */
  transferLeadership(nodeId: string, options?: TransferOptions): Promise<TransferResult>;

  /**
   * Waits for leadership, then runs `fn` once with the term and a signal that aborts when leadership
   * ends or `options.signal` aborts; resolves or rejects with what `fn` does. `fn` must stop acting as
   * leader when its signal aborts; until it settles, `resign()` and `stop()` hold leadership for it
   * (up to `drainTimeout`). Rejects with a `RoleError` on a `member` or an `observer`.
   */
  runWhileLeader<T>(fn: (leadership: Leadership) => Promise<T> | T, options?: SignalOptions): Promise<T>;

  /**
   * Runs `work` for every leadership of this node, until `options.signal` aborts or the election
   * stops: the loop a leader-only service wants, which never crashes on a normal leadership change.
   *
   * - Each time this node becomes leader, `work` is called once with the term and a signal that
   *   aborts when that leadership ends or `options.signal` aborts. If it returns while still leader
   *   (what it returns is ignored), the leadership is held until it ends: `work` is never called twice
   *   in one term.
   * - Whatever `work` throws once its signal has aborted (an `AbortError`, a `LeadershipLostError`, a
   *   `FencedWriteError`, ...) ends that round quietly, and the loop waits for the next leadership.
   * - An error thrown while still leader is a failure: `telemetry.onLeaderWorkError` fires, the node
   *   resigns (so a candidate whose work runs takes over; the drain applies) and `lead()` rejects with a
   *   `LeaderWorkError` whose `cause` is the error. To keep going after a failure, call `lead()` again
   *   (after a pause of your choosing: a lone candidate is elected again at once).
   * - Resolves when `options.signal` aborts (the current work is aborted; the node keeps its
   *   leadership: call `resign()` or `stop()` for that) or when the election stops.
   *
   * Work runs like {@link runWhileLeader}'s, so `resign()` and `stop()` drain it. Call it after
   * `start()` (it may be called while `start()` is in progress); before, it rejects with
   * `ElectionStoppedError`, as a loop that nobody starts would wait forever.
   *
   * A method of the contract rather than a free function: its failures are the election's telemetry,
   * its work is the election's to drain, and the conformance suite holds every backend to it.
   * Rejects with a `RoleError` on a `member` or an `observer`.
   */
  lead(work: (leadership: Leadership) => unknown, options?: SignalOptions): Promise<void>;
}
