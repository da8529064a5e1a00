import {
  ElectionStoppedError,
  isNodeIdInUseError,
  type LeaderElectionConfig,
  type LeadershipLossReason,
  type Liveness,
  NodeIdInUseError,
  type NodeRegistration,
  type SignalOptions,
  TransferError,
  type TransferResult,
  validateNodeId,
  validateRegistration,
} from '@ztap/cluster';
import {
  BaseElection,
  type ClusterSnapshot,
  LIVE,
  notLive,
  type PriorityCandidate,
  resolveConfig,
  type TransferRequest,
} from '@ztap/cluster/backend';
import { MemoryHub, stateOf } from './hub.ts';
import type { CandidateToken, HubState } from './hub-state.ts';

export interface InMemoryElectionOptions extends LeaderElectionConfig {
  /** The hub this node shares with the others; defaults to the process-wide `MemoryHub.default`. */
  readonly hub?: MemoryHub;
}

/**
 * A `LeaderElection` whose cluster lives in this process: for tests, demos and single-process use.
 * Nodes that share a {@link MemoryHub} see each other. The leader is the healthy candidate with the
 * lowest id (the seed's rule); a node that misses heartbeats for `electionTimeout` becomes unhealthy
 * and loses leadership. State is not persisted and nothing crosses process boundaries.
 *
 * The constructor validates the config and does nothing else.
 */
export class InMemoryElection extends BaseElection {
  readonly #handle: MemoryHub;
  readonly #hub: HubState;
  #token: CandidateToken | undefined;
  #detach: (() => void) | undefined;
  #heartbeatTimer: unknown;
  /** When the hub last accepted this node's heartbeat (monotonic ms). */
  #lastHeartbeatMs = 0;
  /** Aborts the wait for our id when stop() is called during start(). */
  #joining: AbortController | undefined;
  /** Set while another live election holds our id (taken while our record was gone). */
  #idConflict: NodeIdInUseError | undefined;

  constructor(options: InMemoryElectionOptions) {
    super(resolveConfig(options));
    this.#handle = options.hub ?? MemoryHub.default;
    this.#hub = stateOf(this.#handle);
  }

  /** The hub this election belongs to. */
  get hub(): MemoryHub {
    return this.#handle;
  }

