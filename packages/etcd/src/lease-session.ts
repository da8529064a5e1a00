import type { Clock, HeartbeatEvent, TimerHandle } from '@ztap/cluster';
import type { Etcd3 } from 'etcd3';
import type { CallAccount, EtcdCaller } from './calls.ts';
import { campaignKeyOf, stepDownDeadline } from './campaign.ts';
import type { KeepaliveChannel, KeepaliveFailureKind } from './keepalive.ts';

export interface LeaseSessionEvents {
  /** The lease is gone on the server (expired or revoked): everything on it has been deleted. */
  onLost(): void;
  /** The step-down deadline passed without a newer successful keepalive. */
  onDeadline(): void;
  /** The deadline moved (a keepalive succeeded). */
  onRenewed(): void;
  /** A keepalive was confirmed, or failed: unanswered in time, its stream broke, or the lease is gone. */
  onHeartbeat(heartbeat: HeartbeatEvent): void;
}

/** What a session needs from the context it lives in. */
export interface SessionContext {
  readonly client: Etcd3;
  readonly caller: EtcdCaller;
  readonly keepalives: KeepaliveChannel;
}

export interface SessionOptions {
  readonly ttlSeconds: number;
  readonly marginMs: number;
  readonly clock: Clock;
  readonly electionPrefix: string;
  /** Whose requests the grant and the revoke are. */
  readonly account: CallAccount;
  /**
   * Hears of each grant request's whole course — its answer and, if the grant was abandoned by then,
   * the revoke of what it granted — so a stopping owner can wait until nothing of it is left.
   */
  readonly track?: (work: Promise<void>) => void;
}

/**
 * A lease kept alive — etcd's Go `concurrency.Session` — with the safety rule that makes leadership on
 * it trustworthy: the **step-down deadline** (see `stepDownDeadline` in campaign.ts). When it passes
 * without a newer successful keepalive, the lease may be about to expire and someone else may be
 * elected right after: this node must stop acting as leader now, even if it cannot reach etcd to find
 * out.
 */
export class LeaseSession {
  /** The lease id (decimal). */
  readonly id: string;
  /** The TTL etcd granted (it may round up what was asked to its minimum). */
  readonly ttlSeconds: number;
  /** This session's campaign key. */
  readonly campaignKey: string;
  readonly #context: SessionContext;
  readonly #options: SessionOptions;
  readonly #events: LeaseSessionEvents;
  #validUntilMs: number;
  #deadlineTimer: TimerHandle | undefined;
  #lost = false;
  #closed = false;
  readonly #unregister: () => void;

