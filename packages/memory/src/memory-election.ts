import {
  BaseElection,
  type ClusterSnapshot,
  ElectionStoppedError,
  isNodeIdInUseError,
  type LeaderElectionConfig,
  type LeadershipLossReason,
  type NodeRegistration,
  resolveConfig,
  runHealthCheck,
  validateNodeId,
  validateRegistration,
} from '@ztap/cluster';
import { type CandidateToken, MemoryHub } from './hub.ts';

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
  readonly #hub: MemoryHub;
  #token: CandidateToken | undefined;
  #detach: (() => void) | undefined;
  #heartbeatTimer: unknown;
  #healthy = true;
  /** Aborts the wait for our id when stop() is called during start(). */
  #joining: AbortController | undefined;
  /** Set while another live election holds our id (taken while our record was gone). */
  #idConflict = false;

  constructor(options: InMemoryElectionOptions) {
    super(resolveConfig(options));
    this.#hub = options.hub ?? MemoryHub.default;
  }

  /** The hub this election belongs to. */
  get hub(): MemoryHub {
    return this.#hub;
  }

  protected async onStart(signal: AbortSignal | undefined): Promise<void> {
    this.#healthy = await this.#checkHealth();
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
    this.#idConflict = false;
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

  async registerNode(node: NodeRegistration): Promise<void> {
    this.#hub.register(validateRegistration(node), this.config.electionTimeout);
  }

  async deregisterNode(nodeId: string): Promise<void> {
    this.#hub.deregister(validateNodeId(nodeId));
  }

  #join(token: CandidateToken): void {
    this.#hub.join(
      {
        id: this.nodeId,
        address: this.config.nodeAddress,
        metadata: this.config.metadata,
        healthy: this.#healthy,
        electionTimeout: this.config.electionTimeout,
        initialLeadership: this.config.initialLeadership,
      },
      token,
    );
  }

  /**
   * Joins again after our record was removed. If a live election with our id took it meanwhile, we
   * do not fight over it (as on etcd): report the conflict once and try again on the next heartbeat.
   */
  #rejoin(token: CandidateToken): void {
    try {
      this.#join(token);
      this.#idConflict = false;
    } catch (error) {
      if (!isNodeIdInUseError(error)) throw error;
      if (!this.#idConflict) this.backendErrors.fire({ kind: 'node_id_in_use', error });
      this.#idConflict = true;
    }
  }

  #onSnapshot(snapshot: ClusterSnapshot, token: CandidateToken): void {
    this.publishSnapshot(snapshot);
    if (snapshot.leader?.id === this.nodeId && this.#hub.holds(this.nodeId, token)) {
      this.setLeadership(snapshot.leader.term);
    } else if (this.isLeader()) {
      this.setLeadership(undefined, this.#lossReason(token));
    }
  }

  #lossReason(token: CandidateToken): LeadershipLossReason {
    if (!this.#hub.holds(this.nodeId, token)) return 'lease_lost';
    return this.#healthy ? 'superseded' : 'unhealthy';
  }

  #scheduleHeartbeat(token: CandidateToken): void {
    this.#heartbeatTimer = this.config.clock.setTimeout(
      () => void this.#heartbeat(token),
      this.config.heartbeatInterval,
    );
  }

  async #heartbeat(token: CandidateToken): Promise<void> {
    const healthy = await this.#checkHealth();
    if (this.#token !== token) return; // stopped while the check ran
    this.#healthy = healthy;
    const sentAt = this.config.clock.monotonicNow();
    // An operator deregistered this running node: it is still alive, so it joins again (as it would on etcd).
    if (!this.#hub.heartbeat(this.nodeId, token, healthy)) this.#rejoin(token);
    this.heartbeats.fire({ latencySeconds: (this.config.clock.monotonicNow() - sentAt) / 1000, ok: true });
    this.#scheduleHeartbeat(token);
  }

  #checkHealth(): Promise<boolean> {
    const check = this.config.healthCheck;
    if (!check) return Promise.resolve(true);
    return runHealthCheck(check, this.config.heartbeatInterval, this.config.clock);
  }
}
