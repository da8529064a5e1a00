import type { Clock } from '@ztap/cluster';
import type { Etcd3, IDuplexStream, ILeaseKeepAliveRequest, ILeaseKeepAliveResponse } from 'etcd3';

/** Why a keepalive went unanswered: no answer in time on a wedged stream, or the stream broke. */
export type KeepaliveFailureKind = 'timeout' | 'stream';

/** Receives the fate of every keepalive sent for one lease, with the monotonic time it was sent. */
export interface KeepaliveHandler {
  /** etcd answered: the lease had `ttlSeconds` left (0 or less: etcd no longer knows the lease). */
  onResponse(sentAtMs: number, ttlSeconds: number): void;
  /** The keepalive will never be answered. Called at most once per keepalive, never after an answer. */
  onFailure(sentAtMs: number, kind: KeepaliveFailureKind, error?: Error): void;
}

type KeepaliveStream = IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse>;

/** One attempt at a stream, with the keepalives sent on it that are still waiting for an answer. */
interface StreamGeneration {
  readonly stream: Promise<KeepaliveStream>;
  /** When opening was asked for; undefined once it is open. */
  openingSinceMs: number | undefined;
  /** Per lease, the send times of its unanswered keepalives, oldest first. */
  readonly outstanding: Map<string, number[]>;
}

/**
 * One LeaseKeepAlive stream per client and prefix (see context.ts), shared by every lease on them (a
 * thousand nodes on one client cost one stream, not a thousand).
 *
 * etcd answers keepalives on a stream one by one, in order, so the n-th answer for a lease belongs to
 * the n-th request still outstanding for it on *that* stream. Every answer is reported with the send
 * time of that request: a late answer can only vouch for the lease as of when it was asked, never
 * later. A stream that is reset is forgotten with everything sent on it: its late answers are
 * ignored (they could otherwise be matched with a newer request's send time and vouch for too much),
 * and each keepalive that was waiting on it is reported as failed, once.
 */
export class KeepaliveChannel {
  readonly #client: Etcd3;
  readonly #clock: Clock;
  readonly #staleAfterMs: number;
  #current: StreamGeneration | undefined;
  readonly #handlers = new Map<string, KeepaliveHandler>();

  constructor(client: Etcd3, clock: Clock, staleAfterMs: number) {
    this.#client = client;
    this.#clock = clock;
    this.#staleAfterMs = staleAfterMs;
  }

  register(leaseId: string, handler: KeepaliveHandler): () => void {
    this.#handlers.set(leaseId, handler);
    return () => {
      this.#handlers.delete(leaseId);
      this.#current?.outstanding.delete(leaseId);
      if (this.#handlers.size === 0) this.close();
    };
  }

  /** Sends one keepalive for `leaseId`; its answer or failure goes to its handler. Never throws. */
  send(leaseId: string): void {
    const sentAtMs = this.#clock.monotonicNow();
    const current = this.#current;
    if (current) {
      // A request unanswered for this long means the stream is wedged (e.g. its etcd member lost
      // quorum or is frozen): start a new one rather than queue behind it forever. Likewise a stream
      // that never finished opening (its member went away mid-handshake).
      const oldest = current.outstanding.get(leaseId)?.[0];
      const waitingSinceMs = current.openingSinceMs ?? oldest;
      if (waitingSinceMs !== undefined && sentAtMs - waitingSinceMs > this.#staleAfterMs) {
        this.#reset(current, 'timeout');
      }
    }
    const generation = this.#open();
    let queue = generation.outstanding.get(leaseId);
    if (!queue) {
      queue = [];
      generation.outstanding.set(leaseId, queue);
    }
    queue.push(sentAtMs);
    generation.stream.then(
      (stream) => {
        if (this.#current === generation) stream.write({ ID: leaseId });
      },
      () => {}, // #open resets the generation and reports its keepalives
    );
  }

  /** Ends the stream; keepalives still waiting on it are reported as failed. */
  close(): void {
    if (this.#current) this.#reset(this.#current, 'stream');
  }

  #open(): StreamGeneration {
    if (this.#current) return this.#current;
    const stream = this.#client.leaseClient.leaseKeepAlive();
    const generation: StreamGeneration = {
      stream,
      openingSinceMs: this.#clock.monotonicNow(),
      outstanding: new Map(),
    };
    this.#current = generation;
    stream.then(
      (opened) => {
        if (this.#current !== generation) {
          opened.end();
          return;
        }
        generation.openingSinceMs = undefined;
        opened.on('data', (response: ILeaseKeepAliveResponse) => this.#onResponse(generation, response));
        opened.on('error', (error: Error) => this.#reset(generation, 'stream', error));
        opened.on('end', () => this.#reset(generation, 'stream'));
      },
      (error: unknown) => this.#reset(generation, 'stream', error instanceof Error ? error : undefined),
    );
    return generation;
  }

  #reset(generation: StreamGeneration, kind: KeepaliveFailureKind, error?: Error): void {
    if (this.#current !== generation) return;
    this.#current = undefined;
    generation.stream.then((opened) => opened.end()).catch(() => {});
    for (const [leaseId, sentTimes] of generation.outstanding) {
      const handler = this.#handlers.get(leaseId);
      for (const sentAtMs of sentTimes) handler?.onFailure(sentAtMs, kind, error);
    }
    generation.outstanding.clear();
  }

  #onResponse(generation: StreamGeneration, response: ILeaseKeepAliveResponse): void {
    if (this.#current !== generation) return; // a late answer on a stream we have since reset
    const leaseId = String(response.ID);
    const sentAtMs = generation.outstanding.get(leaseId)?.shift();
    if (sentAtMs === undefined) return;
    this.#handlers.get(leaseId)?.onResponse(sentAtMs, Number(response.TTL));
  }
}