  private constructor(
    id: string,
    ttlSeconds: number,
    grantSentAtMs: number,
    context: SessionContext,
    options: SessionOptions,
    events: LeaseSessionEvents,
  ) {
    this.id = id;
    this.ttlSeconds = ttlSeconds;
    this.campaignKey = campaignKeyOf(options.electionPrefix, id);
    this.#context = context;
    this.#options = options;
    this.#events = events;
    this.#validUntilMs = stepDownDeadline(grantSentAtMs, ttlSeconds, options.marginMs);
    this.#unregister = context.keepalives.register(id, {
      onResponse: (sentAt, ttl) => this.#onResponse(sentAt, ttl),
      onFailure: (sentAt, kind, error) => this.#onFailure(sentAt, kind, error),
    });
    this.#armDeadline();
  }

  /**
   * Grants a lease of `ttlSeconds` and starts tracking its deadline; keepalives are sent by
   * {@link keepAlive}. Aborting `signal` rejects at once; a lease granted after that is revoked, so
   * an abandoned grant leaves nothing behind.
   */
  static async grant(
    context: SessionContext,
    options: SessionOptions,
    events: LeaseSessionEvents,
    signal?: AbortSignal,
  ): Promise<LeaseSession> {
    const sentAtMs = options.clock.monotonicNow();
    const granted = await context.caller.call(
      'grant a lease',
      (deadline) => {
        const answer = context.client.leaseClient.leaseGrant({ TTL: options.ttlSeconds, ID: 0 }, deadline);
        options.track?.(
          answer.then(
            (lease) => {
              if (signal?.aborted)
                return LeaseSession.#revokeAbandoned(context, options.account, String(lease.ID));
            },
            () => {},
          ),
        );
        return answer;
      },
      { class: 'write', account: options.account, signal },
    );
    // etcd may grant more than asked (its minimum TTL); the deadline follows what it granted.
    return new LeaseSession(String(granted.ID), Number(granted.TTL), sentAtMs, context, options, events);
  }

  static async #revokeAbandoned(
    context: SessionContext,
    account: CallAccount,
    leaseId: string,
  ): Promise<void> {
    await context.caller
      .call(
        'revoke an abandoned lease',
        (deadline) => context.client.leaseClient.leaseRevoke({ ID: leaseId }, deadline),
        {
          class: 'write',
          account,
        },
      )
      .catch(() => {}); // it expires by itself after its TTL
  }

  /** Whether this node may still rely on the lease (and on any leadership held through it). */
  get valid(): boolean {
    return !this.#lost && !this.#closed && this.#options.clock.monotonicNow() < this.#validUntilMs;
  }

  get lost(): boolean {
    return this.#lost;
  }

  /** Monotonic time after which the lease must no longer be relied on (the step-down deadline). */
  get validUntilMs(): number {
    return this.#validUntilMs;
  }

  keepAlive(): void {
    if (!this.#lost && !this.#closed) this.#context.keepalives.send(this.id);
  }

  /** Stops keepalives and deadline tracking without revoking: the lease expires on its own. */
  orphan(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#options.clock.clearTimeout(this.#deadlineTimer);
    this.#unregister();
  }

  /**
   * Revokes the lease, deleting every key on it at once (the fast way out: successors need not wait
   * for a TTL). Resolves with the revision of the deletion, or undefined if the lease was already lost.
   */
  async revoke(signal?: AbortSignal): Promise<number | undefined> {
    this.orphan();
    if (this.#lost) return undefined;
    const response = await this.#context.caller.call(
      'revoke the lease',
      (deadline) => this.#context.client.leaseClient.leaseRevoke({ ID: this.id }, deadline),
      { class: 'write', account: this.#options.account, signal },
    );
    return Number(response.header.revision);
  }

  #onResponse(sentAtMs: number, ttlSeconds: number): void {
    if (this.#closed || this.#lost) return;
    const clock = this.#options.clock;
    const latencySeconds = (clock.monotonicNow() - sentAtMs) / 1000;
    if (ttlSeconds <= 0) {
      this.#events.onHeartbeat({ ok: false, latencySeconds, failure: 'lease_lost' });
      this.#lost = true;
      clock.clearTimeout(this.#deadlineTimer);
      this.#events.onLost();
      return;
    }
    this.#events.onHeartbeat({ ok: true, latencySeconds });
    const validUntilMs = stepDownDeadline(sentAtMs, ttlSeconds, this.#options.marginMs);
    if (validUntilMs <= this.#validUntilMs) return;
    this.#validUntilMs = validUntilMs;
    this.#armDeadline();
    this.#events.onRenewed();
  }

  #onFailure(sentAtMs: number, kind: KeepaliveFailureKind, error: Error | undefined): void {
    if (this.#closed || this.#lost) return;
    const latencySeconds = (this.#options.clock.monotonicNow() - sentAtMs) / 1000;
    this.#events.onHeartbeat({ ok: false, latencySeconds, failure: kind, ...(error ? { error } : {}) });
  }

  #armDeadline(): void {
    const clock = this.#options.clock;
    clock.clearTimeout(this.#deadlineTimer);
    const delayMs = Math.max(0, this.#validUntilMs - clock.monotonicNow());
    this.#deadlineTimer = clock.setTimeout(() => {
      if (this.#closed || this.#lost) return;
      if (this.valid)
        this.#armDeadline(); // woke a hair early
      else this.#events.onDeadline();
    }, delayMs);
  }
}
