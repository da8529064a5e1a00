import { Broadcast } from './broadcast.ts';
import { type ClusterDelta, type ClusterSnapshot, ClusterView } from './cluster-view.ts';
import type { HealthVerdict, ResolvedConfig } from './config.ts';
import type { LeaderElection, SignalOptions, WatchOptions } from './election.ts';
import { AlreadyStartedError, ElectionStoppedError, type LeadershipLossReason } from './errors.ts';
import {
  type BackendErrorKind,
  type ElectionTelemetry,
  EventEmitter,
  type HeartbeatEvent,
  type LeaderChangeEvent,
  type LeadershipEvent,
} from './events.ts';
import { runHealthCheck } from './health.ts';
import { LeadershipTracker } from './leadership.ts';
import { LIVE, type Liveness, notLive } from './liveness.ts';
import type { ClusterState, ClusterStateChange, Leadership, Node, NodeRegistration } from './types.ts';

type Lifecycle = 'idle' | 'starting' | 'running' | 'stopping';

/**
 * What every backend shares: the lifecycle, this node's view of the cluster, change fan-out, the
 * leader stream and local leadership. A backend implements how to join, leave and campaign in its
 * store, and reports what it sees through {@link publishSnapshot} and {@link setLeadership}.
 */
export abstract class BaseElection implements LeaderElection {
  protected readonly config: ResolvedConfig;
  protected readonly view = new ClusterView();
  readonly #changes: Broadcast<ClusterStateChange>;
  readonly #leaders = new Broadcast<Node | undefined>({ bufferSize: 1, overflow: 'keep-latest' });
  readonly #leadership: LeadershipTracker;
  /** Backends fire these; `telemetry` exposes them. */
  protected readonly heartbeats = new EventEmitter<HeartbeatEvent>();
  protected readonly backendErrors = new EventEmitter<{ kind: BackendErrorKind; error: Error }>();
  protected readonly resyncs = new EventEmitter<void>();
  readonly #leadershipEvents = new EventEmitter<LeadershipEvent>();
  readonly #leaderChanges = new EventEmitter<LeaderChangeEvent>();
  readonly #livenessChanges = new EventEmitter<Liveness>();
  readonly telemetry: ElectionTelemetry = {
    onLeadership: this.#leadershipEvents.event,
    onHeartbeat: this.heartbeats.event,
    onBackendError: this.backendErrors.event,
    onResync: this.resyncs.event,
    onLeaderChange: this.#leaderChanges.event,
    onLiveness: this.#livenessChanges.event,
  };
  #lifecycle: Lifecycle = 'idle';
  #health: HealthVerdict = { healthy: true };
  #reportedLiveness: Liveness | undefined;
  #stopping: Promise<void> | undefined;
  #detachStartSignal: (() => void) | undefined;

  protected constructor(config: ResolvedConfig) {
    this.config = config;
    this.#changes = new Broadcast({ bufferSize: config.watchBufferSize, overflow: 'error' });
    this.#leadership = new LeadershipTracker(config.nodeId, (event) => this.#leadershipEvents.fire(event));
  }

  /** Joins the store and begins campaigning; resolves once this node is a member. */
  protected abstract onStart(signal: AbortSignal | undefined): Promise<void>;
  /** Resigns and leaves the store; must not throw (log or swallow what cannot be undone). */
  protected abstract onStop(): Promise<void>;
  /** Gives up leadership in the store, keeping membership and candidacy. */
  protected abstract onResign(): Promise<void>;
  /**
   * Whether the store has confirmed this node's membership in time (lease or heartbeats, member
   * record), asked only while running; the health check and the lifecycle are handled here. Call
   * {@link livenessMayHaveChanged} whenever what it answers may have changed.
   */
  protected abstract backendLiveness(): Liveness;
  abstract registerNode(node: NodeRegistration): Promise<void>;
  abstract deregisterNode(nodeId: string): Promise<void>;

  get nodeId(): string {
    return this.config.nodeId;
  }

  /** Whether `start()` has completed and `stop()` has not begun. */
  protected get running(): boolean {
    return this.#lifecycle === 'running' || this.#lifecycle === 'starting';
  }

  isLeader(): boolean {
    return this.#leadership.isLeader;
  }

