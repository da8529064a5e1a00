import { Broadcast } from './broadcast.ts';
import { type ClusterReader, type ClusterSnapshot, ClusterView } from './cluster-view.ts';
import type { ResolvedConfig } from './config.ts';
import type { LeaderElection, SignalOptions, WatchOptions } from './election.ts';
import { AlreadyStartedError, ElectionStoppedError, type LeadershipLossReason } from './errors.ts';
import { type ElectionTelemetry, EventEmitter, type LeadershipEvent } from './events.ts';
import { runHealthCheck } from './health.ts';
import { LeadershipTracker } from './leadership.ts';
import type { ClusterState, ClusterStateChange, Leadership, Node, NodeRegistration } from './types.ts';

type Lifecycle = 'idle' | 'starting' | 'running' | 'stopping';

/**
 * What every backend shares: the lifecycle, this node's view of the cluster, change fan-out, the
 * leader stream, local leadership and the application health check. A backend implements how to
 * join, leave and campaign in its store, and reports what it sees through {@link publishSnapshot}
 * (or, when it computes the changes itself, {@link publishChanges}) and {@link setLeadership}.
 */
export abstract class BaseElection implements LeaderElection {
  protected readonly config: ResolvedConfig;
  readonly #view: ClusterReader;
  readonly #changes: Broadcast<ClusterStateChange>;
  readonly #leaders: Broadcast<Node | undefined>;
  readonly #leadership: LeadershipTracker;
  #healthy = true;
  /** Backends fire these; `telemetry` exposes them. */
  protected readonly heartbeats = new EventEmitter<{ latencySeconds: number; ok: boolean }>();
  protected readonly backendErrors = new EventEmitter<{ kind: string; error: Error }>();
  protected readonly resyncs = new EventEmitter<void>();
  readonly #leadershipEvents = new EventEmitter<LeadershipEvent>();
  readonly telemetry: ElectionTelemetry = {
    onLeadership: this.#leadershipEvents.event,
    onHeartbeat: this.heartbeats.event,
    onBackendError: this.backendErrors.event,
    onResync: this.resyncs.event,
  };
  #lifecycle: Lifecycle = 'idle';
  #stopping: Promise<void> | undefined;
  #detachStartSignal: (() => void) | undefined;

  /**
   * `view` is what the getters and new watchers read: by default a view of this election's own,
   * which {@link publishSnapshot} keeps; a backend that shares one view between elections passes
   * its own reader and calls {@link publishChanges}.
   */
  protected constructor(config: ResolvedConfig, view: ClusterReader = new ClusterView()) {
    this.config = config;
    this.#view = view;
    const onActiveChange = () => this.onWatchedChange(this.watched);
    this.#changes = new Broadcast({ bufferSize: config.watchBufferSize, overflow: 'error', onActiveChange });
    this.#leaders = new Broadcast({ bufferSize: 1, overflow: 'keep-latest', onActiveChange });
    this.#leadership = new LeadershipTracker(config.nodeId, (event) => this.#leadershipEvents.fire(event));
  }

  /** This election's picture of the cluster. */
  protected get view(): ClusterReader {
    return this.#view;
  }

  /** Whether anyone follows this election's changes (`watch()` or `leaderChanges()`). */
  protected get watched(): boolean {
    return this.#changes.active || this.#leaders.active;
  }

  /**
   * Called when {@link watched} may have changed: a backend that computes changes per election can
   * skip that work while nobody reads them.
   */
  protected onWatchedChange(_watched: boolean): void {}

  /** Whether the application health check passed when last run (true when there is none). */
  protected get healthy(): boolean {
    return this.#healthy;
  }

  /** Runs the application health check (if any) with a heartbeat's deadline and remembers its verdict. */
  protected async checkHealth(): Promise<boolean> {
    const check = this.config.healthCheck;
    if (check) this.#healthy = await runHealthCheck(check, this.config.heartbeatInterval, this.config.clock);
    return this.#healthy;
  }

  /** Joins the store and begins campaigning; resolves once this node is a member. */
  protected abstract onStart(signal: AbortSignal | undefined): Promise<void>;
  /** Resigns and leaves the store; must not throw (log or swallow what cannot be undone). */
  protected abstract onStop(): Promise<void>;
  /** Gives up leadership in the store, keeping membership and candidacy. */
  protected abstract onResign(): Promise<void>;
  abstract registerNode(node: NodeRegistration, options?: SignalOptions): Promise<void>;
  abstract deregisterNode(nodeId: string, options?: SignalOptions): Promise<void>;

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

  get term(): number | undefined {
    return this.#leadership.term;
  }

  get leadershipSignal(): AbortSignal {
    return this.#leadership.signal;
  }

  getLeader(): Node | undefined {
    return this.#view.leader;
  }

  getState(): ClusterState {
    return this.#view.state;
  }

  getNodes(): Node[] {
    return this.#view.nodes();
  }

  getNode(nodeId: string): Node | undefined {
    return this.#view.getNode(nodeId);
  }

  watch(options: WatchOptions = {}): AsyncIterable<ClusterStateChange> {
    const initial = options.includeExisting ? this.#view.currentAsChanges(this.config.clock.wallNow()) : [];
    return this.#changes.subscribe({ signal: options.signal, initial });
  }

  leaderChanges(options: SignalOptions = {}): AsyncIterable<Node | undefined> {
    return this.#leaders.subscribe({ signal: options.signal, initial: [this.#view.leader] });
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
      this.#view.reset();
      this.#healthy = true;
      this.#lifecycle = 'idle';
      this.#stopping = undefined;
    }
  }

  /**
   * Backends that keep a view of their own (the default) call this with each new picture of the
   * store. Turns it into ordered changes for every watcher and a new value for `leaderChanges()`
   * when the leader or term moved.
   */
  protected publishSnapshot(snapshot: ClusterSnapshot): void {
    if (!(this.#view instanceof ClusterView))
      throw new TypeError('publishSnapshot() needs the election’s own ClusterView');
    this.publishChanges(this.#view.apply(snapshot, this.config.clock.wallNow()));
  }

  /**
   * Delivers changes the backend computed (in the documented order) to every watcher, and the
   * leader to `leaderChanges()` when they include a leadership change. The view must already show
   * what they lead to.
   */
  protected publishChanges(changes: readonly ClusterStateChange[]): void {
    this.#changes.publishAll(changes);
    if (changes.some((change) => change.type === 'leader_elected' || change.type === 'leader_lost'))
      this.#leaders.publish(this.#view.leader);
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
