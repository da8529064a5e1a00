import { Broadcast } from './broadcast.ts';
import { type ClusterReader, type ClusterSnapshot, ClusterView } from './cluster-view.ts';
import {
  describeValue,
  type ElectionRole,
  type HealthVerdict,
  type ResolvedConfig,
  type ViewKind,
} from './config.ts';
import type {
  LeaderElection,
  SignalOptions,
  TransferOptions,
  TransferResult,
  WatchOptions,
} from './election.ts';
import { attachLogger, type LeaseLoss } from './election-log.ts';
import {
  AlreadyStartedError,
  ElectionStoppedError,
  type LeadershipLossReason,
  NarrowViewError,
  NotLeaderError,
  RoleError,
  TransferError,
  ValidationError,
} from './errors.ts';
import {
  type BackendErrorKind,
  type DrainEvent,
  type ElectionTelemetry,
  EventEmitter,
  type HeartbeatEvent,
  type LeaderChangeEvent,
  type LeadershipEvent,
  type LeaderWorkErrorEvent,
  type TransferEvent,
} from './events.ts';
import { runHealthCheck } from './health.ts';
import { leadEveryTerm } from './lead.ts';
import { LeaderWork } from './leader-work.ts';
import { LeadershipTracker } from './leadership.ts';
import { LIVE, type Liveness, notLive } from './liveness.ts';
import { type PriorityCandidate, preferredSuccessor } from './priority.ts';
import type { ClusterState, ClusterStateChange, Leadership, Node, NodeRegistration } from './types.ts';
import { validateNodeId } from './validation.ts';

const isLeaderChange = (change: ClusterStateChange): boolean =>
  change.type === 'leader_elected' || change.type === 'leader_lost';

type Lifecycle = 'idle' | 'starting' | 'running' | 'stopping';

/** A transfer the backend is asked to carry out (see {@link BaseElection.onTransfer}). */
export interface TransferRequest {
  /** A valid node id other than this node's. */
  readonly target: string;
  /** The term being handed over: this node led with it when the transfer was asked for. */
  readonly term: number;
  /**
   * Aborts when the transfer must end (its timeout, or the caller's signal); the caller has been
   * told already. The backend then stops waiting and leaves a valid election behind.
   */
  readonly signal: AbortSignal;
}

/**
 * What every backend shares: the lifecycle, this node's view of the cluster, change fan-out, the
 * leader stream, local leadership, the application health check and the leader work started through
 * it. A backend implements how to join, leave and campaign in its store, and reports what it sees
 * through {@link publishSnapshot} (or, when it computes the changes itself, {@link publishChanges})
 * and {@link setLeadership}.
 *
 * A graceful step-down (`resign()`, `stop()`) goes in this order: the leadership signal aborts, the
 * leader work drains (at most `drainTimeout`; {@link draining} is true meanwhile and the backend keeps
 * holding leadership in its store), and only then `onResign` / `onStop` release it.
 */
