import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { LeaderElection } from '@ztap/cluster';
import type { Registry } from 'prom-client';
import { CliFailure } from './errors.ts';

/** What `/healthz` answers: this node's liveness and its view of the leader. */
export interface HealthBody {
  readonly status: 'ok' | 'unhealthy';
  readonly reason?: string;
  readonly nodeId: string;
  /** `candidate` or `member` (an agent runs as one of them). */
  readonly role: string;
  readonly leader: string | null;
  readonly term: number | null;
  readonly isLeader: boolean;
}

/** 200 with `status: ok` while the node can vouch for its membership, else 503 with the reason. */
export function healthOf(election: LeaderElection): { code: 200 | 503; body: HealthBody } {
  const liveness = election.liveness;
  const { leader, term } = election.getState();
  const body: HealthBody = {
    status: liveness.ok ? 'ok' : 'unhealthy',
    ...(liveness.ok ? {} : { reason: liveness.reason }),
    nodeId: election.nodeId,
    role: election.role,
    leader: leader?.id ?? null,
    term: term ?? null,
    isLeader: election.isLeader(),
  };
  return { code: liveness.ok ? 200 : 503, body };
}

const ALLOW = 'GET, HEAD';

/**
 * `GET|HEAD /healthz` (JSON, 200 or 503) and `GET|HEAD /metrics` (Prometheus text). Other methods on
 * those paths get 405 with `Allow`, other paths 404. Listens on `listen`; port 0 picks a free one.
 */
export function serveHealth(
  election: LeaderElection,
  listen: { host: string; port: number },
  registry: Registry,
): Promise<Server> {
  const server = createServer((request, response) => {
    const path = request.url?.split('?')[0];
    if (path !== '/healthz' && path !== '/metrics') {
      reply(
        request,
        response,
        404,
        'application/json',
        '{"error":"not found: try GET /healthz or GET /metrics"}\n',
      );
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', ALLOW);
      reply(
        request,
        response,
        405,
        'application/json',
        `${JSON.stringify({ error: `method ${request.method} not allowed on ${path}: use ${ALLOW}` })}\n`,
      );
      return;
    }
    if (path === '/healthz') {
      const { code, body } = healthOf(election);
      reply(request, response, code, 'application/json', `${JSON.stringify(body)}\n`);
      return;
    }
    registry.metrics().then(
      (text) => reply(request, response, 200, registry.contentType, text),
      (error: Error) => reply(request, response, 500, 'text/plain', `${error.message}\n`),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', (error) =>
      reject(new CliFailure(`cannot serve /healthz on ${listen.host}:${listen.port}: ${error.message}`)),
    );
    server.listen(listen.port, listen.host, () => resolve(server));
  });
}

/** Answers with `body`; HEAD gets the same status and headers without it. */
function reply(
  request: IncomingMessage,
  response: ServerResponse,
  status: number,
  contentType: string,
  body: string,
): void {
  response.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
  });
  response.end(request.method === 'HEAD' ? undefined : body);
}