  protected async onStart(signal: AbortSignal | undefined): Promise<void> {
    if (this.role === 'observer') {
      // Reads only: it follows the hub, and nobody else ever sees it.
      this.#detach = this.#hub.attach((snapshot) => this.publishSnapshot(snapshot));
      this.publishSnapshot(this.#hub.snapshot());
      return;
    }
    await this.checkHealth();
    signal?.throwIfAborted();
    const token: CandidateToken = Symbol(this.nodeId);
    this.#token = token;
    this.#detach = this.#hub.attach((snapshot) => this.#onSnapshot(snapshot, token));
    // Like a node on etcd, a node waiting for its id already sees the cluster.
    this.publishSnapshot(this.#hub.snapshot());
    const joining = new AbortController();
    this.#joining = joining;
    try {
      await this.#claimId(signal ? AbortSignal.any([signal, joining.signal]) : joining.signal);
    } finally {
      this.#joining = undefined;
    }
    this.#join(token);
    this.#scheduleHeartbeat(token);
  }

  /**
   * Waits until no other live election holds our id, as on etcd: a holder that heartbeats is a
   * running duplicate (refused with `NodeIdInUseError`), one that stays silent past its
   * electionTimeout crashed, and its id is ours to take.
   */
  async #claimId(signal: AbortSignal): Promise<void> {
    for (;;) {
      const refusal = this.#hub.refusalFor(this.nodeId);
      if (!refusal) return;
      if (!(await this.#hub.whenHolderSettles(this.nodeId, signal))) throw refusal;
    }
  }

  protected async onStop(): Promise<void> {
    this.#joining?.abort(new ElectionStoppedError(this.nodeId, 'stopped while waiting for its node id'));
    this.#idConflict = undefined;
    const token = this.#token;
    this.#token = undefined;
    this.config.clock.clearTimeout(this.#heartbeatTimer);
    if (token) this.#hub.leave(this.nodeId, token);
    this.#detach?.();
    this.#detach = undefined;
  }

  protected async onResign(): Promise<void> {
    if (this.#token) this.#hub.resign(this.nodeId, this.#token);
  }

  /**
   * The hub hands leadership over in one step once this node has stepped down and drained. Whatever
   * ends the transfer short of success, this node lets go of leadership afterwards, as after
   * `resign()`.
   */
  protected async onTransfer({ target, term, signal }: TransferRequest): Promise<TransferResult> {
    const token = this.#token;
    if (!token) throw new ElectionStoppedError(this.nodeId);
    const candidacy = this.#hub.candidacyOf(target);
    if (!candidacy.ok) throw new TransferError(target, candidacy.reason, candidacy.detail);
    await this.stepDownForTransfer();
    if (this.#token !== token) throw new ElectionStoppedError(this.nodeId, 'stopped during the transfer');
    if (signal.aborted) {
      this.#hub.resign(this.nodeId, token);
      throw signal.reason;
    }
    const outcome = this.#hub.transfer(token, term, target);
    if (outcome.ok) return { nodeId: target, term: outcome.term };
    const leader = this.#hub.snapshot().leader;
    if (leader?.id === target) return { nodeId: target, term: leader.term };
    this.#hub.resign(this.nodeId, token);
    throw new TransferError(target, outcome.reason === 'target_withdrew' ? outcome.reason : 'interrupted');
  }

  protected override priorityCandidates(): Iterable<PriorityCandidate> {
    return this.#token ? this.#hub.priorityCandidates(this.#token) : [];
  }

  protected backendLiveness(): Liveness {
    // An observer has no membership to vouch for: it is live while it follows the hub.
    if (this.role === 'observer')
      return this.#detach ? LIVE : notLive('this observer is not following the hub');
    const token = this.#token;
    if (!token) return notLive('this node has not joined the hub yet');
    const conflict = this.#idConflict;
    if (conflict) {
      return notLive(
        `${NodeIdInUseError.describe(conflict.nodeId, conflict.holder)}: this node stands aside until the id is free`,
      );
    }
    if (!this.#hub.holds(this.nodeId, token)) {
      return notLive("this node's record was removed from the hub; it joins again at its next heartbeat");
    }
    // The hub's own rule for a silent member, applied to ourselves: a stalled event loop or a hung
    // heartbeat must not leave the node vouching for a membership the others no longer trust.
    // The reason names no duration: it must not change while the silence lasts (one event, one log line).
    if (this.config.clock.monotonicNow() - this.#lastHeartbeatMs > this.config.electionTimeout) {
      return notLive(
        `this node has not heartbeated for longer than its electionTimeout (${this.config.electionTimeout} ms)`,
      );
    }
    return LIVE;
  }

  async registerNode(node: NodeRegistration, options: SignalOptions = {}): Promise<void> {
    options.signal?.throwIfAborted();
    this.#hub.register(validateRegistration(node), this.config.electionTimeout);
  }

  async deregisterNode(nodeId: string, options: SignalOptions = {}): Promise<void> {
    options.signal?.throwIfAborted();
    this.#hub.deregister(validateNodeId(nodeId));
  }

  #join(token: CandidateToken): void {
    // Joining is a heartbeat too; set first, since the hub tells every listener (us included) at once.
    this.#lastHeartbeatMs = this.config.clock.monotonicNow();
    this.#hub.join(
      {
        id: this.nodeId,
        address: this.config.nodeAddress,
        metadata: this.config.metadata,
        healthy: this.healthy,
        priority: this.config.priority,
        electionTimeout: this.config.electionTimeout,
        initialLeadership: this.config.initialLeadership,
        mayLead: this.role === 'candidate',
      },
      token,
    );
  }

  /**
   * Joins again after our record was removed. If a live election with our id took it meanwhile, we
   * do not fight over it (as on etcd): `liveness` says so, and we try again on the next heartbeat.
   */
  #rejoin(token: CandidateToken): void {
    this.#idConflict = undefined;
    try {
      this.#join(token);
    } catch (error) {
      if (!isNodeIdInUseError(error)) throw error;
      this.#idConflict = error;
    }
  }

  #onSnapshot(snapshot: ClusterSnapshot, token: CandidateToken): void {
    this.publishSnapshot(snapshot);
    this.livenessMayHaveChanged();
    if (snapshot.leader?.id === this.nodeId && this.#hub.holds(this.nodeId, token)) {
      this.setLeadership(snapshot.leader.term);
    } else if (this.isLeader()) {
      this.setLeadership(undefined, this.#lossReason(token));
    }
    this.reviewPriorities();
  }

  #lossReason(token: CandidateToken): LeadershipLossReason {
    if (!this.#hub.holds(this.nodeId, token)) return 'lease_lost';
    return this.healthy ? 'superseded' : 'unhealthy';
  }

  #scheduleHeartbeat(token: CandidateToken): void {
    this.#heartbeatTimer = this.config.clock.setTimeout(
      () => void this.#heartbeat(token),
      this.config.heartbeatInterval,
    );
  }

  async #heartbeat(token: CandidateToken): Promise<void> {
    const healthy = await this.checkHealth();
    if (this.#token !== token) return; // stopped while the check ran
    const sentAt = this.config.clock.monotonicNow();
    const accepted = this.#hub.heartbeat(this.nodeId, token, healthy);
    const latencySeconds = (this.config.clock.monotonicNow() - sentAt) / 1000;
    if (accepted) {
      this.#lastHeartbeatMs = sentAt;
      this.heartbeats.fire({ ok: true, latencySeconds });
    } else {
      // The hub no longer holds our record (an operator deregistered this running node): the
      // heartbeat failed like a keepalive for a lost lease. The node is alive, so it joins again.
      this.heartbeats.fire({ ok: false, latencySeconds, failure: 'lease_lost' });
      this.leaseLost();
      this.#rejoin(token);
    }
    this.livenessMayHaveChanged();
    this.#scheduleHeartbeat(token);
  }
}
