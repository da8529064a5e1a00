import {
  BaseElection,
  type Clock,
  ElectionStoppedError,
  type Event,
  EventEmitter,
  FencedWriteError,
  type LeaderRecord,
  type LeadershipLossReason,
  type Liveness,
  type MemberRecord,
  NodeIdInUseError,
  type NodeRegistration,
  notLive,
  resolveConfig,
  type TimerHandle,
  ValidationError,
} from '@ztap/cluster';
import type { Etcd3, ICompare, IRequestOp, ITxnResponse } from 'etcd3';
import { EtcdCaller } from './calls.ts';
import { createEtcdClient } from './client.ts';
import { leaderFrom, MemberRecords, memberFrom, membersFrom } from './cluster-store.ts';
import { keepaliveChannelFor } from './keepalive.ts';
import { encodeMember, KeyLayout } from './keys.ts';
import { LeaseSession } from './lease-session.ts';
import { sessionLiveness } from './liveness.ts';
import { awaitRelease, holderOf, type RecordStanding, recordWrite, standingOf } from './member-claim.ts';
import { acquireMirror, type MirrorBatch, type MirrorEntry, type PrefixMirror, toEntry } from './mirror.ts';
import { type EtcdElectionOptions, type ResolvedEtcdOptions, resolveEtcdOptions } from './options.ts';

/** A transaction that commits only while a leadership term is current (see {@link EtcdElection.guardedTxn}). */
export interface GuardedTxn {
  /** The fencing token the writer believes it holds. */
  readonly term: number;
  /** Further conditions (e.g. a version compare-and-set); they decide between `success` and `failure`. */
  readonly compare?: ICompare[];
  readonly success?: IRequestOp[];
  /** Reads only (`request_range`), run when one of `compare` fails. */
  readonly failure?: IRequestOp[];
}

