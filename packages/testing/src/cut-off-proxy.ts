import { connect, createServer, type Server, type Socket } from 'node:net';
import { ValidationError } from '@ztap/cluster';

/**
 * A node's own way to etcd, which a test can cut and heal without touching anyone else's: one loopback
 * TCP proxy per etcd endpoint. Give the node {@link endpoints} instead of etcd's.
 */
export interface EtcdLink extends AsyncDisposable {
  /** The proxies' URLs, one per etcd endpoint in the same order and with the same scheme. */
  readonly endpoints: readonly string[];
  /** Whether the link is cut. */
  readonly isCut: boolean;
  /**
   * Drops every connection through the link and refuses new ones, as a network that failed would once
   * TCP gave up: the node's requests fail at once, its keepalives stop, and (on etcd) it steps down
   * before its lease could expire while the others elect a new leader. Idempotent.
   */
  cut(): void;
  /** Lets connections through again: the node reconnects by itself. Idempotent. */
  heal(): void;
  /** Cuts the link and stops listening. Idempotent. */
  close(): Promise<void>;
}

/** One endpoint's proxy. */
class TcpProxy {
  readonly #server: Server;
  readonly #target: { readonly host: string; readonly port: number };
  readonly #sockets = new Set<Socket>();
  readonly #protocol: string;
  #cut = false;

  constructor(target: URL) {
    this.#protocol = target.protocol;
    this.#target = {
      host: target.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: Number(target.port || (target.protocol === 'https:' ? 443 : 80)),
    };
    this.#server = createServer((socket) => this.#accept(socket));
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, '127.0.0.1', () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
  }

  get url(): string {
    const address = this.#server.address();
    if (!address || typeof address === 'string') throw new Error('the proxy is not listening');
    return `${this.#protocol}//127.0.0.1:${address.port}`;
  }

  cut(): void {
    this.#cut = true;
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
  }

  heal(): void {
    this.#cut = false;
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    if (this.#cut) {
      client.destroy();
      return;
    }
    const upstream = connect(this.#target.port, this.#target.host);
    this.#sockets.add(client);
    this.#sockets.add(upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.#sockets.delete(client);
      this.#sockets.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    client.pipe(upstream);
    upstream.pipe(client);
  }
}

/** The etcd endpoints of a handle (anything with `endpoints`, e.g. what `startEtcd` returns) or a list. */
function endpointsOf(etcd: { readonly endpoints: readonly string[] } | readonly string[]): URL[] {
  const endpoints: readonly string[] = 'endpoints' in etcd ? etcd.endpoints : etcd;
  if (endpoints.length === 0)
    throw new ValidationError('etcd.endpoints', 'must name at least one etcd endpoint');
  return endpoints.map((endpoint) => {
    if (!URL.canParse(endpoint) || !/^https?:$/.test(new URL(endpoint).protocol)) {
      throw new ValidationError(
        'etcd.endpoints',
        `must be http:// or https:// URLs; ${JSON.stringify(endpoint)} is not one`,
      );
    }
    return new URL(endpoint);
  });
}

/**
 * Starts a link to `etcd` for one node: a TCP proxy on a free loopback port in front of each of
 * etcd's endpoints. Give that node {@link EtcdLink.endpoints}, and every other node etcd's own; then
 * {@link EtcdLink.cut} isolates that node from etcd, and {@link EtcdLink.heal} brings it back. TLS
 * passes through untouched (the proxies speak TCP).
 *
 * @example
 * ```ts
 * await using link = await cutOffProxy(etcd);
 * const a = new EtcdElection({ nodeId: 'a', nodeAddress: '127.0.0.1:1', endpoints: [...link.endpoints] });
 * link.cut(); // a steps down; a node on etcd's own endpoints takes over
 * ```
 */
export async function cutOffProxy(
  etcd: { readonly endpoints: readonly string[] } | readonly string[],
): Promise<EtcdLink> {
  const proxies = endpointsOf(etcd).map((target) => new TcpProxy(target));
  try {
    await Promise.all(proxies.map((proxy) => proxy.listen()));
  } catch (error) {
    await Promise.all(proxies.map((proxy) => proxy.close()));
    throw error;
  }
  let cut = false;
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= Promise.all(proxies.map((proxy) => proxy.close())).then(() => undefined);
    return closed;
  };
  return {
    endpoints: proxies.map((proxy) => proxy.url),
    get isCut() {
      return cut;
    },
    cut() {
      cut = true;
      for (const proxy of proxies) proxy.cut();
    },
    heal() {
      if (closed) return; // a closed link stays cut
      cut = false;
      for (const proxy of proxies) proxy.heal();
    },
    close() {
      cut = true;
      return close();
    },
    [Symbol.asyncDispose]: () => {
      cut = true;
      return close();
    },
  };
}
