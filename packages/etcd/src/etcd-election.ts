import {
  type Clock,
  type ClusterStateChange,
  ElectionStoppedError,
  type Event,
  FencedWriteError,
  type Liveness,
  NodeIdInUseError,
  type NodeRegistration,
  type SignalOptions,
  type TimerHandle,
  TransferError,
  type TransferResult,
  ValidationError,
} from '@ztap/cluster';
import {
  BaseElection,
  ElectionView,
  EventEmitter,
  type LeaderRecord,
  LIVE,
  notLive,
  type PriorityCandidate,
  resolveConfig,
  type TransferRequest,
} from '@ztap/cluster/backend';
import type { Etcd3, IRequestOp, ITxnResponse } from 'etcd3';
import { abortable, type CallAccount, type CallOptions } from './calls.ts';
import {
  bytes,
  decide,
  fencedTxn,
  fenceOutcome,
  type GuardedTxn,
  planWrites,
  type StoredKey,
  type Wanted,
  type Writes,
  writeTxn,
} from './campaign.ts';
import { clientFor, clientForOperation } from './client.ts';
import { deregisterMember, registerMember } from './cluster-store.ts';
import {
  acquireContext,
  type ContextMember,
  type ContextRequest,
  type EtcdClusterContext,
  type Membership,
  withContext,
} from './context.ts';
import { isEtcdLeaseLostError } from './errors.ts';
import { encodeMember, KeyLayout } from './keys.ts';
import { LeaseSession } from './lease-session.ts';
import { sessionLiveness } from './liveness.ts';
import { awaitRelease, holderOf, type RecordStanding, standingOf } from './member-claim.ts';
import { type PrefixMirror, toEntry } from './mirror.ts';
import { type EtcdElectionOptions, type ResolvedEtcdOptions, resolveEtcdOptions } from './options.ts';
import { pause, reconnectDelayMs } from './reconnect-pacing.ts';
import {
  campaignOf,
  checkTarget,
  decodeTransfer,
  encodeTransfer,
  failureOf,
  mustStepAside,
  requestRefusal,
  requestTxn,
  type TransferRecord,
  transferProgress,
} from './transfer.ts';

/** What this package's other parts need of an election (not exported from the package). */
export interface ElectionInternals {
  /** What the election asks of its per-client context. */
  /** The context request; `operation` names a failure to build the etcd client. */
  contextRequest(operation: string): ContextRequest;
  /** Where the election's own requests are counted and their failures reported. */
  readonly account: CallAccount;
  readonly keys: KeyLayout;
}

const internals = new WeakMap<EtcdElection, ElectionInternals>();

/** The internals of `election`, for the policy sync that shares its context. */
export function internalsOf(election: EtcdElection): ElectionInternals {
  return internals.get(election) as ElectionInternals;
}

/** What one run (start to stop) of an election holds. */
interface Run {
  readonly context: EtcdClusterContext;
  readonly release: () => Promise<void>;
  readonly membership: Membership;
  /** Aborted by `stop()`: every request of this run ends at once. */
  readonly operations: AbortController;
  /** Ends this election's subscription to the mirror's batches. */
  readonly unsubscribe: () => void;
  /**
   * A narrow view's watch of this node's own member record (the context does not watch members);
   * undefined with the full view, whose context mirror holds the record.
   */
  readonly ownRecord: PrefixMirror | undefined;
}

/** A keepalive succeeded and moved this node's step-down deadline forward. */
export interface LeaseRenewal {
  /** The new step-down deadline, in monotonic ms on the election's {@link EtcdElection.clock}. */
  readonly validUntilMs: number;
}

/**
 * `LeaderElection` on etcd — the production backend.
 *
 * One lease per node (TTL = `electionTimeout`), kept alive every `heartbeatInterval`; the member record
 * and the campaign key hang off it, so a crashed node vanishes by itself. Heartbeats write nothing.
 * Leadership follows etcd's Go `concurrency` recipe, which campaign.ts holds in one place: the
 * campaign key with the lowest create revision under `<prefix>election/` leads, and its create
 * revision is the fencing token (`term`). This class orchestrates it: it joins, reconciles etcd with
 * what it wants, decides after each batch that touches it, and steps down on its own deadline.
 *
 * Everything an election can share with the others of the process on the same client and prefix —
 * the caller, the keepalive stream, the watch and the decoded view — is in their per-client context
 * (context.ts); an election holds only its session, its campaign key, its leadership and its
 * watchers. See docs/safety.md for the rules and docs/architecture.md for the layout.
 *
 * One node id, one node (see member-claim.ts): `start()` refuses an id whose member record another
 * live, renewed lease holds (`NodeIdInUseError`), waits out the lease of a crashed predecessor, and
 * the record is only ever written by compare-and-put, never over another live lease.
 *
 * The constructor validates and does no I/O.
 */
