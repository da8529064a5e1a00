import { createServer, type Server } from 'node:http';
import { isLeadershipLostError, isNodeIdInUseError, NodeIdInUseError } from '@ztap/cluster';
import { type EtcdElection, EtcdPolicySync } from '@ztap/cluster-etcd';
import { registerClusterMetrics } from '@ztap/cluster-metrics';
import type { Command } from 'commander';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { CliFailure, UsageError } from '../errors.ts';
import type { CliIO } from '../io.ts';
import { createLogger, type Logger } from '../log.ts';
import { createNodeElection, nodeOptions } from '../node-options.ts';
import type { GlobalOptions } from '../options.ts';

/** `[host:]port` → where the health endpoint listens; a bare port binds loopback only. */
export function parseListen(text: string): { host: string; port: number } {
  const match = /^(?:(.+):)?(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[2]);
  if (!match || port > 65535)
    throw new UsageError(
      `--listen must be [host:]port, e.g. 8080 or 0.0.0.0:8080 (got ${JSON.stringify(text)})`,
    );
  return { host: (match[1] ?? '127.0.0.1').replace(/^\[(.*)\]$/, '$1'), port };
}

export function registerAgentCommand(program: Command, io: CliIO): void {
  nodeOptions(
    program
      .command('agent')
      .description(
        'run a node: register, heartbeat, campaign; serve /healthz; resign cleanly on SIGTERM/SIGINT',
      ),
  )
    .option(
      '--listen <[host:]port>',
      'serve GET /healthz and /metrics here (a bare port listens on 127.0.0.1)',
    )
    .addHelpText(
      'after',
      `
Examples:
  $ ztap agent --id node-1 --address 10.0.0.7:9090 --listen 0.0.0.0:8080
  $ ztap agent --id node-2 --address 10.0.0.8:9090 --health-url http://127.0.0.1:9090/ready --json

/healthz answers 200 with {"status":"ok",...} while the node runs, reaches etcd and passes its
health check, and 503 with {"status":"unhealthy","reason":...} otherwise.`,
    )
    .action(async (_options, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions & { listen?: string }>();
      const listen = globals.listen === undefined ? undefined : parseListen(globals.listen);
      const election = createNodeElection(command, io);
      const registry = new Registry();
      collectDefaultMetrics({ register: registry });
      const metrics = registerClusterMetrics(election, { registry, policies: new EtcdPolicySync(election) });
      const log = createLogger(io, globals.json === true, globals.color !== false);
      // Metrics first: their policy subscription shares the election's etcd client.
      const shutdown = async () => {
        await metrics.dispose();
        await election.stop();
      };
      await runAgent(election, shutdown, io, log, listen, registry);
    });
}

async function runAgent(
  election: EtcdElection,
  shutdown: () => Promise<void>,
  io: CliIO,
  log: Logger,
  listen: { host: string; port: number } | undefined,
  registry: Registry,
): Promise<void> {
  let stopping: Promise<void> | undefined;
  let stopped!: () => void;
  const done = new Promise<void>((resolve) => {
    stopped = resolve;
  });
  const stopListening = io.onShutdown((signal) => {
    if (stopping) return;
    log('stopping', `${signal}: resigning and leaving the cluster`, { signal });
    stopping = shutdown().finally(stopped);
  });
  let server: Server | undefined;
  let conflicts: { dispose(): void } | undefined;
  try {
    await election.start();
    log('started', `node ${election.nodeId} joined ${election.prefix}`, {
      nodeId: election.nodeId,
      prefix: election.prefix,
    });
    if (listen) {
      server = await serveHealth(election, listen, registry);
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : listen.port;
      log('listening', `serving /healthz and /metrics on http://${listen.host}:${port}`, {
        host: listen.host,
        port,
      });
    }
    void logLeadership(election, log);
    void logClusterLeaders(election, log);
    conflicts = logIdConflicts(election, log);
    await done;
    await stopping;
    log('stopped', `node ${election.nodeId} stopped`, { nodeId: election.nodeId });
  } finally {
    stopListening();
    conflicts?.dispose();
    server?.close();
    await shutdown();
  }
}

/** This node's own leadership, with the reason it ended. */
async function logLeadership(election: EtcdElection, log: Logger): Promise<void> {
  try {
    for (;;) {
      const { term, signal } = await election.waitForLeadership();
      log(
        'leader',
        `this node leads (term ${term})`,
        { nodeId: election.nodeId, term, leader: true },
        'green',
      );
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      const reason = isLeadershipLostError(signal.reason) ? signal.reason.reason : 'unknown';
      log(
        'follower',
        `this node no longer leads (term ${term} ended: ${reason})`,
        { nodeId: election.nodeId, term, reason },
        'yellow',
      );
    }
  } catch {
    // The election stopped: nothing more to report.
  }
}

/** Another running node took this node's id while its record was gone: it stands aside until it is free. */
function logIdConflicts(election: EtcdElection, log: Logger): { dispose(): void } {
  return election.telemetry.onBackendError(({ error }) => {
    if (!isNodeIdInUseError(error)) return;
    log(
      'conflict',
      `${NodeIdInUseError.describe(error.nodeId, error.holder)}: this node stands aside until the id is free`,
      {
        nodeId: election.nodeId,
        holder: error.holder.address,
      },
      'yellow',
    );
  });
}

/** Who leads the cluster, as this node sees it. */
async function logClusterLeaders(election: EtcdElection, log: Logger): Promise<void> {
  for await (const change of election.watch({ includeExisting: true })) {
    if (change.type === 'leader_elected')
      log('leader_elected', `${change.node.id} leads the cluster (term ${change.term})`, {
        leader: change.node.id,
        term: change.term,
      });
    if (change.type === 'leader_lost' && !election.getLeader())
      log('leader_lost', `no leader (term ${change.term} ended)`, { term: change.term });
  }
}

/** GET /healthz (status as JSON, 200 or 503) and GET /metrics (Prometheus text). */
function serveHealth(
  election: EtcdElection,
  listen: { host: string; port: number },
  registry: Registry,
): Promise<Server> {
  const server = createServer((request, response) => {
    const path = request.url?.split('?')[0];
    if (request.method === 'GET' && path === '/metrics') {
      registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (error: Error) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${error.message}\n`),
      );
      return;
    }
    if (request.method !== 'GET' || path !== '/healthz') {
      response
        .writeHead(404, { 'content-type': 'application/json' })
        .end('{"error":"not found: try GET /healthz or GET /metrics"}\n');
      return;
    }
    const self = election.getNode(election.nodeId);
    const lastError = election.lastError;
    const reason = lastError
      ? isNodeIdInUseError(lastError)
        ? lastError.message
        : `cannot reach etcd: ${lastError.message}`
      : self?.state !== 'healthy'
        ? `node is ${self?.state ?? 'not registered'}`
        : undefined;
    const body = {
      status: reason ? 'unhealthy' : 'ok',
      ...(reason ? { reason } : {}),
      nodeId: election.nodeId,
      leader: election.getLeader()?.id ?? null,
      term: election.getState().term ?? null,
      isLeader: election.isLeader(),
    };
    response
      .writeHead(reason ? 503 : 200, { 'content-type': 'application/json' })
      .end(`${JSON.stringify(body)}\n`);
  });
  return new Promise((resolve, reject) => {
    server.once('error', (error) =>
      reject(new CliFailure(`cannot serve /healthz on ${listen.host}:${listen.port}: ${error.message}`)),
    );
    server.listen(listen.port, listen.host, () => resolve(server));
  });
}