const bytes = (text: string) => Buffer.from(text);

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
 * Leadership follows etcd's Go `concurrency` recipe: the campaign key with the lowest create revision
 * under `<prefix>election/` leads, and its create revision is the fencing token (`term`).
 *
 * Safety rules (see docs/safety.md):
 * - leadership is decided from a revision-ordered mirror of the prefix: at revision R the live
 *   campaign key with the lowest create revision leads, and stays first until it is deleted, so
 *   re-checking "still mine, still first" after every change costs no request and no second leader;
 * - the node stops acting as leader when `send time of the last successful keepalive + TTL − margin`
 *   passes (monotonic clock), even if etcd is unreachable;
 * - leader-only writes go through {@link guardedTxn}, which etcd refuses once the term is stale;
 * - `resign()` and `stop()` keep the lease alive while leader work drains, and give up the drain when
 *   the step-down deadline passes (from then on the lease may expire and a successor be elected).
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
  readonly #caller: EtcdCaller;
  readonly #records: MemberRecords;
  #client: Etcd3 | undefined;
  #mirror: PrefixMirror | undefined;
  #releaseMirror: (() => Promise<void>) | undefined;
  #unsubscribe: (() => void) | undefined;
  #session: LeaseSession | undefined;
  #granting: Promise<LeaseSession> | undefined;
  /** The last lease was lost (expired, revoked) and no new one is granted yet: for `liveness`. */
  #leaseWasLost = false;
  #eligibleAtMs = 0;
  /** Our campaign key must go and come back at the end of the queue (after resign or a missed deadline). */
  #requeue = false;
  /** The revision of our last write: the mirror must reach it before we judge our own keys from it. */
  #writeFloor = 0;
  #reconciling: Promise<void> | undefined;
  #reconcileAgain = false;
  #heartbeatTimer: TimerHandle | undefined;
  #eligibilityTimer: TimerHandle | undefined;
  #joinedAt = new Date(0);
  #leadershipKey: string | undefined;
  #lastError: Error | undefined;
  /** False until start() has made sure no live node holds our id: nothing is granted or written before. */
  #idCleared = false;
  /** Aborts the wait for our id when stop() is called during start(). */
  #joining: AbortController | undefined;
  /** Set while another live lease holds our member record: we neither write it nor campaign. */
  #idConflict: NodeIdInUseError | undefined;
  /** Leases of ours that are gone: a view still showing our record on one is late, not a conflict. */
  readonly #retiredLeaseIds = new Set<string>();
  readonly #renewals = new EventEmitter<LeaseRenewal>();

  /**
   * Fires each time a keepalive moves the step-down deadline forward, leader or not. For supervisors
   * that must hold the same deadline elsewhere (`ztap run` hands it to the process that guards the
   * command); a leader should still watch {@link leadershipSignal}, which also ends for other reasons.
   */
  readonly onLeaseRenewed: Event<LeaseRenewal> = this.#renewals.event;

  constructor(options: EtcdElectionOptions) {
    const config = resolveConfig(options);
    super(config);
    this.#etcd = resolveEtcdOptions(options, config);
    this.#keys = new KeyLayout(this.#etcd.prefix);
    this.#caller = new EtcdCaller({
      endpoints: this.#etcd.endpoints,
      maxRetries: config.maxRetries,
      requestTimeout: this.#etcd.requestTimeout,
      onError: (kind, error) => this.backendErrors.fire({ kind, error }),
    });
    this.#records = new MemberRecords(() => this.client, this.#keys, this.#caller, config.clock);
  }

  /** The key prefix of this cluster (ends in `/`). */
  get prefix(): string {
    return this.#keys.prefix;
  }

  protected override logBindings(): Record<string, unknown> {
    return { prefix: this.prefix };
  }

  /** The keys this election uses. */
  get keys(): KeyLayout {
    return this.#keys;
  }

  /** The etcd client (created on first use when the election builds its own). */
  get client(): Etcd3 {
    this.#client ??=
      this.#etcd.client ??
      createEtcdClient({
        endpoints: this.#etcd.endpoints,
        tls: this.#etcd.tls,
        auth: this.#etcd.auth,
        requestTimeout: this.#etcd.requestTimeout,
      });
    return this.#client;
  }

  /** The current lease id (decimal), while running. */
  get leaseId(): string | undefined {
    return this.#session?.id;
  }

  /** The clock this election keeps time with. */
  get clock(): Clock {
    return this.config.clock;
  }

  /** The endpoints this election talks to. */
  get endpoints(): readonly string[] {
    return this.#etcd.endpoints;
  }

  /** The last error met talking to etcd, cleared by the next success; for health endpoints. */
  get lastError(): Error | undefined {
    return this.#lastError ?? this.#mirror?.lastError;
  }

  /** How many requests this election has sent to etcd (retries included; keepalives and the watch are streams). */
  get requestCount(): number {
    return this.#caller.attempts;
  }

  /** How many times the membership view was rebuilt from a full list (reconnects, compactions). */
  get resyncCount(): number {
    return this.#mirror?.resyncCount ?? 0;
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
   * with `succeeded: false` and the responses of your `failure` ops, which must be reads). Flat on
   * purpose: etcd 3.4 does not count puts inside a nested transaction against its backend quota, so
   * a nested write would slip past a NOSPACE alarm.
   * Not retried: the caller decides whether repeating its operations is safe.
   */
  async guardedTxn(txn: GuardedTxn): Promise<ITxnResponse> {
    const key = this.#leadershipKey;
    if (!this.isLeader() || this.term !== txn.term || key === undefined) throw new FencedWriteError(txn.term);
    const failure = txn.failure ?? [];
    if (failure.some((op) => !op.request_range)) {
      throw new ValidationError(
        'failure',
        'of a guarded transaction may only read (request_range): it also runs when the writer is fenced',
      );
    }
    const response = await this.#caller.call(
      'commit a leader-only write',
      (options) =>
        this.client.kv.txn(
          {
            compare: [
              { key: bytes(key), target: 'Create', result: 'Equal', create_revision: String(txn.term) },
              ...(txn.compare ?? []),
            ],
            success: txn.success ?? [],
            failure: [{ request_range: { key: bytes(key) } }, ...failure],
          },
          options,
        ),
      undefined,
      { retry: false },
    );
    if (response.succeeded) return response;
    const [fence, ...rest] = response.responses;
    const campaign = fence?.response_range?.kvs[0];
    if (!campaign || Number(campaign.create_revision) !== txn.term) throw new FencedWriteError(txn.term);
    return { ...response, responses: rest };
  }

  async registerNode(node: NodeRegistration): Promise<void> {
    await this.#awaitMirror(await this.#records.register(node));
  }

  async deregisterNode(nodeId: string): Promise<void> {
    await this.#awaitMirror(await this.#records.deregister(nodeId));
  }

  protected async onStart(signal: AbortSignal | undefined): Promise<void> {
    const client = this.client;
    await this.checkHealth();
    const { mirror, release } = acquireMirror(client, this.#keys.prefix, this.#caller, {
      progressIntervalMs: this.config.electionTimeout,
      clock: this.config.clock,
    });
    this.#mirror = mirror;
    this.#releaseMirror = release;
    this.#unsubscribe = mirror.subscribe((batch) => this.#onBatch(batch));
    await abortable(mirror.start(), signal);
    this.#publishAll();
    const joining = new AbortController();
    this.#joining = joining;
    const waitSignal = signal ? AbortSignal.any([signal, joining.signal]) : joining.signal;
    try {
      // Before any lease or write: a duplicate is refused without leaving a trace.
      await this.#awaitOwnId(waitSignal);
      this.#idCleared = true;
      this.#joinedAt = this.config.clock.wallNow();
      this.#eligibleAtMs = this.config.clock.monotonicNow() + this.config.initialLeadership;
      if (this.config.initialLeadership > 0) {
        this.#eligibilityTimer = this.config.clock.setTimeout(
          () => this.#kick(),
          this.config.initialLeadership,
        );
      }
      // Heartbeats (keepalives) begin before the join completes: a join slower than the lease TTL
      // (hundreds of nodes starting in one busy process) must not outlive its own lease.
      this.#scheduleHeartbeat();
      for (;;) {
        await abortable(this.#reconcile(), signal);
        if (this.#lastError) throw this.#lastError;
        await abortable(this.#awaitMirror(this.#writeFloor), signal);
        if (!this.#idConflict) break;
        // A node with our id wrote its record between our look and our write: judge it the same way.
        await this.#awaitOwnId(waitSignal);
      }
    } finally {
      this.#joining = undefined;
    }
  }

  /**
   * Waits while another lease holds our member record: rejects with `NodeIdInUseError` if that
   * lease is kept alive (a running duplicate), resolves once it is gone (our own crashed previous
   * incarnation, whose lease runs out about one TTL after its crash).
   */
  #awaitOwnId(signal: AbortSignal): Promise<void> {
    const mirror = this.#mirror;
    if (!mirror) return Promise.reject(new ElectionStoppedError(this.nodeId));
    const waiting = awaitRelease(
      {
        nodeId: this.nodeId,
        memberKey: this.#keys.memberKey(this.nodeId),
        mirror,
        client: this.client,
        caller: this.#caller,
        clock: this.config.clock,
        pollIntervalMs: this.config.heartbeatInterval,
        isReleased: (entry) => this.#standing(entry).kind !== 'held',
      },
      signal,
    );
    // An in-flight request ends at its own deadline; the caller hears of the abort at once.
    return abortable(waiting, signal);
  }

  #standing(entry: MirrorEntry | undefined): RecordStanding {
    return standingOf(entry, this.#session?.id, this.#retiredLeaseIds, this.#wantedRecord());
  }

  #wantedRecord(): string {
    return encodeMember({
      address: this.config.nodeAddress,
      metadata: this.config.metadata,
      joinedAt: this.#joinedAt.toISOString(),
      health: this.healthy ? 'healthy' : 'unhealthy',
    });
  }

  protected async onStop(): Promise<void> {
    this.#joining?.abort(new ElectionStoppedError(this.nodeId, 'stopped while waiting for its node id'));
    this.#idCleared = false;
    this.config.clock.clearTimeout(this.#heartbeatTimer);
    this.config.clock.clearTimeout(this.#eligibilityTimer);
    await this.#reconciling?.catch(() => {});
    const session = this.#session;
    this.#session = undefined;
    this.#leadershipKey = undefined;
    if (session) {
      // Revoking deletes our member record and campaign key in one revision: the successor is
      // elected at the speed of one watch event instead of waiting out the TTL.
      const revision = await session.revoke(this.client, this.#caller).catch(() => undefined);
      if (revision !== undefined) await this.#awaitMirror(revision).catch(() => {});
    }
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    await this.#releaseMirror?.();
    this.#releaseMirror = undefined;
    this.#mirror = undefined;
    this.#writeFloor = 0;
    this.#requeue = false;
    this.#idConflict = undefined;
    this.#retiredLeaseIds.clear();
    if (this.#client && this.#client !== this.#etcd.client) {
      this.#client.close();
      this.#client = undefined;
    }
  }

  protected async onResign(): Promise<void> {
    this.#requeue = true;
    this.#publishLeader();
    await this.#reconcile();
  }

  protected backendLiveness(): Liveness {
    const conflict = this.#idConflict;
    if (conflict) {
      return notLive(
        `${NodeIdInUseError.describe(conflict.nodeId, conflict.holder)}: this node stands aside until the id is free`,
      );
    }
    const session = this.#session;
    const member = session && this.#mirror?.get(this.#keys.memberKey(this.nodeId));
    return sessionLiveness(session, this.#leaseWasLost, member?.lease);
  }

  // ---- reacting to etcd ------------------------------------------------------------------------

  #onBatch(batch: MirrorBatch): void {
    // While stopping, keep publishing: our own watchers still get the departure before they end.
    if (!this.#mirror) return;
    if (batch.resync) this.resyncs.fire();
    this.#evaluateLeadership();
    const upserts: MemberRecord[] = [];
    const removals: string[] = [];
    const lastSeen = this.config.clock.wallNow();
    for (const key of batch.changedKeys) {
      if (!key.startsWith(this.#keys.membersPrefix)) continue;
      const id = key.slice(this.#keys.membersPrefix.length);
      const member = this.#memberFromMirror(id, lastSeen);
      if (member) upserts.push(member);
      else removals.push(id);
    }
    this.publishDelta({ upserts, removals, leader: this.#leaderRecord() });
    this.livenessMayHaveChanged();
    if (this.#needsReconcile(batch)) this.#kick();
  }

  /** Our own keys changed, or our writes became visible: the store may no longer match what we want. */
  #needsReconcile(batch: MirrorBatch): boolean {
    if (batch.resync || this.#mirror === undefined) return true;
    const session = this.#session;
    if (!session) return true;
    return (
      batch.changedKeys.has(this.#keys.memberKey(this.nodeId)) || batch.changedKeys.has(session.campaignKey)
    );
  }

  #memberFromMirror(id: string, lastSeen: Date): MemberRecord | undefined {
    const entry = this.#mirror?.get(this.#keys.memberKey(id));
    return entry ? memberFrom(entry, this.#keys, lastSeen) : undefined;
  }

  #publishAll(): void {
    const mirror = this.#mirror;
    if (!mirror) return;
    const upserts = membersFrom(
      mirror.entriesUnder(this.#keys.membersPrefix),
      this.#keys,
      this.config.clock.wallNow(),
    );
    this.#evaluateLeadership();
    this.publishDelta({ upserts, removals: [], leader: this.#leaderRecord() });
  }

  /** Republishes only the leader (our own leadership changed without a store event). */
  #publishLeader(): void {
    this.publishDelta({ upserts: [], removals: [], leader: this.#leaderRecord() });
  }

  /**
   * The leader in this node's view: the first campaign key, except that this node never shows itself
   * as leader while it may not act as one (it stepped down locally before etcd noticed).
   */
  #leaderRecord(): LeaderRecord | undefined {
    const leader = leaderFrom(this.#mirror?.firstCampaign(this.#keys.electionPrefix));
    if (leader?.id === this.nodeId && !super.isLeader()) return undefined;
    return leader;
  }

  #evaluateLeadership(): void {
    const session = this.#session;
    const mirror = this.#mirror;
    let term: number | undefined;
    let lossReason: LeadershipLossReason = 'superseded';
    if (!session || session.lost) lossReason = 'lease_lost';
    else if (!session.valid) lossReason = 'deadline';
    else if (!this.healthy) lossReason = 'unhealthy';
    else if (this.#requeue) lossReason = 'resigned';
    else if (this.#idConflict) lossReason = 'lease_lost';
    else if (mirror) {
      const campaignKey = session.campaignKey;
      const own = mirror.get(campaignKey);
      const first = mirror.firstCampaign(this.#keys.electionPrefix);
      if (!own) lossReason = 'lease_lost';
      else if (first?.key === campaignKey) term = own.createRevision;
    }
    this.#leadershipKey = term === undefined ? undefined : (session as LeaseSession).campaignKey;
    this.setLeadership(term, lossReason);
  }

  #checkDeadline(): void {
    const session = this.#session;
    if (session && !session.valid && super.isLeader()) this.#onDeadline();
  }

  #onDeadline(): void {
    this.livenessMayHaveChanged();
    if (!super.isLeader()) return;
    this.#requeue = true;
    this.setLeadership(undefined, 'deadline');
    this.#publishLeader();
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
    this.#leadershipKey = undefined;
    this.livenessMayHaveChanged();
    this.setLeadership(undefined, 'lease_lost');
    this.#publishLeader();
    this.#kick();
  }

  // ---- making etcd match what we want ----------------------------------------------------------

  /** Starts a reconcile in the background; failures are recorded and retried on the next heartbeat. */
  #kick(): void {
    if (this.running && this.#idCleared) this.#reconcile().catch(() => {});
  }

  /** Serialized: one reconcile at a time; a request during one runs another right after it. */
  #reconcile(): Promise<void> {
    if (this.#reconciling) {
      this.#reconcileAgain = true;
      return this.#reconciling;
    }
    this.#reconciling = (async () => {
      try {
        do {
          this.#reconcileAgain = false;
          await this.#reconcileOnce();
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

  async #reconcileOnce(): Promise<void> {
    if (!this.running) return;
    const session = await this.#ensureSession();
    try {
      await this.#reconcileKeys(session);
    } catch (error) {
      // etcd says the lease is gone before a keepalive told us: same as losing it.
      if (/requested lease not found/.test(String((error as Error).cause ?? error)))
        this.#onLeaseLost(session);
      throw error;
    }
  }

  async #reconcileKeys(session: LeaseSession): Promise<void> {
    const mirror = this.#mirror;
    // Judging our keys from a mirror that has not seen our last write would undo or repeat it.
    if (!mirror || mirror.revision < this.#writeFloor || !this.running) return;

    const holdsRecord = await this.#publishRecord(mirror, session);

    const campaignKey = session.campaignKey;
    const campaign = mirror.get(campaignKey);
    // A node that does not hold its member record is not a member, so it does not campaign either.
    const eligible = holdsRecord && this.healthy && this.config.clock.monotonicNow() >= this.#eligibleAtMs;
    if (campaign && (this.#requeue || !eligible)) {
      const response = await this.#caller.call('withdraw the candidacy', (options) =>
        this.client.kv.deleteRange({ key: bytes(campaignKey) }, options),
      );
      this.#requeue = false;
      this.#raiseWriteFloor(response.header.revision);
    } else if (!campaign && eligible) {
      this.#requeue = false;
      // Create-if-absent, as in Go's Campaign: never overwrite a key that exists (a retry after a lost
      // answer must not move us back in the queue).
      const key = bytes(campaignKey);
      const response = await this.#caller.call('campaign', (options) =>
        this.client.kv.txn(
          {
            compare: [{ key, target: 'Create', result: 'Equal', create_revision: '0' }],
            success: [{ request_put: { key, value: bytes(this.nodeId), lease: session.id } }],
            failure: [],
          },
          options,
        ),
      );
      this.#raiseWriteFloor(response.header.revision);
    }
  }

  /**
   * Makes the member record say what we want, on our lease, without ever overwriting a record that
   * another live lease holds. Returns whether we hold it.
   */
  async #publishRecord(mirror: PrefixMirror, session: LeaseSession): Promise<boolean> {
    const memberKey = this.#keys.memberKey(this.nodeId);
    const wanted = this.#wantedRecord();
    let entry = mirror.get(memberKey);
    // Twice at most: a write that lost a race reads the winner, and only a record deleted in between
    // (a late view of a gone lease) is worth a second try.
    for (let attempt = 0; attempt < 2; attempt++) {
      const standing = this.#standing(entry);
      if (standing.kind === 'held') {
        this.#onIdTaken(standing.entry);
        return false;
      }
      this.#idConflict = undefined;
      if (standing.kind === 'ours' && standing.current) return true;
      const expected =
        standing.kind === 'free' ? { modRevision: standing.modRevision } : { onLease: session.id };
      const response = await this.#caller.call('publish the member record', (options) =>
        this.client.kv.txn(recordWrite(memberKey, wanted, session.id, expected), options),
      );
      if (response.succeeded) {
        this.#raiseWriteFloor(response.header.revision);
        return true;
      }
      const current = response.responses[0]?.response_range?.kvs[0];
      entry = current ? toEntry(current) : undefined;
      // Judge the next pass from a view that has seen the record as it is now.
      if (entry) this.#raiseWriteFloor(String(entry.modRevision));
    }
    return false;
  }

  /**
   * Another live lease holds our record (it was deleted while we ran, and a node with our id took
   * it). Fighting over it would flip it back and forth: we stop leading and campaigning, say so in
   * `liveness`, and claim the record again once it is free.
   */
  #onIdTaken(entry: MirrorEntry): void {
    if (this.#idConflict?.holder.leaseId === entry.lease) return;
    this.#idConflict = new NodeIdInUseError(this.nodeId, holderOf(this.nodeId, entry));
    // Local first: stop acting as leader before the campaign key is withdrawn.
    this.#evaluateLeadership();
    this.#publishLeader();
    this.livenessMayHaveChanged();
  }

  #raiseWriteFloor(revision: string): void {
    this.#writeFloor = Math.max(this.#writeFloor, Number(revision));
  }

  async #ensureSession(): Promise<LeaseSession> {
    if (this.#session && !this.#session.lost) return this.#session;
    this.#granting ??= LeaseSession.grant(
      this.client,
      this.#caller,
      {
        ttlSeconds: this.#etcd.leaseTtlSeconds,
        marginMs: this.#etcd.stepDownMargin,
        clock: this.config.clock,
        channel: keepaliveChannelFor(this.client, this.config.clock, this.#etcd.requestTimeout),
        electionPrefix: this.#keys.electionPrefix,
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
          this.#publishLeader();
        },
        onHeartbeat: (heartbeat) => this.heartbeats.fire(heartbeat),
      },
    ).finally(() => {
      this.#granting = undefined;
    });
    const session: LeaseSession = await this.#granting;
    if (!this.running) {
      await session.revoke(this.client, this.#caller).catch(() => {});
      throw new Error('stopped while granting a lease');
    }
    this.#session = session;
    this.#leaseWasLost = false;
    this.livenessMayHaveChanged();
    return session;
  }

  /**
   * Resolves once the mirror reflects `revision` (our own write is visible to us), or after a request
   * timeout: a lagging watch is the mirror's to repair, not ours to hang on.
   */
  async #awaitMirror(revision: number): Promise<void> {
    const mirror = this.#mirror;
    if (!mirror || mirror.revision >= revision) return;
    const clock = this.config.clock;
    await new Promise<void>((resolve) => {
      const finish = () => {
        clock.clearTimeout(timer);
        unsubscribe();
        resolve();
      };
      const timer = clock.setTimeout(finish, this.#etcd.requestTimeout);
      const unsubscribe = mirror.subscribe(() => {
        if (mirror.revision >= revision) finish();
      });
    });
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
      this.#publishLeader();
    }
    this.#kick();
    this.#scheduleHeartbeat();
  }
}

/** Rejects with the signal's reason when it aborts first; the work itself is left to finish. */
function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
