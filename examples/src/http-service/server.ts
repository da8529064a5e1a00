import { createServer, type Server } from 'node:http';
import type { LeaderElection } from '@ztap/cluster';
import type { Registry } from 'prom-client';

export interface StatusOptions {
  readonly election: LeaderElection;
  /** Why the backend cannot be reached right now, if it cannot (`Cluster.backendError`). */
  readonly backendError: () => Error | undefined;
  /** Where /metrics comes from. */
  readonly registry: Registry;
  /** Aborts when the service starts shutting down: /healthz answers 503 from then on. */
  readonly draining?: AbortSignal;
}

export interface Health {
  readonly status: 'ok' | 'unhealthy';
  readonly reason?: string;
  readonly nodeId: string;
  readonly leader: string | null;
  readonly term: number | null;
  readonly isLeader: boolean;
}

/**
 * This node's health as a load balancer or orchestrator should see it: unhealthy while shutting
 * down, while the backend is unreachable, or while the node cannot vouch for its own membership
 * (`election.liveness`: not running, heartbeats not confirmed in time, health check failing).
 */
export function health({ election, backendError, draining }: Omit<StatusOptions, 'registry'>): Health {
  const error = backendError();
  const { liveness } = election;
  const reason = draining?.aborted
    ? 'shutting down'
    : error
      ? `cannot reach the cluster backend: ${error.message}`
      : liveness.reason;
  const { leader, term } = election.getState();
  return {
    status: reason ? 'unhealthy' : 'ok',
    ...(reason ? { reason } : {}),
    nodeId: election.nodeId,
    leader: leader?.id ?? null,
    term: term ?? null,
    isLeader: election.isLeader(),
  };
}

/** GET /healthz (JSON, 200 or 503) and GET /metrics (Prometheus text); 404 for anything else. */
export function createStatusServer(options: StatusOptions): Server {
  return createServer((request, response) => {
    const path = request.url?.split('?')[0];
    if (request.method === 'GET' && path === '/healthz') {
      const body = health(options);
      response
        .writeHead(body.status === 'ok' ? 200 : 503, { 'content-type': 'application/json' })
        .end(`${JSON.stringify(body)}\n`);
    } else if (request.method === 'GET' && path === '/metrics') {
      options.registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': options.registry.contentType }).end(text),
        (error: Error) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${error.message}\n`),
      );
    } else {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('try GET /healthz or GET /metrics\n');
    }
  });
}

/** Listens on `host:port` (port 0: any free port) and resolves with the base URL. */
export function listen(server: Server, port: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : port;
      resolve(`http://${host.includes(':') ? `[${host}]` : host}:${bound}`);
    });
  });
}

/**
 * Stops accepting connections and resolves once the requests in flight have been answered. Idle
 * keep-alive connections (a scraper's) are closed at once rather than waited for.
 */
export function close(server: Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
}
