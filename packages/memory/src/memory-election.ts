import {
  type LeaderElectionConfig,
  type LeadershipLossReason,
  type NodeRegistration,
  type SignalOptions,
  validateNodeId,
  validateRegistration,
} from '@ztap/cluster';
import { BaseElection, type ClusterSnapshot, resolveConfig } from '@ztap/cluster/backend';
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
    await this.checkHealth();
    signal?.throwIfAborted();
    const token: CandidateToken = Symbol(this.nodeId);
    this.#token = token;
    this.#detach = this.#hub.attach((snapshot) => this.#onSnapshot(snapshot, token));
    this.#join(token);
    this.#scheduleHeartbeat(token);
  }

  protected async onStop(): Promise<void> {
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

  async registerNode(node: NodeRegistration, options: SignalOptions = {}): Promise<void> {
    options.signal?.throwIfAborted();
    this.#hub.register(validateRegistration(node), this.config.electionTimeout);
  }

  async deregisterNode(nodeId: string, options: SignalOptions = {}): Promise<void> {
    options.signal?.throwIfAborted();
    this.#hub.deregister(validateNodeId(nodeId));
  }

  #join(token: CandidateToken): void {
    this.#hub.join(
      {
        id: this.nodeId,
        address: this.config.nodeAddress,
        metadata: this.config.metadata,
        healthy: this.healthy,
        electionTimeout: this.config.electionTimeout,
        initialLeadership: this.config.initialLeadership,
      },
      token,
    );
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
    // An operator deregistered this running node: it is still alive, so it joins again (as it would on etcd).
    if (!this.#hub.heartbeat(this.nodeId, token, healthy)) this.#join(token);
    this.heartbeats.fire({ latencySeconds: (this.config.clock.monotonicNow() - sentAt) / 1000, ok: true });
    this.#scheduleHeartbeat(token);
  }
}
