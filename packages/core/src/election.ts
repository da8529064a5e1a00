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

/**
 * One node's membership in a cluster and its candidacy for leadership: the seed's `LeaderElection`
 * interface, with Go's contexts as `AbortSignal`s and channels as `AsyncIterable`s.
 *
 * Getters (`isLeader`, `getNodes`, ...) answer from this node's current view and never wait.
 */
export interface LeaderElection extends AsyncDisposable {
  /** This node's id. */
  readonly nodeId: string;

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

  /** Leader, term and every member, as one consistent picture. */
  getState(): ClusterState;

  /** Every member, sorted by id. */
  getNodes(): Node[];

  /** One member, or `undefined` if there is no such member. */
  getNode(nodeId: string): Node | undefined;

  /**
   * Adds a member on its behalf (an operator's `join`). Rejects with `ValidationError` for a bad id,
   * address or metadata and with `NodeExistsError` if the id is taken.
   */
  registerNode(node: NodeRegistration): Promise<void>;

  /** Removes a member (an operator's `leave`). Rejects with `NodeNotFoundError` for an unknown id. */
  deregisterNode(nodeId: string): Promise<void>;

  /**
   * Every change to the cluster, in order, until `signal` aborts or the election stops. A consumer
   * that falls `watchBufferSize` changes behind gets what was buffered and then a `WatchOverflowError`
   * (nothing is dropped silently and memory stays bounded).
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
   * with `ElectionStoppedError` if the election is not running or stops while waiting.
   */
  waitForLeadership(options?: SignalOptions): Promise<Leadership>;

  /**
   * Gives up leadership now (the leadership signal aborts with reason `resigned`). The node stays a
   * member and campaigns again behind the other candidates. A no-op when not leader.
   */
  resign(): Promise<void>;

  /**
   * Waits for leadership, then runs `fn` once with the term and a signal that aborts when leadership
   * ends or `options.signal` aborts; resolves or rejects with what `fn` does. `fn` must stop acting as
   * leader when its signal aborts.
   */
  runWhileLeader<T>(fn: (leadership: Leadership) => Promise<T> | T, options?: SignalOptions): Promise<T>;
}
