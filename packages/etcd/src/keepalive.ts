import type { Clock } from '@ztap/cluster';
import type { Etcd3, IDuplexStream, ILeaseKeepAliveRequest, ILeaseKeepAliveResponse } from 'etcd3';

/** Receives the answer to every keepalive sent for one lease, with the monotonic time it was sent. */
export interface KeepaliveHandler {
  onResponse(sentAtMs: number, ttlSeconds: number): void;
}

type KeepaliveStream = IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse>;

/**
 * One LeaseKeepAlive stream per client and prefix (see context.ts), shared by every lease on them (a
 * thousand nodes on one client cost one stream, not a thousand).
 *
 * etcd answers keepalives on a stream one by one, in order, so the n-th answer for a lease belongs to
 * the n-th request still outstanding for it. Every answer is reported with the send time of *that*
 * request: a late answer can only vouch for the lease as of when it was asked, never later.
 */
export class KeepaliveChannel {
  readonly #client: Etcd3;
  readonly #clock: Clock;
  readonly #staleAfterMs: number;
  #stream: Promise<KeepaliveStream> | undefined;
  /** When the stream being opened was asked for; undefined once it is open. */
  #openingSinceMs: number | undefined;
  readonly #outstanding = new Map<string, number[]>();
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
      this.#outstanding.delete(leaseId);
      if (this.#handlers.size === 0) this.close();
    };
  }

  /** Sends one keepalive for `leaseId`; the answer goes to its handler. Never throws. */
  send(leaseId: string): void {
    const sentAtMs = this.#clock.monotonicNow();
    // A request unanswered for this long means the stream is wedged (e.g. its etcd member lost
    // quorum): start a new one rather than queue behind it forever.
    const oldest = this.#outstanding.get(leaseId)?.[0];
    if (oldest !== undefined && sentAtMs - oldest > this.#staleAfterMs) this.close();
    // Likewise a stream that never finished opening (its member went away mid-handshake): requests
    // are only queued once it is open, so without this check nothing would ever reset it.
    if (this.#openingSinceMs !== undefined && sentAtMs - this.#openingSinceMs > this.#staleAfterMs)
      this.close();
    this.#open()
      .then((stream) => {
        let queue = this.#outstanding.get(leaseId);
        if (!queue) {
          queue = [];
          this.#outstanding.set(leaseId, queue);
        }
        queue.push(sentAtMs);
        stream.write({ ID: leaseId });
      })
      .catch(() => this.close());
  }

  close(): void {
    const stream = this.#stream;
    this.#stream = undefined;
    this.#openingSinceMs = undefined;
    this.#outstanding.clear();
    stream?.then((opened) => opened.end()).catch(() => {});
  }

  #open(): Promise<KeepaliveStream> {
    if (!this.#stream) {
      this.#openingSinceMs = this.#clock.monotonicNow();
      const opening = this.#client.leaseClient.leaseKeepAlive().then((stream) => {
        if (this.#stream === opening) this.#openingSinceMs = undefined;
        stream.on('data', (response: ILeaseKeepAliveResponse) => this.#onResponse(response));
        const reset = () => {
          if (this.#stream === opening) this.close();
        };
        stream.on('error', reset);
        stream.on('end', reset);
        return stream;
      });
      this.#stream = opening;
    }
    return this.#stream;
  }

  #onResponse(response: ILeaseKeepAliveResponse): void {
    const leaseId = String(response.ID);
    const sentAtMs = this.#outstanding.get(leaseId)?.shift();
    if (sentAtMs === undefined) return; // answer to a request made on a stream we have since reset
    this.#handlers.get(leaseId)?.onResponse(sentAtMs, Number(response.TTL));
  }
}
