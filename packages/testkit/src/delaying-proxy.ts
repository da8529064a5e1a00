import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface DelayingProxyOptions {
  /** Where connections go, e.g. `http://127.0.0.1:2380` (an etcd peer URL). */
  readonly target: string;
  /**
   * The one-way delay added to everything sent in either direction on a connection, in ms: a
   * number, or a function of the connection's source (see {@link identify}). Constant per
   * connection, so bytes keep their order: a WAN link without jitter.
   */
  readonly delayMs: number | ((source: string | undefined) => number);
  /** Names where an accepted connection comes from (e.g. which etcd member dialled), if it can. */
  readonly identify?: (socket: Socket) => string | undefined;
}

/** Above this many bytes waiting to be delivered, the sender is paused (TCP-like backpressure). */
const HIGH_WATER_BYTES = 4 * 1024 * 1024;

/**
 * A TCP proxy on loopback that delays traffic, to put a WAN between processes of one machine (for
 * example between the members of an etcd cluster, each behind its own proxy on its peer port). Every
 * chunk is delivered `delayMs` after it arrived, in order; a connection's sources can be cut off and
 * healed one at a time, which partitions one etcd member from the others when each member's peer
 * port sits behind a proxy and `identify` says which member dialled.
 */
export class DelayingProxy {
  readonly #server: Server;
  readonly #options: DelayingProxyOptions;
  readonly #target: { host: string; port: number };
  readonly #connections = new Map<Socket, { source: string | undefined; upstream: Socket }>();
  /** Sources cut off; `null` stands for every source. */
  readonly #cut = new Set<string | null>();

  private constructor(server: Server, options: DelayingProxyOptions) {
    this.#server = server;
    this.#options = options;
    const url = new URL(options.target);
    this.#target = { host: url.hostname, port: Number(url.port) };
  }

  /** Starts a proxy to `options.target` on a free loopback port. */
  static async start(options: DelayingProxyOptions): Promise<DelayingProxy> {
    const server = createServer({ noDelay: true });
    const proxy = new DelayingProxy(server, options);
    server.on('connection', (socket) => proxy.#accept(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    const address = this.#server.address();
    if (!address || typeof address === 'string') throw new Error('the delaying proxy is not listening');
    return address.port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The sources of the open connections (for tests of the proxy itself). */
  get sources(): (string | undefined)[] {
    return [...this.#connections.values()].map((connection) => connection.source);
  }

  /**
   * Drops the connections from `source` (from every source when omitted) and refuses new ones, as a
   * network that lost the route would after TCP gave up.
   */
  cut(source?: string): void {
    this.#cut.add(source ?? null);
    for (const [socket, connection] of this.#connections)
      if (source === undefined || connection.source === source) this.#drop(socket);
  }

  /** Lets `source` (every source when omitted) through again. */
  heal(source?: string): void {
    if (source === undefined) this.#cut.clear();
    else this.#cut.delete(source);
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    const source = this.#options.identify?.(client);
    if (this.#cut.has(null) || (source !== undefined && this.#cut.has(source))) {
      client.destroy();
      return;
    }
    const delay = this.#options.delayMs;
    const delayMs = Math.max(0, typeof delay === 'number' ? delay : delay(source));
    const upstream = connect({ port: this.#target.port, host: this.#target.host, noDelay: true });
    this.#connections.set(client, { source, upstream });
    const close = () => this.#drop(client);
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    delayedPipe(client, upstream, delayMs);
    delayedPipe(upstream, client, delayMs);
  }

  #drop(client: Socket): void {
    const connection = this.#connections.get(client);
    this.#connections.delete(client);
    client.destroy();
    connection?.upstream.destroy();
  }
}

/** Copies `from` to `to`, each chunk `delayMs` after it arrived; an end follows the last chunk. */
function delayedPipe(from: Socket, to: Socket, delayMs: number): void {
  if (delayMs === 0) {
    from.pipe(to);
    return;
  }
  const queue: { dueMs: number; chunk: Buffer }[] = [];
  let queuedBytes = 0;
  let timer: NodeJS.Timeout | undefined;
  let ended = false;
  const flush = () => {
    timer = undefined;
    const now = performance.now();
    while (queue.length > 0 && (queue[0] as { dueMs: number }).dueMs <= now) {
      const { chunk } = queue.shift() as { chunk: Buffer };
      queuedBytes -= chunk.length;
      if (!to.destroyed) to.write(chunk);
    }
    if (queuedBytes < HIGH_WATER_BYTES && from.isPaused()) from.resume();
    const next = queue[0];
    if (next) timer = setTimeout(flush, Math.max(0, next.dueMs - now));
    else if (ended && !to.destroyed) to.end();
  };
  from.on('data', (chunk: Buffer) => {
    queue.push({ dueMs: performance.now() + delayMs, chunk });
    queuedBytes += chunk.length;
    if (queuedBytes >= HIGH_WATER_BYTES) from.pause();
    timer ??= setTimeout(flush, delayMs);
  });
  from.on('end', () => {
    ended = true;
    timer ??= setTimeout(flush, 0);
  });
  from.on('close', () => clearTimeout(timer));
}

/**
 * The pid of the local process that opened the connection `socket` accepted, among `candidates`
 * (Linux: the socket's inode from /proc/net/tcp, then the process holding it). Undefined when it
 * cannot tell (another OS, a process that is gone, a connection from elsewhere).
 */
export function dialerPid(socket: Socket, candidates: readonly number[]): number | undefined {
  const remotePort = socket.remotePort;
  const localPort = socket.localPort;
  if (remotePort === undefined || localPort === undefined) return undefined;
  const hex = (port: number) => port.toString(16).toUpperCase().padStart(4, '0');
  let table: string;
  try {
    table = readFileSync('/proc/net/tcp', 'utf8');
  } catch {
    return undefined;
  }
  // The dialer's end: local = its port, remote = ours (both on 127.0.0.1, 0100007F in /proc's hex).
  const wantedLocal = `0100007F:${hex(remotePort)}`;
  const wantedRemote = `0100007F:${hex(localPort)}`;
  let inode: string | undefined;
  for (const line of table.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields[1] === wantedLocal && fields[2] === wantedRemote) {
      inode = fields[9];
      break;
    }
  }
  if (!inode || inode === '0') return undefined;
  const target = `socket:[${inode}]`;
  for (const pid of candidates) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`))
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === target) return pid;
    } catch {
      // Gone, or not ours to look at.
    }
  }
  return undefined;
}
