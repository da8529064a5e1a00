import type { Clock, HeartbeatEvent, TimerHandle } from '@ztap/cluster';
import type { Etcd3 } from 'etcd3';
import type { EtcdCaller } from './calls.ts';
import type { KeepaliveChannel, KeepaliveFailureKind } from './keepalive.ts';
import { leaseIdHex } from './keys.ts';

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

/**
 * A lease kept alive — etcd's Go `concurrency.Session` — with the safety rule that makes leadership on
 * it trustworthy: the **step-down deadline**.
 *
 * etcd expires a lease no earlier than TTL after it *received* the last keepalive, which is no earlier
 * than when we *sent* it. So when `sent + TTL − margin` passes (monotonic clock) without a newer
 * success, the lease may be about to expire and someone else may be elected right after: this node
 * must stop acting as leader now, even if it cannot reach etcd to find out. The margin absorbs timer
 * lateness and the (tiny) rate difference between our monotonic clock and the server's.
 */
export class LeaseSession {
  readonly id: string;
  readonly ttlSeconds: number;
  /** The lease id in hex, as campaign keys name it (computed once: it takes a BigInt conversion). */
  readonly hexId: string;
  /** This session's campaign key. */
  readonly campaignKey: string;
  readonly #clock: Clock;
  readonly #marginMs: number;
  readonly #events: LeaseSessionEvents;
  readonly #channel: KeepaliveChannel;
  #validUntilMs: number;
  #deadlineTimer: TimerHandle | undefined;
  #lost = false;
  #closed = false;
  readonly #unregister: () => void;

  private constructor(
    id: string,
    ttlSeconds: number,
    grantSentAtMs: number,
    parts: {
      clock: Clock;
      marginMs: number;
      channel: KeepaliveChannel;
      events: LeaseSessionEvents;
      electionPrefix: string;
    },
  ) {
    this.id = id;
    this.ttlSeconds = ttlSeconds;
    this.hexId = leaseIdHex(id);
    this.campaignKey = `${parts.electionPrefix}${this.hexId}`;
    this.#clock = parts.clock;
    this.#marginMs = parts.marginMs;
    this.#events = parts.events;
    this.#channel = parts.channel;
    this.#validUntilMs = grantSentAtMs + ttlSeconds * 1000 - parts.marginMs;
    this.#unregister = parts.channel.register(id, {
      onResponse: (sentAt, ttl) => this.#onResponse(sentAt, ttl),
      onFailure: (sentAt, kind, error) => this.#onFailure(sentAt, kind, error),
    });
    this.#armDeadline();
  }

  /** Grants a lease of `ttlSeconds` and starts tracking its deadline. Keepalives are sent by {@link keepAlive}. */
  static async grant(
    client: Etcd3,
    caller: EtcdCaller,
    options: {
      ttlSeconds: number;
      marginMs: number;
      clock: Clock;
      channel: KeepaliveChannel;
      electionPrefix: string;
    },
    events: LeaseSessionEvents,
  ): Promise<LeaseSession> {
    const sentAtMs = options.clock.monotonicNow();
    const granted = await caller.call('grant a lease', (callOptions) =>
      client.leaseClient.leaseGrant({ TTL: options.ttlSeconds, ID: 0 }, callOptions),
    );
    // etcd may grant more than asked (its minimum TTL); the deadline follows what it granted.
    return new LeaseSession(String(granted.ID), Number(granted.TTL), sentAtMs, { ...options, events });
  }

  /** Whether this node may still rely on the lease (and on any leadership held through it). */
  get valid(): boolean {
    return !this.#lost && !this.#closed && this.#clock.monotonicNow() < this.#validUntilMs;
  }

  get lost(): boolean {
    return this.#lost;
  }

  /** Monotonic time after which the lease must no longer be relied on. */
  get validUntilMs(): number {
    return this.#validUntilMs;
  }

  keepAlive(): void {
    if (!this.#lost && !this.#closed) this.#channel.send(this.id);
  }

  /** Stops keepalives and deadline tracking without revoking: the lease expires on its own. */
  orphan(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#clock.clearTimeout(this.#deadlineTimer);
    this.#unregister();
  }

  /** Revokes the lease, deleting every key on it at once (the fast way out: successors need not wait for a TTL). */
  async revoke(client: Etcd3, caller: EtcdCaller): Promise<number | undefined> {
    this.orphan();
    if (this.#lost) return undefined;
    const response = await caller.call('revoke the lease', (options) =>
      client.leaseClient.leaseRevoke({ ID: this.id }, options),
    );
    return Number(response.header.revision);
  }

  #onResponse(sentAtMs: number, ttlSeconds: number): void {
    if (this.#closed || this.#lost) return;
    const latencySeconds = (this.#clock.monotonicNow() - sentAtMs) / 1000;
    if (ttlSeconds <= 0) {
      this.#events.onHeartbeat({ ok: false, latencySeconds, failure: 'lease_lost' });
      this.#lost = true;
      this.#clock.clearTimeout(this.#deadlineTimer);
      this.#events.onLost();
      return;
    }
    this.#events.onHeartbeat({ ok: true, latencySeconds });
    const validUntilMs = sentAtMs + ttlSeconds * 1000 - this.#marginMs;
    if (validUntilMs <= this.#validUntilMs) return;
    this.#validUntilMs = validUntilMs;
    this.#armDeadline();
    this.#events.onRenewed();
  }

  #onFailure(sentAtMs: number, kind: KeepaliveFailureKind, error: Error | undefined): void {
    if (this.#closed || this.#lost) return;
    const latencySeconds = (this.#clock.monotonicNow() - sentAtMs) / 1000;
    this.#events.onHeartbeat({ ok: false, latencySeconds, failure: kind, ...(error ? { error } : {}) });
  }

  #armDeadline(): void {
    this.#clock.clearTimeout(this.#deadlineTimer);
    const delayMs = Math.max(0, this.#validUntilMs - this.#clock.monotonicNow());
    this.#deadlineTimer = this.#clock.setTimeout(() => {
      if (this.#closed || this.#lost) return;
      if (this.valid)
        this.#armDeadline(); // woke a hair early
      else this.#events.onDeadline();
    }, delayMs);
  }
}