  get liveness(): Liveness {
    if (this.#lifecycle === 'idle') return notLive('the election is not running');
    if (this.#lifecycle === 'stopping') return notLive('the election is stopping');
    const backend = this.backendLiveness();
    if (!backend.ok) return backend;
    if (!this.#health.healthy) return notLive(`the health check fails: ${this.#health.reason}`);
    return LIVE;
  }

  /** Whether the application health check passed when last run (true when there is none). */
  protected get healthy(): boolean {
    return this.#health.healthy;
  }

  /**
   * Runs the application health check (if any) with a heartbeat's deadline and remembers its
   * verdict, reason included, for {@link liveness}.
   */
  protected async checkHealth(): Promise<boolean> {
    const check = this.config.healthCheck;
    if (!check) return true;
    this.#health = await runHealthCheck(check, this.config.heartbeatInterval, this.config.clock);
    this.livenessMayHaveChanged();
    return this.#health.healthy;
  }

  /**
   * Fires `telemetry.onLiveness` if {@link liveness} differs from what it last reported. Quiet while
   * starting: what passes then (no lease yet, ...) is the start itself, which succeeds or throws.
   */
  protected livenessMayHaveChanged(): void {
    if (this.#lifecycle === 'starting') return;
    const now = this.liveness;
    const before = this.#reportedLiveness;
    if (before && before.ok === now.ok && before.reason === now.reason) return;
    this.#reportedLiveness = now;
    this.#livenessChanges.fire(now);
  }

  get term(): number | undefined {
    return this.#leadership.term;
  }

  get leadershipSignal(): AbortSignal {
    return this.#leadership.signal;
  }

  getLeader(): Node | undefined {
    return this.view.leader;
  }

  getState(): ClusterState {
    return this.view.state;
  }

  getNodes(): Node[] {
    return this.view.nodes();
  }

  getNode(nodeId: string): Node | undefined {
    return this.view.getNode(nodeId);
  }

  watch(options: WatchOptions = {}): AsyncIterable<ClusterStateChange> {
    const initial = options.includeExisting ? this.view.currentAsChanges(this.config.clock.wallNow()) : [];
    return this.#changes.subscribe({ signal: options.signal, initial });
  }

  leaderChanges(options: SignalOptions = {}): AsyncIterable<Node | undefined> {
    return this.#leaders.subscribe({ signal: options.signal, initial: [this.view.leader] });
  }

  waitForLeadership(options: SignalOptions = {}): Promise<Leadership> {
    if (!this.running) {
      return Promise.reject(
        new ElectionStoppedError(this.nodeId, 'call start() before waiting for leadership'),
      );
    }
    return this.#leadership.waitFor(options.signal);
  }

  async runWhileLeader<T>(
    fn: (leadership: Leadership) => Promise<T> | T,
    options: SignalOptions = {},
  ): Promise<T> {
    const leadership = await this.waitForLeadership(options);
    const signal = options.signal ? AbortSignal.any([leadership.signal, options.signal]) : leadership.signal;
    return fn({ term: leadership.term, signal });
  }

  async resign(): Promise<void> {
    if (!this.#leadership.isLeader) return;
    // Local first: the application must stop acting as leader before anyone else can be elected.
    this.#leadership.lose('resigned');
    await this.onResign();
  }

  async start(options: SignalOptions = {}): Promise<void> {
    if (this.#lifecycle !== 'idle') throw new AlreadyStartedError(this.nodeId);
    const { signal } = options;
    signal?.throwIfAborted();
    this.#lifecycle = 'starting';
    try {
      await this.onStart(signal);
      signal?.throwIfAborted();
    } catch (error) {
      await this.#shutdown();
      throw error;
    }
    this.#lifecycle = 'running';
    this.livenessMayHaveChanged();
    if (signal) {
      const onAbort = () => void this.stop();
      signal.addEventListener('abort', onAbort, { once: true });
      this.#detachStartSignal = () => signal.removeEventListener('abort', onAbort);
    }
  }

  stop(): Promise<void> {
    if (this.#lifecycle === 'idle') return Promise.resolve();
    this.#stopping ??= this.#shutdown();
    return this.#stopping;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  async #shutdown(): Promise<void> {
    this.#lifecycle = 'stopping';
    this.livenessMayHaveChanged();
    this.#detachStartSignal?.();
    this.#detachStartSignal = undefined;
    this.#leadership.lose('stopped');
    this.#leadership.rejectWaiters('the election stopped');
    try {
      await this.onStop();
    } finally {
      // Watchers first get what the departure produced (leader_lost, node_left), then their end.
      this.#changes.close();
      this.#leaders.close();
      this.view.reset();
      this.#lifecycle = 'idle';
      this.#stopping = undefined;
      this.#health = { healthy: true };
      this.livenessMayHaveChanged();
    }
  }

  /**
   * Backends call this with each new picture of the store. Turns it into ordered changes for every
   * watcher and a new value for `leaderChanges()` when the leader or term moved.
   */
  protected publishSnapshot(snapshot: ClusterSnapshot): void {
    this.#publish(() => this.view.apply(snapshot, this.config.clock.wallNow()));
  }

  /** Like {@link publishSnapshot}, for backends that know exactly what changed (cheaper for big clusters). */
  protected publishDelta(delta: ClusterDelta): void {
    this.#publish(() => this.view.update(delta, this.config.clock.wallNow()));
  }

  #publish(applyToView: () => ClusterStateChange[]): void {
    const leaderBefore = this.view.leader;
    const termBefore = this.view.term;
    for (const change of applyToView()) this.#changes.publish(change);
    if (this.view.leader?.id !== leaderBefore?.id || this.view.term !== termBefore) {
      this.#leaders.publish(this.view.leader);
      this.#leaderChanges.fire({ leader: this.view.leader, term: this.view.term });
    }
  }

  /**
   * This node's own leadership: `term` when it leads, `undefined` (with the reason) when it does not.
   * Separate from snapshots because a backend may have to step down before its store says so.
   */
  protected setLeadership(term: number | undefined, lossReason: LeadershipLossReason = 'superseded'): void {
    if (term === undefined) this.#leadership.lose(lossReason);
    else if (this.running) this.#leadership.gain(term);
  }
}
