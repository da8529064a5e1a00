import {
  AlreadyStartedError,
  type Event,
  FencedWriteError,
  isElectionStoppedError,
  type Leadership,
  type PolicySync,
  type SignalOptions,
} from '@ztap/cluster';
import {
  createEtcdClient,
  EtcdElection,
  type EtcdElectionOptions,
  EtcdPolicySync,
  type GuardedTxn,
} from '@ztap/cluster-etcd';
import type { Etcd3, ITxnResponse } from 'etcd3';
import { EtcdCalls } from './calls.ts';
import { runCandidacy } from './candidacy.ts';
import { Emitter } from './emitter.ts';
import { GlobalLeadership, type GlobalLeadershipEvent } from './global-leadership.ts';
import { GlobalPolicies } from './global-policies.ts';
import { GlobalLayout, ReplicaLayout } from './layout.ts';
import {
  type MultiRegionNodeOptions,
  type ResolvedMultiRegionOptions,
  requestTimeoutOf,
  resolveMultiRegionOptions,
} from './options.ts';
import { pause } from './pause.ts';
import { encodeRegion, type GlobalLeaderRecord } from './records.ts';
import { ReplicatedPolicies } from './replicated-policies.ts';
import { type ReplicationEvent, Replicator } from './replicator.ts';

/** What a multi-region node reports as it goes. */
export interface MultiRegionTelemetry {
  /** This node began or stopped leading globally. */
  readonly onGlobalLeadership: Event<GlobalLeadershipEvent>;
  /** Replication into this region did something (only on the regional leader). */
  readonly onReplication: Event<ReplicationEvent>;
}

/** One etcd connection of the node: the client it uses and how it reports failures. */
interface Connection {
  readonly client: Etcd3;
  readonly owned: boolean;
  readonly calls: EtcdCalls;
}

function connect(
  options: EtcdElectionOptions,
  label: string,
): { connection: Connection; election: EtcdElectionOptions } {
  const requestTimeout = requestTimeoutOf(options);
  const endpoints = options.endpoints ?? [`the ${label} etcd client`];
  const calls = new EtcdCalls(endpoints, { requestTimeout, maxRetries: options.maxRetries ?? 3 });
  const { endpoints: _endpoints, tls, auth, client: given, ...rest } = options;
  const client =
    given ??
    createEtcdClient({
      endpoints: options.endpoints ?? ['http://127.0.0.1:2379'],
      requestTimeout,
      tls,
      auth,
    });
  return { connection: { client, owned: given === undefined, calls }, election: { ...rest, client } };
}

type Lifecycle = 'idle' | 'starting' | 'running' | 'stopping';

/**
 * A node of a multi-region cluster: an ordinary `EtcdElection` in its region, and, while it leads
 * its region, a candidate for the one global leadership on the global etcd. While it leads its
 * region it also replicates the global policies into the region (fenced by its regional term).
 * Every node reads global policies from its own region only ({@link policies}).
 *
 * Hierarchy: global leadership is held only while the regional one is; when the region is lost the
 * global leadership ends locally at once (signal, `isGlobalLeader()`), then the global election
 * stops (leader work drains, the global lease is revoked). See docs/multi-region.md.
 *
 * The constructor validates and does no I/O.
 */
export class MultiRegionNode implements AsyncDisposable {
  readonly nodeId: string;
  readonly region: string;
  readonly homeRegion: string | undefined;
  /** The regional election (regional leader work, membership, liveness for health checks). */
  readonly regional: EtcdElection;
  /** The global policies as this region holds them: read-only, from the regional etcd. */
  readonly policies: ReplicatedPolicies;
  /** Policies of this region only, written by the regional leader (fenced by its regional term). */
  readonly regionalPolicies: EtcdPolicySync;
  /** Global policies in the global store: writes only from the global leader, fenced by the global term. */
  readonly globalPolicies: PolicySync;
  readonly telemetry: MultiRegionTelemetry;
  readonly #options: ResolvedMultiRegionOptions;
  readonly #global: EtcdElection;
  readonly #leadership: GlobalLeadership;
  readonly #replicator: Replicator;
  readonly #regionalConnection: Connection;
  readonly #globalConnection: Connection;
  readonly #globalLayout: GlobalLayout;
  readonly #replication = new Emitter<ReplicationEvent>();
  #lifecycle: Lifecycle = 'idle';
  #leading: AbortController | undefined;
  #leadLoop: Promise<void> | undefined;
  #lastError: Error | undefined;