export abstract class BaseElection implements LeaderElection {
  protected readonly config: ResolvedConfig;
  readonly #view: ClusterReader;
  readonly #changes: Broadcast<ClusterStateChange>;
  readonly #leaders: Broadcast<Node | undefined>;
  readonly #leadership: LeadershipTracker;
  /** Backends fire these; `telemetry` exposes them. */
  protected readonly heartbeats = new EventEmitter<HeartbeatEvent>();
  protected readonly backendErrors = new EventEmitter<{ kind: BackendErrorKind; error: Error }>();
  protected readonly resyncs = new EventEmitter<void>();
  readonly #leadershipEvents = new EventEmitter<LeadershipEvent>();
  readonly #leaderChanges = new EventEmitter<LeaderChangeEvent>({
    onActiveChange: () => this.onWatchedChange(this.watched),
  });
  readonly #livenessChanges = new EventEmitter<Liveness>();
  readonly #drains = new EventEmitter<DrainEvent>();
  readonly #workErrors = new EventEmitter<LeaderWorkErrorEvent>();
  readonly #leaseLosses = new EventEmitter<LeaseLoss>();
  readonly #transfers = new EventEmitter<TransferEvent>();
  readonly telemetry: ElectionTelemetry = {
    onLeadership: this.#leadershipEvents.event,
    onHeartbeat: this.heartbeats.event,
    onBackendError: this.backendErrors.event,
    onResync: this.resyncs.event,
    onLeaderChange: this.#leaderChanges.event,
    onLiveness: this.#livenessChanges.event,
    onDrain: this.#drains.event,
    onLeaderWorkError: this.#workErrors.event,
    onTransfer: this.#transfers.event,
  };
  #lifecycle: Lifecycle = 'idle';
  #health: HealthVerdict = { healthy: true };
  #reportedLiveness: Liveness | undefined;
  #stopping: Promise<void> | undefined;
  #detachStartSignal: (() => void) | undefined;
  readonly #work = new LeaderWork();
  /** A resign() in progress. */
  #resigning: Promise<void> | undefined;
  /** The drain of a resign() in progress: stop() must not release the campaign key under it. */
  #resignDrain: Promise<void> | undefined;
  /** Set while a step-down waits for leader work; the backend aborts it when waiting became unsafe. */
  #drainInterrupt: AbortController | undefined;
  /** A transfer of this node's leadership in progress (asked for, or moved by a priority). */
  #transferring: Promise<TransferResult> | undefined;
  /** When the current leadership began (monotonic ms): priorities hold it for `minLeadership`. */
  #leadingSinceMs = 0;
  #priorityTimer: unknown;

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
    if (config.logger) {
      attachLogger(this.telemetry, config.logger, {
        bindings: () => ({ nodeId: config.nodeId, ...this.logBindings() }),
        quiet: () => this.#lifecycle !== 'running',
        onLeaseLost: this.#leaseLosses.event,
      });
    }
  }

  /**
   * Backends call this when the store no longer knows this node's lease (etcd: a keepalive or a
   * write answered "lease not found"; in memory: the record was removed), however they found out.
   */
  protected leaseLost(loss: LeaseLoss = {}): void {
    this.#leaseLosses.fire(loss);
  }

  /**
   * What the `logger` option's child is bound to besides `nodeId` (etcd: the key prefix). Asked
   * once, at the first logged event, when the backend is fully constructed.
   */
  protected logBindings(): Record<string, unknown> {
    return {};
  }

  /** This election's picture of the cluster. */
  protected get picture(): ClusterReader {
    return this.#view;
  }

  /**
   * Whether anyone follows this election's changes: `watch()`, `leaderChanges()` or
   * `telemetry.onLeaderChange`.
   */
  protected get watched(): boolean {
    return this.#changes.active || this.#leaders.active || this.#leaderChanges.active;
  }

  /**
   * Called when {@link watched} may have changed: a backend that computes changes per election can
   * skip that work while nobody follows them.
   */
  protected onWatchedChange(_watched: boolean): void {}

  /** Joins the store and begins campaigning; resolves once this node is a member. */
  protected abstract onStart(signal: AbortSignal | undefined): Promise<void>;
  /** Resigns and leaves the store; must not throw (log or swallow what cannot be undone). */
  protected abstract onStop(): Promise<void>;
  /** Gives up leadership in the store, keeping membership and candidacy. Called after the drain. */
  protected abstract onResign(): Promise<void>;
  /**
   * Whether the store has confirmed this node's membership in time (lease or heartbeats, member
   * record), asked only while running; the health check and the lifecycle are handled here. Call
   * {@link livenessMayHaveChanged} whenever what it answers may have changed.
   */
  protected abstract backendLiveness(): Liveness;
  abstract registerNode(node: NodeRegistration, options?: SignalOptions): Promise<void>;
  abstract deregisterNode(nodeId: string, options?: SignalOptions): Promise<void>;

  get nodeId(): string {
    return this.config.nodeId;
  }

  get role(): ElectionRole {
    return this.config.role;
  }

  get view(): ViewKind {
    return this.config.view;
  }

  /** Whether `start()` has completed and `stop()` has not begun. */
  protected get running(): boolean {
    return this.#lifecycle === 'running' || this.#lifecycle === 'starting';
  }

  /**
   * Whether a step-down is waiting for leader work. The backend must keep holding leadership in its
   * store meanwhile (etcd: keep the lease alive), also once `running` turned false in `stop()`.
   */
  protected get draining(): boolean {
    return this.#drainInterrupt !== undefined;
  }

  /**
   * Ends a drain in progress: waiting longer could no longer keep a successor out (etcd: the
   * step-down deadline passed, or the lease is gone).
   */
  protected interruptDrain(reason: 'deadline' | 'lease_lost'): void {
    this.#drainInterrupt?.abort(reason);
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
    return this.#view.leader;
  }

  getState(): ClusterState {
    const state = this.#view.state;
    if (this.config.view === 'full') return state;
    const nodeId = this.nodeId;
    return Object.freeze({
      leader: state.leader,
      term: state.term,
      get nodes(): readonly Node[] {
        throw new NarrowViewError(nodeId, 'getState().nodes');
      },
    });
  }

  getNodes(): Node[] {
    this.#requireFullView('getNodes()');
    return this.#view.nodes();
  }

  getNode(nodeId: string): Node | undefined {
    this.#requireFullView('getNode()');
    return this.#view.getNode(nodeId);
  }

  #requireFullView(operation: string): void {
    if (this.config.view !== 'full') throw new NarrowViewError(this.nodeId, operation);
  }

  watch(options: WatchOptions = {}): AsyncIterable<ClusterStateChange> {
    const initial = options.includeExisting
      ? this.#shownOfView(this.#view.currentAsChanges(this.config.clock.wallNow()))
      : [];
    return this.#changes.subscribe({ signal: options.signal, initial });
  }

  /** What watchers may see of `changes`: a narrow view has no members, only its leader. */
  #shownOfView(changes: readonly ClusterStateChange[]): readonly ClusterStateChange[] {
    return this.config.view === 'full' ? changes : changes.filter(isLeaderChange);
  }

  /** A member or an observer never campaigns: waiting for its leadership would wait forever. */
  #requireCandidate(operation: string): void {
    if (this.config.role !== 'candidate') throw new RoleError(this.nodeId, this.config.role, operation);
  }

  leaderChanges(options: SignalOptions = {}): AsyncIterable<Node | undefined> {
    return this.#leaders.subscribe({ signal: options.signal, initial: [this.#view.leader] });
  }

  waitForLeadership(options: SignalOptions = {}): Promise<Leadership> {
    try {
      this.#requireCandidate('waitForLeadership()');
    } catch (error) {
      return Promise.reject(error);
    }
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
    if (typeof fn !== 'function') {
      throw new ValidationError('fn', `must be a function of the leadership (got ${describeValue(fn)})`);
    }
    this.#requireCandidate('runWhileLeader()');
    for (;;) {
      const leadership = await this.waitForLeadership(options);
      // It may have ended between being granted and now: work started on an ended leadership would
      // escape the drain, so wait for the next one.
      if (leadership.signal.aborted) continue;
      const signal = options.signal
        ? AbortSignal.any([leadership.signal, options.signal])
        : leadership.signal;
      return this.#work.run(() => fn({ term: leadership.term, signal }));
    }
  }

  lead(work: (leadership: Leadership) => unknown, options: SignalOptions = {}): Promise<void> {
    if (typeof work !== 'function') {
      return Promise.reject(
        new ValidationError('work', `must be a function of the leadership (got ${describeValue(work)})`),
      );
    }
    if (this.config.role !== 'candidate') {
      return Promise.reject(new RoleError(this.nodeId, this.config.role, 'lead()'));
    }
    if (!this.running) {
      return Promise.reject(new ElectionStoppedError(this.nodeId, 'call start() before lead()'));
    }
    return leadEveryTerm(this, work, {
      signal: options.signal,
      onWorkError: (event) => this.#workErrors.fire(event),
    });
  }

  resign(): Promise<void> {
    this.#resigning ??= this.#resign().finally(() => {
      this.#resigning = undefined;
    });
    return this.#resigning;
  }

  async transferLeadership(nodeId: string, options: TransferOptions = {}): Promise<TransferResult> {
    return this.#transfer(nodeId, options, false);
  }

  /**
   * For a backend that learns of a transfer asked for elsewhere (an operator's request in the
   * store): carries it out as {@link transferLeadership} would, reported as asked for.
   */
  protected requestTransfer(nodeId: string, timeoutMs: number | undefined): Promise<TransferResult> {
    return this.#transfer(nodeId, timeoutMs === undefined ? {} : { timeoutMs }, false);
  }

  async #transfer(nodeId: string, options: TransferOptions, automatic: boolean): Promise<TransferResult> {
    const target = validateNodeId(nodeId, 'nodeId');
    const timeoutMs = transferTimeout(options.timeoutMs, this.config);
    options.signal?.throwIfAborted();
    if (!this.running)
      throw new ElectionStoppedError(this.nodeId, 'call start() before transferring leadership');
    // The target's record and health decide whether it may take over: a narrow view has neither.
    if (this.view !== 'full') throw new NarrowViewError(this.nodeId, 'transferLeadership()');
    if (this.#transferring) throw new TransferError(target, 'in_progress');
    const term = this.term;
    if (!this.isLeader() || term === undefined)
      throw new NotLeaderError(this.nodeId, `transfer leadership to ${JSON.stringify(target)}`);
    if (target === this.nodeId) return { nodeId: target, term };
    const transfer = this.#raced(target, timeoutMs, options.signal, (signal) =>
      this.onTransfer({ target, term, signal }),
    );
    this.#transferring = transfer;
    try {
      const result = await transfer;
      this.#transfers.fire({ target, term, automatic, successorTerm: result.term });
      return result;
    } catch (error) {
      this.#transfers.fire({ target, term, automatic, error: error as Error });
      throw error;
    } finally {
      this.#transferring = undefined;
      this.reviewPriorities();
    }
  }

  /**
   * Runs `work` with a signal that aborts on the timeout (a `TransferError` "timeout") or when the
   * caller's signal does; the caller hears of either at once, while `work` winds down on its own
   * (it must observe the signal, and leave the election valid whatever point it was at).
   */
  async #raced<T>(
    target: string,
    timeoutMs: number,
    callerSignal: AbortSignal | undefined,
    work: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const ending = new AbortController();
    const clock = this.config.clock;
    const timer = clock.setTimeout(
      () => ending.abort(new TransferError(target, 'timeout', `not within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onAbort = () => ending.abort(callerSignal?.reason);
    callerSignal?.addEventListener('abort', onAbort, { once: true });
    const working = work(ending.signal);
    const ended = new Promise<never>((_, reject) => {
      ending.signal.addEventListener('abort', () => reject(ending.signal.reason), { once: true });
    });
    // Whichever loses the race below is nobody's news.
    working.catch(() => {});
    ended.catch(() => {});
    try {
      return await Promise.race([working, ended]);
    } finally {
      clock.clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Steps down for a transfer, as `resign()` does before it releases: the leadership signal aborts
   * (reason `transferred`) and leader work drains. The backend keeps holding leadership in its store
   * meanwhile and lets the target take over afterwards. Returns false if this node did not lead.
   */
  protected stepDownForTransfer(): Promise<boolean> {
    return this.#stepDown('transferred');
  }

  /**
   * Hands leadership to `request.target` (this node leads with `request.term`); resolves once the
   * target leads. Backends validate the target, call {@link stepDownForTransfer}, hold leadership
   * in the store until the target can take it, and on any failure release it (the node campaigns
   * again, behind the others).
   */
  protected abstract onTransfer(request: TransferRequest): Promise<TransferResult>;

  /**
   * The candidates the priority rule considers, besides this node: campaigning now, with their
   * priorities and since when each has been healthy. None by default.
   */
  protected priorityCandidates(): Iterable<PriorityCandidate> {
    return [];
  }

  /**
   * Applies the priority rule (see priority.ts): while this node leads, hands leadership to the best
   * qualified higher-priority candidate, or looks again when one may qualify. Backends call it when
   * the candidates or this node's leadership may have changed.
   */
  protected reviewPriorities(): void {
    const clock = this.config.clock;
    clock.clearTimeout(this.#priorityTimer);
    this.#priorityTimer = undefined;
    if (this.#lifecycle !== 'running' || this.#transferring || this.#resigning || !this.isLeader()) return;
    const nowMs = clock.monotonicNow();
    const preference = preferredSuccessor(
      { priority: this.config.priority, sinceMs: this.#leadingSinceMs },
      this.priorityCandidates(),
      this.config,
      nowMs,
    );
    if (preference.kind === 'wait') {
      this.#priorityTimer = clock.setTimeout(() => this.reviewPriorities(), preference.atMs - nowMs);
    } else if (preference.kind === 'transfer') {
      // Its outcome is reported by telemetry.onTransfer (and logged); a failed one is not retried
      // before the next leadership has been held for minLeadership.
      this.#transfer(preference.target.id, {}, true).catch(() => {});
    }
  }

  async #resign(): Promise<void> {
    if (await this.#stepDown('resigned')) await this.onResign();
  }

  /** Local first: the application stops acting as leader, and its work drains, before anyone else can lead. */
  async #stepDown(reason: 'resigned' | 'transferred'): Promise<boolean> {
    // isLeader(), not the tracker: a backend may find the leadership already expired (nothing to drain).
    if (!this.isLeader()) return false;
    const term = this.#leadership.lose(reason) as number;
    // stop() waits for this drain too before it releases leadership.
    this.#resignDrain = this.#drain(term);
    try {
      await this.#resignDrain;
    } finally {
      this.#resignDrain = undefined;
    }
    return true;
  }

  /** Waits (at most `drainTimeout`) for leader work still running after its signal aborted. */
  async #drain(term: number): Promise<void> {
    if (this.#work.pending === 0) return;
    const interrupt = new AbortController();
    this.#drainInterrupt = interrupt;
    const clock = this.config.clock;
    const startedMs = clock.monotonicNow();
    try {
      const { outcome, pending } = await this.#work.whenSettled({
        timeoutMs: this.config.drainTimeout,
        clock,
        interrupt: interrupt.signal,
      });
      this.#drains.fire({ term, outcome, pending, waitedMs: clock.monotonicNow() - startedMs });
    } finally {
      this.#drainInterrupt = undefined;
    }
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
      // stop() may be what ended the start: then this shares its shutdown instead of running another.
      await this.stop();
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
    const leading = this.isLeader(); // before anything else: a backend may find it already expired
    this.#lifecycle = 'stopping';
    this.config.clock.clearTimeout(this.#priorityTimer);
    this.livenessMayHaveChanged();
    this.#detachStartSignal?.();
    this.#detachStartSignal = undefined;
    const term = leading ? this.#leadership.lose('stopped') : undefined;
    this.#leadership.rejectWaiters('the election stopped');
    try {
      // A resign in progress still holds the campaign key for its drain; then ours, if we led. Its
      // release in the store, if under way, is the backend's to cut short: leaving releases it too.
      await this.#resignDrain?.catch(() => {}); // its caller hears about its failure
      if (term !== undefined) await this.#drain(term);
      await this.onStop();
    } finally {
      // Watchers first get what the departure produced (leader_lost, node_left), then their end.
      this.#changes.close();
      this.#leaders.close();
      this.#view.reset();
      this.#lifecycle = 'idle';
      this.#stopping = undefined;
      this.#health = { healthy: true };
      this.livenessMayHaveChanged();
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
   * leader to `leaderChanges()` and `telemetry.onLeaderChange` when they include a leadership
   * change. The view must already show what they lead to.
   */
  protected publishChanges(changes: readonly ClusterStateChange[]): void {
    this.#changes.publishAll(this.#shownOfView(changes));
    if (changes.some(isLeaderChange)) {
      this.#leaders.publish(this.#view.leader);
      this.#leaderChanges.fire({ leader: this.#view.leader, term: this.#view.term });
    }
  }

  /**
   * This node's own leadership: `term` when it leads, `undefined` (with the reason) when it does not.
   * Separate from snapshots because a backend may have to step down before its store says so.
   */
  protected setLeadership(term: number | undefined, lossReason: LeadershipLossReason = 'superseded'): void {
    if (term === undefined) this.#leadership.lose(lossReason);
    else if (this.running && this.#leadership.gain(term))
      this.#leadingSinceMs = this.config.clock.monotonicNow();
  }
}

/** The timeout of a transfer: as given, or `drainTimeout` + 2 × `electionTimeout`. */
function transferTimeout(timeoutMs: unknown, config: ResolvedConfig): number {
  if (timeoutMs === undefined) return config.drainTimeout + 2 * config.electionTimeout;
  if (
    typeof timeoutMs !== 'number' ||
    !Number.isInteger(timeoutMs) ||
    timeoutMs < 1 ||
    timeoutMs > MAX_TRANSFER_MS
  )
    throw new ValidationError(
      'timeoutMs',
      `must be a whole number of milliseconds from 1 to ${MAX_TRANSFER_MS} (got ${describeValue(timeoutMs)})`,
    );
  return timeoutMs;
}

const MAX_TRANSFER_MS = 24 * 60 * 60 * 1000;
