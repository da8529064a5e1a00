import type { ServerResponse } from 'node:http';
import type { Clock, TimerHandle } from '@ztap/cluster';

export interface SseHubOptions {
  /**
   * How many bytes may wait unsent for one tab. A tab that stops reading (a frozen laptop, a stalled
   * proxy) is disconnected once past it rather than grow the server's memory; the browser reconnects
   * by itself and starts again from a fresh snapshot.
   */
  readonly maxBufferedBytes: number;
  /** A comment line this often keeps idle connections open through proxies. */
  readonly heartbeatMs: number;
  readonly clock: Clock;
}

/** Counters for the benchmark and the operator. */
export interface SseStats {
  readonly clients: number;
  /** Tabs disconnected for falling too far behind. */
  readonly dropped: number;
  /** Events sent (one per tab per event). */
  readonly sent: number;
}

/**
 * Server-Sent Events to every open tab. Each delta is framed once and the same bytes are written to
 * every tab, so a hundred tabs cost a hundred socket writes, not a hundred serialisations.
 */
export class SseHub {
  readonly #clients = new Set<ServerResponse>();
  readonly #options: SseHubOptions;
  #sequence = 0;
  #dropped = 0;
  #sent = 0;
  #heartbeat: TimerHandle | undefined;

  constructor(options: SseHubOptions) {
    this.#options = options;
  }

  get stats(): SseStats {
    return { clients: this.#clients.size, dropped: this.#dropped, sent: this.#sent };
  }

  /** Starts an event stream on `response`, beginning with `snapshot` (JSON text). */
  attach(response: ServerResponse, snapshot: string): void {
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    // A dropped tab comes back after a second, with a fresh snapshot.
    response.write('retry: 1000\n\n');
    this.#clients.add(response);
    response.on('close', () => this.#clients.delete(response));
    this.#write(response, this.#frame('snapshot', snapshot));
    this.#scheduleHeartbeat();
  }

  /** Sends one event (JSON text) to every tab. */
  broadcast(data: string, event = 'delta'): void {
    if (this.#clients.size === 0) return;
    const frame = this.#frame(event, data);
    for (const client of [...this.#clients]) this.#write(client, frame);
  }

  /** Ends every stream. */
  close(): void {
    this.#options.clock.clearTimeout(this.#heartbeat);
    this.#heartbeat = undefined;
    for (const client of [...this.#clients]) client.end();
    this.#clients.clear();
  }

  #frame(event: string, data: string): string {
    this.#sequence++;
    return `id: ${this.#sequence}\nevent: ${event}\ndata: ${data}\n\n`;
  }

  #write(client: ServerResponse, frame: string): void {
    if (client.destroyed) {
      this.#clients.delete(client);
      return;
    }
    // What is still unsent from earlier events decides: one large event alone (a big snapshot) is fine.
    if (client.writableLength > this.#options.maxBufferedBytes) {
      this.#dropped++;
      this.#clients.delete(client);
      client.destroy();
      return;
    }
    client.write(frame);
    this.#sent++;
  }

  #scheduleHeartbeat(): void {
    if (this.#heartbeat !== undefined) return;
    const beat = () => {
      this.#heartbeat = undefined;
      if (this.#clients.size === 0) return;
      for (const client of [...this.#clients]) this.#write(client, ': keepalive\n\n');
      this.#scheduleHeartbeat();
    };
    this.#heartbeat = this.#options.clock.setTimeout(beat, this.#options.heartbeatMs);
  }
}