  constructor(options: MultiRegionNodeOptions) {
    const resolved = resolveMultiRegionOptions(options);
    this.#options = resolved;
    this.nodeId = resolved.nodeId;
    this.region = resolved.region;
    this.homeRegion = resolved.homeRegion;
    const regional = connect(resolved.regional, 'regional');
    const global = connect(resolved.global, 'global');
    this.#regionalConnection = regional.connection;
    this.#globalConnection = global.connection;
    // Both elections validate their own options here: a bad option fails before any I/O.
    this.regional = new EtcdElection(regional.election);
    this.#global = new EtcdElection({
      ...global.election,
      // Campaign globally only while this node leads its region and can vouch for it.
      healthCheck: () =>
        this.regional.isLeader() && this.regional.liveness.ok
          ? true
          : { healthy: false, reason: `${this.nodeId} does not lead region ${this.region}` },
    });
    this.#leadership = new GlobalLeadership(this.regional, this.#global);
    this.#global.telemetry.onLeadership((event) => {
      if (event.leading) {
        if (this.#leading && !this.#leading.signal.aborted) this.#leadership.gain(event.term);
      } else this.#leadership.lose(event.reason ?? 'superseded');
    });
    this.#globalLayout = new GlobalLayout(resolved.globalPrefix);
    this.policies = new ReplicatedPolicies({
      client: this.#regionalConnection.client,
      prefix: resolved.replicaPrefix,
      requestTimeout: this.#regionalConnection.calls.requestTimeout,
      clock: resolved.clock,
    });
    this.regionalPolicies = new EtcdPolicySync(this.regional);
    this.globalPolicies = new GlobalPolicies(new EtcdPolicySync(this.#global), this.#leadership, this.nodeId);
    this.#replicator = new Replicator({
      regional: this.regional,
      regionalClient: this.#regionalConnection.client,
      regionalCalls: this.#regionalConnection.calls,
      globalClient: this.#globalConnection.client,
      globalCalls: this.#globalConnection.calls,
      globalLayout: this.#globalLayout,
      replicaLayout: new ReplicaLayout(resolved.replicaPrefix),
      confirmIntervalMs: resolved.confirmIntervalMs,
      clock: resolved.clock,
      globalLeader: () => this.#globalLeaderInView(),
      events: this.#replication,
    });
    this.#replication.event((event) => {
      if (event.type === 'error') this.#lastError = event.error;
    });
    this.telemetry = {
      onGlobalLeadership: this.#leadership.onChange,
      onReplication: this.#replication.event,
    };
  }

  /** Whether this node leads globally now: it leads its region and the global election. */
  isGlobalLeader(): boolean {
    return this.#leadership.isLeader();
  }

  /** The global term while this node leads globally: the fencing token of global writes. */
  get globalTerm(): number | undefined {
    return this.#leadership.term;
  }

  /** Aborts the moment this node may no longer act as global leader (already aborted while it is not). */
  get globalLeadershipSignal(): AbortSignal {
    return this.#leadership.signal;
  }

  /**
   * Who leads globally: from the global election while this node campaigns there (it leads its
   * region), otherwise as this region's leader last confirmed it into the region (as stale as
   * {@link replicationLagMs}).
   */
  get globalLeader(): GlobalLeaderRecord | undefined {
    return this.#globalLeaderInView() ?? this.policies.globalLeader;
  }

  /** How stale this region's copy of the global policies may be, ms (undefined: never confirmed). */
  get replicationLagMs(): number | undefined {
    return this.policies.lagMs;
  }

  /** The last replication or candidacy failure, for health endpoints and logs. */
  get lastError(): Error | undefined {
    return this.#lastError;
  }

  /** The global election's node id: `<nodeId>@<region>`. */
  get globalNodeId(): string {
    return this.#options.globalNodeId;
  }

  /** Where this cluster's keys live: the regional and global cluster prefixes and the replicas. */
  get prefixes(): { regional: string; global: string; replica: string } {
    const options = this.#options;
    return { regional: options.regionalPrefix, global: options.globalPrefix, replica: options.replicaPrefix };
  }

  /** Resolves with the next global leadership of this node (at once if it leads globally now). */
  waitForGlobalLeadership(options: SignalOptions = {}): Promise<Leadership> {
    return this.#leadership.waitFor(options.signal);
  }

  /**
   * Runs `fn` once this node leads globally, with the global term and a signal that aborts when
   * global leadership ends (including when the region is lost). The work is tracked by the global
   * election: stopping it (on regional loss, `stop()`) waits for the work, at most its
   * `drainTimeout`, before releasing global leadership.
   */
  async runWhileGlobalLeader<T>(
    fn: (leadership: Leadership) => Promise<T> | T,
    options: SignalOptions = {},
  ): Promise<T> {
    const skipped = Symbol('another term');
    for (;;) {
      const wanted = await this.#leadership.waitFor(options.signal);
      try {
        const result = await this.#global.runWhileLeader((leadership) => {
          // The global election may have moved on between the two waits: only the term we were granted.
          if (leadership.term !== wanted.term || wanted.signal.aborted) return skipped;
          const signals = [leadership.signal, wanted.signal, ...(options.signal ? [options.signal] : [])];
          return fn({ term: wanted.term, signal: AbortSignal.any(signals) });
        }, options);
        if (result !== skipped) return result as T;
      } catch (error) {
        // The global election stopped (the region was lost) before the work began: wait again.
        if (!isElectionStoppedError(error) || this.#lifecycle !== 'running') throw error;
      }
    }
  }

  /**
   * A transaction on the global store that commits only while global leadership of `term` is
   * current: refused locally unless this node leads globally under `term`, then fenced by etcd
   * (the global election's `guardedTxn`).
   */
  globalGuardedTxn(txn: GuardedTxn): Promise<ITxnResponse> {
    if (this.#leadership.term !== txn.term) return Promise.reject(new FencedWriteError(txn.term));
    return this.#global.guardedTxn(txn);
  }

  /**
   * Joins the region (the regional election), starts following the replicated policies, and from
   * then on campaigns globally and replicates whenever this node leads its region. Rejects if the
   * regional etcd cannot be reached; the global etcd may be unreachable (the node retries).
   */
  async start(options: SignalOptions = {}): Promise<void> {
    if (this.#lifecycle !== 'idle') throw new AlreadyStartedError(this.nodeId);
    this.#lifecycle = 'starting';
    const starting = (async () => {
      await this.regional.start(options);
      await this.policies.start(options);
    })();
    this.#starting = starting.catch(() => {});
    try {
      await starting;
    } catch (error) {
      await this.#shutdown();
      throw error;
    } finally {
      this.#starting = undefined;
    }
    const leading = new AbortController();
    this.#leading = leading;
    this.#leadLoop = this.#leadEveryRegionalTerm(leading.signal);
    this.#lifecycle = 'running';
  }

  /**
   * Leaves in the order that hands over fastest and never overlaps: global leadership ends locally,
   * the global election stops (drain, revoke), then the regional one (drain, revoke), then the view.
   */
  stop(): Promise<void> {
    if (this.#lifecycle === 'idle') return Promise.resolve();
    return this.#shutdown();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  #stopping: Promise<void> | undefined;
  /** A start in flight: a stop waits for it (stopping an election while it starts runs two shutdowns). */
  #starting: Promise<void> | undefined;

  #shutdown(): Promise<void> {
    this.#stopping ??= (async () => {
      await this.#starting;
      this.#lifecycle = 'stopping';
      this.#leadership.lose('stopped');
      this.#leadership.rejectWaiters();
      this.#leading?.abort();
      try {
        await this.#global.stop();
        await this.regional.stop();
        await this.#leadLoop;
        await this.policies.stop();
      } finally {
        for (const connection of [this.#regionalConnection, this.#globalConnection])
          if (connection.owned) connection.client.close();
        this.#leading = undefined;
        this.#leadLoop = undefined;
        this.#lifecycle = 'idle';
        this.#stopping = undefined;
      }
    })();
    return this.#stopping;
  }

  /** One regional term: the global candidacy and the replication into the region, until it ends. */
  /**
   * The regional leadership's work, for every regional term until the node stops. `lead()` rejects
   * when work fails while leading (after resigning); the node must stay a candidate for its region
   * all the same, so it goes on leading the next terms.
   */
  async #leadEveryRegionalTerm(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        // Resolves when `signal` aborts, or when the regional election stopped.
        await this.regional.lead(({ term, signal: leadership }) => this.#leadRegion(term, leadership), {
          signal,
        });
        return;
      } catch (error) {
        this.#lastError = error as Error;
        await pause(this.#options.clock, this.#options.confirmIntervalMs, signal);
      }
    }
  }

  async #leadRegion(term: number, signal: AbortSignal): Promise<void> {
    const options = this.#options;
    const report = (error: unknown) => {
      this.#lastError = error as Error;
    };
    // None of these throws by design; a bug in one must not end the others' term or the lead loop.
    await Promise.all([
      runCandidacy(
        {
          regional: this.regional,
          global: this.#global,
          leadership: this.#leadership,
          region: options.region,
          homeRegion: options.homeRegion,
          handBackDelayMs: options.handBackDelayMs,
          clock: options.clock,
          retryDelayMs: options.confirmIntervalMs,
          onError: (error) => {
            this.#lastError = error;
          },
        },
        signal,
      ).catch(report),
      this.#replicator.run(term, signal).catch(report),
      this.#registerRegion(signal).catch(report),
    ]);
  }

  /**
   * This region's entry in the global store's directory, for `ztap region status`: written once per
   * regional leadership, retried until it lands or the leadership ends (the global etcd may be away).
   */
  async #registerRegion(signal: AbortSignal): Promise<void> {
    const { client, calls } = this.#globalConnection;
    const key = Buffer.from(this.#globalLayout.regionKey(this.region));
    const value = encodeRegion({
      name: this.region,
      endpoints: this.#options.regional.endpoints ?? [],
      regionalPrefix: this.#options.regionalPrefix,
      replicaPrefix: this.#options.replicaPrefix,
    });
    while (!signal.aborted) {
      try {
        await calls.call(
          'register the region',
          (attempt) => client.kv.put({ key, value: Buffer.from(value) }, attempt),
          {
            signal,
          },
        );
        return;
      } catch (error) {
        if (signal.aborted) return;
        this.#lastError = error as Error;
        await pause(this.#options.clock, this.#options.confirmIntervalMs, signal);
      }
    }
  }

  #globalLeaderInView(): GlobalLeaderRecord | undefined {
    const { leader, term } = this.#global.getState();
    if (!leader || term === undefined) return undefined;
    return { node: leader.id, region: leader.metadata.region ?? 'unknown', term };
  }
}