export class EtcdElection extends BaseElection {
  readonly #etcd: ResolvedEtcdOptions;
  readonly #keys: KeyLayout;
  readonly #view: ElectionView;
  /** This election's own requests and their failures. */
  readonly #account: CallAccount;
  #client: Etcd3 | undefined;
  #run: Run | undefined;
  #session: LeaseSession | undefined;
  #granting: Promise<LeaseSession> | undefined;
  /** The last lease was lost (expired, revoked) and no new one is granted yet: for `liveness`. */
  #leaseWasLost = false;
  #eligibleAtMs = 0;
  /** Our campaign key must go and come back at the end of the queue (after resign or a missed deadline). */
  #requeue = false;
  /**
   * Counts requests to re-queue: a write planned before the latest one (say, a campaign still in
   * flight when `resign()` came) must not mark that newer request done.
   */
  #requeueRequests = 0;
  /** The revision of our last write: the mirror must reach it before we judge our own keys from it. */
  #writeFloor = 0;
  #reconciling: Promise<void> | undefined;
  #reconcileAgain = false;
  #heartbeatTimer: TimerHandle | undefined;
  #eligibilityTimer: TimerHandle | undefined;
  #joinedAt = new Date(0);
  #leadershipKey: string | undefined;
  #lastError: Error | undefined;
  /** Grant requests still on their way (see `SessionOptions.track`): stop() waits them out. */
  readonly #grants = new Set<Promise<void>>();
  /** False until start() has made sure no live node holds our id: nothing is granted or written before. */
  #idCleared = false;
  /** Set while another live lease holds our member record: we neither write it nor campaign. */
  #idConflict: NodeIdInUseError | undefined;
  /** Leases of ours that are gone: a view still showing our record on one is late, not a conflict. */
  readonly #retiredLeaseIds = new Set<string>();
  readonly #renewals = new EventEmitter<LeaseRenewal>();
  /** Uniform in [0, 1): the jitter of a re-grant after a lost lease. */
  readonly #random = (): number => Math.random();
  /** Fires after every batch the view has applied (transfers wait on it). */
  readonly #batches = new EventEmitter<void>();
  /** Terms whose operator request this node has taken up (each is carried out once). */
  readonly #operatorTerms = new Set<number>();

  /**
   * Fires each time a keepalive moves the step-down deadline forward, leader or not. For supervisors
   * that must hold the same deadline elsewhere (`ztap run` hands it to the process that guards the
   * command); a leader should still watch {@link leadershipSignal}, which also ends for other reasons.
   */
  readonly onLeaseRenewed: Event<LeaseRenewal> = this.#renewals.event;

  constructor(options: EtcdElectionOptions) {
    const config = resolveConfig(options);
    let leads = () => false;
    // An observer claims no id: a node that runs under the same id is another node, and its
    // leadership must show as it is.
    const view = new ElectionView(config.nodeId, () => config.role === 'observer' || leads());
    super(config, view);
    leads = () => super.isLeader();
    this.#view = view;
    this.#etcd = resolveEtcdOptions(options, config);
    this.#keys = new KeyLayout(this.#etcd.prefix);
    this.#account = {
      attempts: 0,
      report: (kind, error) => this.backendErrors.fire({ kind, error }),
    };
    internals.set(this, {
      contextRequest: (operation) => this.#contextRequest(operation),
      account: this.#account,
      keys: this.#keys,
    });
  }

  /** The key prefix of this cluster (ends in `/`). */
  get prefix(): string {
    return this.#keys.prefix;
  }

  protected override logBindings(): Record<string, unknown> {
    return { prefix: this.prefix };
  }

  /** The etcd client (created on first use when the election builds its own). */
  get client(): Etcd3 {
    this.#client ??= clientFor(this.#etcd, this.#etcd.requestTimeout);
    return this.#client;
  }

  /** The current lease id (decimal), while running. */
  get leaseId(): string | undefined {
    return this.#session?.id;
  }

  /**
   * The campaign key of the current lease (`<prefix>election/<lease id in hex>`), while running; it
   * exists in etcd while this node is an eligible candidate.
   */
  get campaignKey(): string | undefined {
    return this.#session?.campaignKey;
  }

  /** The last error met talking to etcd, cleared by the next success; for health endpoints. */
  get lastError(): Error | undefined {
    return this.#lastError ?? this.#run?.context.mirror.lastError ?? this.#run?.ownRecord?.lastError;
  }

  /**
   * How many requests this election has sent to etcd (retries included). Keepalives and the watch
   * are streams, and the shared watch's reads are its client's, not this election's.
   */
  get requestCount(): number {
    return this.#account.attempts;
  }

  // A paused process (SIGSTOP, a long GC) resumes with its timers overdue; leadership must already
  // be gone when any code asks, not only when the deadline timer gets its turn.
  override isLeader(): boolean {
    this.#checkDeadline();
    return super.isLeader();
  }

  override get term(): number | undefined {
    this.#checkDeadline();
    return super.term;
  }

  override get leadershipSignal(): AbortSignal {
    this.#checkDeadline();
    return super.leadershipSignal;
  }

  /** The clock this election keeps time with: {@link leadershipValidUntil} is on its monotonic scale. */
  get clock(): Clock {
    return this.config.clock;
  }

  /**
   * While leader, the step-down deadline in monotonic ms on {@link clock}: the send time of the last
   * successful keepalive + TTL − `stepDownMargin`. Unless a keepalive succeeds first, leadership ends
   * then at the latest (it may end sooner: deposed, lease revoked, unhealthy). Undefined while not
   * leader. Read-only telemetry: nothing here extends or shortens leadership.
   */
  get leadershipValidUntil(): number | undefined {
    this.#checkDeadline();
    return super.isLeader() ? this.#session?.validUntilMs : undefined;
  }

  /**
   * Runs a transaction only while leadership of `term` is current: etcd compares the create revision
   * of this node's campaign key with `term`, so a deposed leader's write fails with a
   * `FencedWriteError` and writes nothing — even if this node has not noticed it was deposed.
   *
   * Your `compare` joins the fence in one flat transaction: `success` runs when all hold; when one
   * fails, a read of the campaign key tells "fenced" (throws) from "your compare failed" (resolves
   * with `succeeded: false` and the responses of your `failure` ops, which must be reads).
   * Not retried: the caller decides whether repeating its operations is safe. `signal` abandons it
   * and `deadline` bounds it (it may still have been committed); `stop()` abandons it too.
   */
  async guardedTxn(txn: GuardedTxn, options: CallOptions = {}): Promise<ITxnResponse> {
    const key = this.#leadershipKey;
    const run = this.#run;
    if (!this.isLeader() || this.term !== txn.term || key === undefined || !run)
      throw new FencedWriteError(txn.term);
    if ((txn.failure ?? []).some((op) => !op.request_range)) {
      throw new ValidationError(
        'failure',
        'of a guarded transaction may only read (request_range): it also runs when the writer is fenced',
      );
    }
    const response = await run.context.caller.call(
      'commit a leader-only write',
      (deadline) => this.client.kv.txn(fencedTxn(key, txn), deadline),
      {
        class: 'once',
        account: this.#account,
        signal: withSignal(run.operations.signal, options.signal),
        deadline: options.deadline,
      },
    );
    const outcome = fenceOutcome(response, txn.term);
    if (outcome.outcome === 'fenced') throw new FencedWriteError(txn.term);
    return outcome.response;
  }

  /** Adds a member; resolves once this node's view shows it (or after a request timeout). */
  async registerNode(node: NodeRegistration, options: SignalOptions = {}): Promise<void> {
    await this.#withContext('register a node', async (context) => {
      const revision = await registerMember(this.#records(context), node, options);
      // A narrow view shows no members: there is nothing to wait for.
      if (this.#run && this.view === 'full')
        await context.mirror.waitFor(revision, this.#etcd.requestTimeout, options.signal);
    });
  }

  /** Removes a member; resolves once this node's view shows it gone (or after a request timeout). */
  async deregisterNode(nodeId: string, options: SignalOptions = {}): Promise<void> {
    await this.#withContext('deregister a node', async (context) => {
      const revision = await deregisterMember(this.#records(context), nodeId, options);
      if (this.#run && this.view === 'full')
        await context.mirror.waitFor(revision, this.#etcd.requestTimeout, options.signal);
    });
  }

  // ---- lifecycle ---------------------------------------------------------------------------------

  protected async onStart(signal: AbortSignal | undefined): Promise<void> {
    const { context, release } = acquireContext(this.#contextRequest('list the cluster prefix'));
    const operations = new AbortController();
    const member = this.#member();
    const memberKey = this.#keys.memberKey(this.nodeId);
    const membership = context.join(member, memberKey);
    // After the context's own subscription (made when it was created): the view is current here.
    const unsubscribe = context.mirror.subscribe(() => this.#afterBatch());
    // A narrow context watches no members, so the record this node's claim rests on gets a watch of its own.
    const ownRecord =
      this.view === 'leader' && this.role !== 'observer' ? context.keyMirror(memberKey) : undefined;
    ownRecord?.subscribe(() => {
      member.reconsider();
      member.reconcile();
    });
    const run: Run = { context, release, membership, operations, unsubscribe, ownRecord };
    this.#run = run;
    const startSignal = signal ? AbortSignal.any([signal, operations.signal]) : operations.signal;
    if (this.role !== 'observer') await this.checkHealth();
    await context.mirror.start(startSignal);
    await ownRecord?.start(startSignal);
    // A starting node shows the cluster before it has its id (its predecessor's record included).
    const picture = this.#view.attach(context.view.cluster, this.config.clock.wallNow());
    membership.setWatching(this.watched);
    if (this.watched) this.publishChanges(picture);
    // An observer only reads: no id to claim, no lease, no record, no heartbeat.
    if (this.role === 'observer') return;
    // Before any lease or write: a duplicate is refused without leaving a trace.
    await this.#awaitOwnId(startSignal);
    this.#idCleared = true;
    this.#joinedAt = this.config.clock.wallNow();
    this.#eligibleAtMs = this.config.clock.monotonicNow() + this.config.initialLeadership;
    if (this.role === 'candidate' && this.config.initialLeadership > 0) {
      this.#eligibilityTimer = this.config.clock.setTimeout(
        () => this.#kick(),
        this.config.initialLeadership,
      );
    }
    // Heartbeats (keepalives) begin before the join completes: a join slower than the lease TTL
    // (hundreds of nodes starting in one busy process) must not outlive its own lease.
    this.#scheduleHeartbeat();
    // The join: a lease grant, then one transaction for the member record and the campaign key.
    for (;;) {
      await abortable(this.#reconcile(startSignal), signal);
      if (this.#lastError) throw this.#lastError;
      await this.#reach(run, this.#writeFloor, signal);
      if (this.#idConflict) {
        // A node with our id wrote its record between our look and our write: judge it the same way.
        await this.#awaitOwnId(startSignal);
      } else if (this.#holdsOwnRecord()) return;
    }
  }

  /**
   * Waits while another lease holds our member record: rejects with `NodeIdInUseError` if that
   * lease is kept alive (a running duplicate), resolves once it is gone (our own crashed previous
   * incarnation, whose lease runs out about one TTL after its crash).
   */
  #awaitOwnId(signal: AbortSignal): Promise<void> {
    const run = this.#run;
    if (!run) return Promise.reject(new ElectionStoppedError(this.nodeId));
    const waiting = awaitRelease(
      {
        nodeId: this.nodeId,
        memberKey: this.#keys.memberKey(this.nodeId),
        mirror: this.#recordMirror(run),
        client: this.client,
        caller: run.context.caller,
        account: this.#account,
        clock: this.config.clock,
        pollIntervalMs: this.config.heartbeatInterval,
        isReleased: (entry) => this.#standing(entry).kind !== 'held',
      },
      signal,
    );
    // An in-flight request ends at its own deadline; the caller hears of the abort at once.
    return abortable(waiting, signal);
  }

  #standing(entry: StoredKey | undefined): RecordStanding {
    return standingOf(entry, this.#session?.id, this.#retiredLeaseIds, this.#wantedRecord());
  }

  #holdsOwnRecord(): boolean {
    const session = this.#session;
    return session !== undefined && this.#ownRecordEntry()?.lease === session.id;
  }

  /** This node's member record as its view shows it. */
  #ownRecordEntry(): StoredKey | undefined {
    const run = this.#run;
    return run && this.#recordMirror(run).get(this.#keys.memberKey(this.nodeId));
  }

  /** The mirror that holds this node's member record. */
  #recordMirror(run: Run): PrefixMirror {
    return run.ownRecord ?? run.context.mirror;
  }

  /**
   * Resolves once the view of our own keys reflects `revision` (our write), or after a request
   * timeout with the full view (a lagging watch is the mirror's to repair). A narrow view's mirrors
   * may never see `revision` by watch — nothing of theirs changed there — so they are listed.
   */
  async #reach(run: Run, revision: number, signal?: AbortSignal): Promise<void> {
    if (!run.ownRecord) {
      await run.context.mirror.waitFor(revision, this.#etcd.requestTimeout, signal);
      return;
    }
    await Promise.all([
      run.context.mirror.catchUp(revision, signal),
      run.ownRecord.catchUp(revision, signal),
    ]);
  }

  #wantedRecord(): string {
    return encodeMember({
      address: this.config.nodeAddress,
      metadata: this.config.metadata,
      joinedAt: this.#joinedAt.toISOString(),
      health: this.healthy ? 'healthy' : 'unhealthy',
      priority: this.config.priority,
    });
  }

  /**
   * Bounded: requests in flight are abandoned at once (their answers no longer matter: the revoke
   * deletes whatever they wrote), then the lease is revoked within one request timeout, and the
   * departure awaited in the view for at most another.
   */
  protected async onStop(): Promise<void> {
    const run = this.#run;
    this.config.clock.clearTimeout(this.#heartbeatTimer);
    this.config.clock.clearTimeout(this.#eligibilityTimer);
    run?.operations.abort(new ElectionStoppedError(this.nodeId, 'the election stopped'));
    await this.#reconciling?.catch(() => {});
    await this.#granting?.catch(() => {});
    // A grant answered after the abort is revoked on arrival; each request ends at its deadline.
    await Promise.all(this.#grants);
    const session = this.#session;
    this.#session = undefined;
    this.#leadershipKey = undefined;
    this.#batches.fire(); // a transfer waiting for the queue to move learns that this node stopped
    if (session && run) {
      // Revoking deletes our member record and campaign key in one revision: the successor is
      // elected at the speed of one watch event instead of waiting out the TTL.
      const revision = await session
        .revoke(AbortSignal.timeout(this.#etcd.requestTimeout))
        .catch(() => undefined);
      // Our watchers get the departure before they end.
      if (revision !== undefined)
        await this.#reach(run, revision, AbortSignal.timeout(this.#etcd.requestTimeout)).catch(() => {});
    }
    if (run) {
      run.unsubscribe();
      await run.ownRecord?.stop();
      run.membership.leave();
      this.#run = undefined;
      await run.release();
    }
    this.#writeFloor = 0;
    this.#requeue = false;
    this.#idCleared = false;
    this.#idConflict = undefined;
    this.#retiredLeaseIds.clear();
    this.#operatorTerms.clear();
    if (this.#client && this.#client !== this.#etcd.client) {
      this.#client.close();
      this.#client = undefined;
    }
  }

  protected async onResign(): Promise<void> {
    this.#requestRequeue();
    this.#republish();
    await this.#reconcile();
  }

  protected backendLiveness(): Liveness {
    const conflict = this.#idConflict;
    if (conflict) {
      return notLive(
        `${NodeIdInUseError.describe(conflict.nodeId, conflict.holder)}: this node stands aside until the id is free`,
      );
    }
    // An observer has no membership to vouch for: it is live while it runs.
    if (this.role === 'observer') return LIVE;
    const session = this.#session;
    const member = session && this.#ownRecordEntry();
    return sessionLiveness(session, this.#leaseWasLost, member?.lease);
  }

  protected override onWatchedChange(watched: boolean): void {
    if (watched) this.#view.resetShown();
    this.#run?.membership.setWatching(watched);
  }

  /** How the context reaches this election after each batch (private: nobody else may feed it). */
  #member(): ContextMember {
    return {
      candidate: () => this.role === 'candidate',
      reconsider: () => {
        if (!this.#run) return;
        this.#evaluateLeadership();
        // Our member record may have come or gone: liveness depends on it.
        this.livenessMayHaveChanged();
      },
      reconcile: () => this.#kick(),
      deliver: (changes, leaderBefore) => this.#deliver(changes, leaderBefore),
      onContextError: (kind, error) => this.backendErrors.fire({ kind, error }),
      onResync: () => this.resyncs.fire(),
    };
  }

  #deliver(changes: readonly ClusterStateChange[], leaderBefore: LeaderRecord | undefined): void {
    this.publishChanges(this.#view.follow(changes, leaderBefore, this.config.clock.wallNow()));
  }

  // ---- leadership ----------------------------------------------------------------------------

  #evaluateLeadership(): void {
    const session = this.#session;
    const campaigns = this.#run?.context.view.campaigns;
    const verdict = decide(
      { session, healthy: this.healthy, requeue: this.#requeue, holdsId: this.#idConflict === undefined },
      session && campaigns?.get(session.campaignKey),
      campaigns?.first,
    );
    this.#leadershipKey = verdict.leads ? verdict.campaignKey : undefined;
    if (verdict.leads) this.setLeadership(verdict.term);
    else this.setLeadership(undefined, verdict.reason);
  }

  /** Our own leadership changed without a store event: our watchers hear it now. */
  #republish(): void {
    if (this.watched && this.#run) this.publishChanges(this.#view.refresh(this.config.clock.wallNow()));
  }

  #checkDeadline(): void {
    const session = this.#session;
    if (session && !session.valid && super.isLeader()) this.#onDeadline();
  }

  #onDeadline(): void {
    this.livenessMayHaveChanged();
    if (!super.isLeader()) return;
    this.#requestRequeue();
    this.setLeadership(undefined, 'deadline');
    this.#republish();
    this.#kick();
  }

  #onLeaseLost(session: LeaseSession): void {
    if (this.#session !== session) return;
    this.leaseLost({ leaseId: session.id });
    this.interruptDrain('lease_lost');
    this.#retiredLeaseIds.add(session.id);
    session.orphan();
    this.#session = undefined;
    this.#leaseWasLost = true;
    this.#run?.membership.setCampaignKey(undefined);
    this.#leadershipKey = undefined;
    this.livenessMayHaveChanged();
    this.setLeadership(undefined, 'lease_lost');
    this.#republish();
    this.#batches.fire(); // a transfer in progress ends: its request went with the lease
    this.#kick();
  }

  // ---- transfer and priorities ---------------------------------------------------------------

  /** After every batch: the bookkeeping of transfers and priorities (see transfer.ts). */
  #afterBatch(): void {
    const run = this.#run;
    if (!run || !this.running) return;
    // O(1) per election and batch: what all of them need was worked out once, by the shared view.
    const { campaigns, transfer } = run.context.view;
    if (transfer) {
      const own = this.#session && campaigns.get(this.#session.campaignKey);
      // A candidate ahead of the target goes to the back of the queue (the leader does so last).
      if (!this.#requeue && mustStepAside(own, campaigns.first, transfer.targetKey)) {
        this.#requestRequeue();
        this.#kick();
      }
      if (transfer.record.by === 'operator' && super.isLeader() && this.term === transfer.term)
        this.#takeUpOperatorRequest(transfer.term, transfer.record);
    }
    // A canary campaigns only while no better candidate does.
    if (this.config.priority < 0) this.#kick();
    this.#batches.fire();
    this.reviewPriorities();
  }

  /** Whether this node keeps out of the queue: a canary while a higher-priority candidate campaigns. */
  #standsBack(session: LeaseSession): boolean {
    const run = this.#run;
    if (this.config.priority >= 0 || !run || super.isLeader()) return false;
    const { campaigns, cluster } = run.context.view;
    for (const entry of campaigns.values()) {
      if (entry.key === session.campaignKey) continue;
      const node = cluster.getNode(entry.value);
      if (node?.state === 'healthy' && node.priority > this.config.priority) return true;
    }
    return false;
  }

  protected override priorityCandidates(): Iterable<PriorityCandidate> {
    const run = this.#run;
    if (!run) return [];
    const { campaigns, cluster } = run.context.view;
    const candidates: PriorityCandidate[] = [];
    for (const entry of campaigns.values()) {
      const since = run.context.view.eligibleSince(entry);
      const node = cluster.getNode(entry.value);
      if (since === undefined || !node || node.id === this.nodeId) continue;
      candidates.push({
        id: node.id,
        priority: node.priority,
        healthySinceMs: since,
        order: entry.createRevision,
      });
    }
    return candidates;
  }

  /** An operator asked (`ztap cluster transfer`) for a transfer of our term: carry it out once. */
  #takeUpOperatorRequest(term: number, record: TransferRecord): void {
    if (this.#operatorTerms.has(term)) return;
    this.#operatorTerms.add(term);
    this.requestTransfer(record.target, record.timeoutMs)
      // A refusal before onTransfer ran (another transfer under way) must reach the operator too.
      .catch((error: unknown) => this.#closeRequest(term, error))
      .catch(() => {});
  }

  /**
   * Hands leadership over on etcd's queue (see transfer.ts): checks the target, writes the request
   * (unless an operator's is there), steps down, waits until everyone else ahead of the target has
   * re-queued, re-queues last, and resolves once the target is first. On failure this node
   * re-queues too (it has stepped down already), and the request is closed with the reason.
   */
  protected async onTransfer({ target, term, signal }: TransferRequest): Promise<TransferResult> {
    const run = this.#run;
    const session = this.#session;
    const leaderKey = this.#leadershipKey;
    if (!run || !session || leaderKey === undefined) throw new TransferError(target, 'interrupted');
    let steppedDown = false;
    try {
      // Judged from a view as current as etcd: a target that joined a moment ago is known.
      await run.context.mirror.sync(this.#etcd.requestTimeout, signal);
      this.#checkTarget(run, target);
      await this.#writeRequest(run, session, leaderKey, term, target);
      steppedDown = true;
      await this.stepDownForTransfer();
      const result = await this.#handOver(run, session, leaderKey, target, signal);
      await this.#closeRequest(term, undefined); // it has done its work
      return result;
    } catch (error) {
      // The reason first, while this node still holds its key: an operator waiting on the request
      // reads why before the queue moves on.
      await this.#closeRequest(term, error);
      // Stepped down but not handed over: to the back of the queue, like after resign().
      if (steppedDown && run.context.view.campaigns.get(leaderKey)) {
        this.#requestRequeue();
        this.#kick();
      }
      throw error;
    }
  }

  /** Refuses a target that cannot take over now (nothing has been written yet). */
  #checkTarget(run: Run, target: string): void {
    const { cluster, campaigns } = run.context.view;
    checkTarget(target, cluster.getNode(target), campaignOf(campaigns.values(), target));
  }

  async #writeRequest(run: Run, session: LeaseSession, leaderKey: string, term: number, target: string) {
    const key = this.#keys.transferKey(term);
    if (run.context.mirror.get(key)) return; // an operator's request for this term: it is what we carry out
    const record = { target };
    // Retried: a repeat finds the request there and recognises it as its own (see requestRefusal).
    const response = await run.context.caller.call(
      'write the transfer request',
      (deadline) => this.client.kv.txn(requestTxn(leaderKey, term, session.id, key, record), deadline),
      { class: 'write', account: this.#account, signal: run.operations.signal },
    );
    this.#writeFloor = Math.max(this.#writeFloor, Number(response.header.revision));
    const refusal = response.succeeded ? 'written' : requestRefusal(response, term, record);
    if (refusal !== 'written')
      throw new TransferError(target, refusal === 'stale_term' ? 'interrupted' : refusal);
    await run.context.mirror.waitFor(Number(response.header.revision), this.#etcd.requestTimeout);
  }

  async #handOver(
    run: Run,
    session: LeaseSession,
    leaderKey: string,
    target: string,
    signal: AbortSignal,
  ): Promise<TransferResult> {
    let requeued = false;
    for (;;) {
      signal.throwIfAborted();
      if (this.#session !== session || !this.running)
        throw new TransferError(target, 'interrupted', 'this node lost its lease or stopped');
      const { campaigns } = run.context.view;
      const progress = transferProgress(campaigns.values(), campaigns.first, leaderKey, target);
      if (progress.kind === 'done') return { nodeId: target, term: progress.term };
      if (progress.kind === 'withdrew') throw new TransferError(target, 'target_withdrew');
      if (progress.kind === 'requeue' && !requeued) {
        requeued = true;
        this.#requestRequeue();
        this.#kick();
      }
      await this.#nextBatch(signal);
    }
  }

  /** Resolves after the next batch; rejects with the signal's reason. */
  #nextBatch(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = () => {
        subscription.dispose();
        signal.removeEventListener('abort', onAbort);
      };
      const subscription = this.#batches.event(() => {
        done();
        resolve();
      });
      const onAbort = () => {
        done();
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Ends the request of `term`, if it is still there. An operator's failed request keeps the
   * reason instead (the operator's `ztap cluster transfer` waits for it, then deletes it); any other
   * is deleted. Best effort: the request goes with our lease anyway, and it is no longer in force
   * once another leads.
   */
  async #closeRequest(term: number, failure: unknown): Promise<void> {
    const run = this.#run;
    const key = this.#keys.transferKey(term);
    const existing = run?.context.mirror.get(key);
    const record = existing && decodeTransfer(existing.value);
    if (!run || !existing || record?.failed) return;
    const op: IRequestOp =
      failure !== undefined && record?.by === 'operator'
        ? {
            request_put: {
              key: bytes(key),
              value: bytes(encodeTransfer({ ...record, failed: failureOf(failure) })),
              lease: existing.lease,
            },
          }
        : { request_delete_range: { key: bytes(key) } };
    await run.context.caller
      .call(
        'close the transfer request',
        (deadline) => this.client.kv.txn({ compare: [], success: [op], failure: [] }, deadline),
        { class: 'write', account: this.#account, signal: run.operations.signal },
      )
      .catch(() => {});
  }

  // ---- making etcd match what we want ----------------------------------------------------------

  /** Starts a reconcile in the background; failures are recorded and retried on the next heartbeat. */
  #kick(): void {
    if (this.running && this.#idCleared) this.#reconcile().catch(() => {});
  }

  /** Serialized: one reconcile at a time; a request during one runs another right after it. */
  #reconcile(signal?: AbortSignal): Promise<void> {
    if (this.#reconciling) {
      this.#reconcileAgain = true;
      return this.#reconciling;
    }
    const callSignal = signal ?? this.#run?.operations.signal;
    this.#reconciling = (async () => {
      try {
        do {
          this.#reconcileAgain = false;
          await this.#reconcileOnce(callSignal);
        } while (this.#reconcileAgain && this.running);
        this.#lastError = undefined;
      } catch (error) {
        this.#lastError = error as Error;
      } finally {
        this.#reconciling = undefined;
      }
    })();
    return this.#reconciling;
  }

  async #reconcileOnce(signal: AbortSignal | undefined): Promise<void> {
    const run = this.#run;
    if (!this.running || !run) return;
    const session = await this.#ensureSession(run, signal);
    const mirror = run.context.mirror;
    // Judging our keys from a mirror that has not seen our last write would undo or repeat it.
    if (run.ownRecord) await this.#reach(run, this.#writeFloor, signal);
    else if (mirror.revision < this.#writeFloor) return;
    if (!this.running) return;
    const wanted = this.#wanted(session);
    const standing = this.#standing(this.#recordMirror(run).get(wanted.memberKey));
    if (standing.kind === 'held') this.#onIdTaken(standing.entry);
    else this.#onIdFree();
    const writes = planWrites(standing, mirror.get(wanted.campaignKey), wanted);
    if (!writes) return;
    const requeueRequests = this.#requeueRequests;
    let response: ITxnResponse;
    try {
      response = await run.context.caller.call(
        describeWrites(writes),
        (deadline) => this.client.kv.txn(writeTxn(writes, wanted), deadline),
        { class: 'write', account: this.#account, signal },
      );
    } catch (error) {
      // etcd says the lease is gone before a keepalive told us: the same as losing it.
      if (isEtcdLeaseLostError(error)) this.#onLeaseLost(session);
      throw error;
    }
    // Judge again from a view that has seen the store as the transaction found it.
    this.#writeFloor = Math.max(this.#writeFloor, Number(response.header.revision));
    if (!response.succeeded) {
      // Lost the record to another node (or our campaign key was there already): see who holds it.
      const current = response.responses[0]?.response_range?.kvs[0];
      const entry = current ? toEntry(current) : undefined;
      if (entry && this.#standing(entry).kind === 'held') this.#onIdTaken(entry);
      return;
    }
    // A withdrawal or a new campaign key served the re-queue planned with it, not one asked for since.
    if (writes.campaign !== 'keep' && this.#requeueRequests === requeueRequests) this.#requeue = false;
  }

  #requestRequeue(): void {
    this.#requeue = true;
    this.#requeueRequests++;
  }

  /**
   * Another live lease holds our record (it was deleted while we ran, and a node with our id took
   * it). Fighting over it would flip it back and forth: we stop leading and campaigning, say so in
   * `liveness`, and claim the record again once it is free.
   */
  #onIdTaken(entry: StoredKey): void {
    if (this.#idConflict?.holder.leaseId === entry.lease) return;
    this.#idConflict = new NodeIdInUseError(this.nodeId, holderOf(this.nodeId, entry));
    // Local first: stop acting as leader before the campaign key is withdrawn.
    this.#evaluateLeadership();
    this.#republish();
    this.livenessMayHaveChanged();
  }

  #onIdFree(): void {
    if (!this.#idConflict) return;
    this.#idConflict = undefined;
    this.livenessMayHaveChanged();
  }

  #wanted(session: LeaseSession): Wanted {
    return {
      nodeId: this.nodeId,
      leaseId: session.id,
      memberKey: this.#keys.memberKey(this.nodeId),
      record: this.#wantedRecord(),
      campaignKey: session.campaignKey,
      // A member is registered and health-tracked, but never in the queue; a canary stands back.
      eligible:
        this.role === 'candidate' &&
        this.healthy &&
        this.config.clock.monotonicNow() >= this.#eligibleAtMs &&
        !this.#standsBack(session),
      requeue: this.#requeue,
    };
  }

  /**
   * After a lost lease, the pause before asking for a new one (see reconnect-pacing.ts): a fleet
   * whose leases all expired in one outage comes back spread over a window, candidates first.
   */
  async #paceRegrant(run: Run, signal: AbortSignal | undefined): Promise<void> {
    if (!this.#leaseWasLost) return;
    const delayMs = reconnectDelayMs(
      {
        candidate: this.#mayLead(),
        fleetSize: run.context.mirror.peakSize,
        ttlMs: this.#etcd.leaseTtlSeconds * 1000,
        heartbeatMs: this.config.heartbeatInterval,
      },
      this.#random(),
    );
    const stop = signal ? AbortSignal.any([signal, run.operations.signal]) : run.operations.signal;
    await pause(this.config.clock, delayMs, stop);
  }

  /**
   * Whether this node campaigns now (candidates re-grant first after an outage): a candidate, and
   * not held back by `initialLeadership` (which joins with its record only, as a member does).
   */
  #mayLead(): boolean {
    return this.role === 'candidate' && this.config.clock.monotonicNow() >= this.#eligibleAtMs;
  }

  async #ensureSession(run: Run, signal: AbortSignal | undefined): Promise<LeaseSession> {
    if (this.#session && !this.#session.lost) return this.#session;
    this.#granting ??= this.#paceRegrant(run, signal)
      .then(() =>
        LeaseSession.grant(
          run.context,
          {
            ttlSeconds: this.#etcd.leaseTtlSeconds,
            marginMs: this.#etcd.stepDownMargin,
            clock: this.config.clock,
            electionPrefix: this.#keys.electionPrefix,
            account: this.#account,
            track: (grant) => {
              this.#grants.add(grant);
              void grant.finally(() => this.#grants.delete(grant));
            },
          },
          {
            onLost: () => this.#onLeaseLost(session),
            onDeadline: () => {
              // The lease may expire from now on: a drain can no longer keep a successor out.
              this.interruptDrain('deadline');
              this.#onDeadline();
            },
            // A node that could not renew may have missed becoming first while its session was invalid
            // (the batch that made it first arrived during the outage): look again now that it is valid.
            onRenewed: () => {
              this.livenessMayHaveChanged();
              if (this.#session === session) this.#renewals.fire({ validUntilMs: session.validUntilMs });
              if (super.isLeader()) return;
              this.#evaluateLeadership();
              this.#republish();
            },
            onHeartbeat: (heartbeat) => this.heartbeats.fire(heartbeat),
          },
          signal,
        ),
      )
      .finally(() => {
        this.#granting = undefined;
      });
    const session: LeaseSession = await this.#granting;
    if (!this.running || this.#run !== run) {
      await session.revoke(AbortSignal.timeout(this.#etcd.requestTimeout)).catch(() => {});
      throw new ElectionStoppedError(this.nodeId, 'stopped while granting a lease');
    }
    this.#session = session;
    this.#leaseWasLost = false;
    run.membership.setCampaignKey(session.campaignKey);
    this.livenessMayHaveChanged();
    return session;
  }

  // ---- heartbeat -------------------------------------------------------------------------------

  #scheduleHeartbeat(): void {
    this.#heartbeatTimer = this.config.clock.setTimeout(
      () => void this.#heartbeat(),
      this.config.heartbeatInterval,
    );
  }

  // Also while stop() drains leader work: a lease that expired mid-drain would elect a successor while
  // that work still runs.
  async #heartbeat(): Promise<void> {
    if (!this.running && !this.draining) return;
    this.#session?.keepAlive();
    const wasHealthy = this.healthy;
    const healthy = await this.checkHealth();
    if (!this.running && !this.draining) return;
    if (healthy !== wasHealthy) {
      // Local first: a sick leader stops acting as one before it withdraws in etcd.
      this.#evaluateLeadership();
      this.#republish();
    }
    this.#kick();
    this.#scheduleHeartbeat();
  }

  // ---- helpers ---------------------------------------------------------------------------------

  #records(context: EtcdClusterContext) {
    return {
      client: this.client,
      keys: this.#keys,
      caller: context.caller,
      clock: this.config.clock,
      account: this.#account,
    };
  }

  /** The running context, or one held for the duration of `work` (an operator call before start()). */
  #withContext<T>(operation: string, work: (context: EtcdClusterContext) => Promise<T>): Promise<T> {
    return this.#run ? work(this.#run.context) : withContext(this.#contextRequest(operation), work);
  }

  /** What this election asks of its context: all its settings are required. */
  #contextRequest(operation: string): ContextRequest {
    const { requestTimeout } = this.#etcd;
    const settings = { requestTimeout, maxRetries: this.config.maxRetries, clock: this.config.clock };
    return {
      client: clientForOperation(() => this.client, operation, this.#etcd.endpoints),
      prefix: this.#keys.prefix,
      view: this.view,
      endpoints: this.#etcd.endpoints,
      required: settings,
      defaults: settings,
      // A silent watch is noticed within about three of these (jittered: see reconnect-pacing.ts).
      progressIntervalMs: this.config.electionTimeout,
    };
  }
}

/** Both signals, when there are two. */
function withSignal(signal: AbortSignal, other: AbortSignal | undefined): AbortSignal {
  return other ? AbortSignal.any([signal, other]) : signal;
}

function describeWrites(writes: Writes): string {
  const campaign = { create: 'campaign', withdraw: 'withdraw the candidacy', keep: '' }[writes.campaign];
  if (!writes.record) return campaign;
  return campaign ? `publish the member record and ${campaign}` : 'publish the member record';
}
