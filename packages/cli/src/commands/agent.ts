import type { Server } from 'node:http';
import { type Disposable, isLeadershipLostError, VIEW_KINDS } from '@ztap/cluster';
import { type EtcdElection, EtcdPolicySync } from '@ztap/cluster-etcd';
import { registerClusterMetrics } from '@ztap/cluster-metrics';
import type { Command } from 'commander';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { UsageError } from '../errors.ts';
import { serveHealth } from '../health-server.ts';
import type { CliIO } from '../io.ts';
import { clusterLoggerFor } from '../library-log.ts';
import { createLogger, type Logger, logFormat, logFormatOption } from '../log.ts';
import { createNodeElection, nodeOptions } from '../node-options.ts';
import type { GlobalOptions } from '../options.ts';
import { regionAgentOptions, regionSettings, runRegionAgent } from './region-agent.ts';

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

/** The roles an agent can run as (an observer holds no membership to run an agent for). */
export const AGENT_ROLES = ['candidate', 'member'] as const;

/** `value` if it is one of `allowed`, else a usage error naming the flag and the allowed values. */
export function oneOfFlag<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`${flag} must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)})`);
}

export function registerAgentCommand(program: Command, io: CliIO): void {
  regionAgentOptions(
    logFormatOption(
      nodeOptions(
        program
          .command('agent')
          .description(
            'run a node: register, heartbeat, campaign (unless --role member); serve /healthz; resign cleanly on SIGTERM/SIGINT',
          ),
      ),
    ),
  )
    .option(
      '--listen <[host:]port>',
      'serve GET /healthz and GET /metrics here (a bare port listens on 127.0.0.1)',
    )
    .option(
      '--role <role>',
      `${AGENT_ROLES.join(' or ')}: a member is registered and health-tracked but never campaigns (default: candidate)`,
    )
    .option(
      '--view <view>',
      `${VIEW_KINDS.join(' or ')}: leader keeps only the leader and the policies, so member churn costs this node nothing (default: full)`,
    )
    .addHelpText(
      'after',
      `
Examples:
  $ ztap agent --id node-1 --address 10.0.0.7:9090 --listen 0.0.0.0:8080
  $ ztap agent --id node-2 --address 10.0.0.8:9090 --health-url http://127.0.0.1:9090/ready --log-format json
  $ ztap agent --id host-417 --address 10.0.4.17:9090 --role member --view leader
  $ ztap agent --id node-3 --address 10.0.1.7:9090 --endpoints http://10.0.1.5:2379 \
      --region eu --global-endpoints http://10.0.9.1:2379 --home-region eu

/healthz answers 200 with {"status":"ok",...} while the node can vouch for its membership: etcd
confirmed its heartbeats before the step-down deadline, its member record is in etcd, and its health
check passes. Otherwise 503 with {"status":"unhealthy","reason":...}, for followers and the leader
alike; each change is also logged (events "unhealthy" with the reason, and "healthy").

A fleet: a few candidates (the default role) that may lead, and many members (--role member) that
follow the leader and its policies and never lead. --view leader makes a node watch only the election
(and policy) keys: ztap_cluster_nodes_total is then absent from /metrics. Details: docs/roles-and-views.md`,
    )
    .action(async (_options, command: Command) => {
      const globals = command.optsWithGlobals<
        GlobalOptions & { listen?: string; logFormat?: string; role?: string; view?: string }
      >();
      const listen = globals.listen === undefined ? undefined : parseListen(globals.listen);
      const role = oneOfFlag('--role', globals.role ?? 'candidate', AGENT_ROLES);
      const view = oneOfFlag('--view', globals.view ?? 'full', VIEW_KINDS);
      const format = logFormat(globals);
      const log = createLogger(io, format, globals.color !== false);
      // Multi-region: a regional election plus the global candidacy (docs/multi-region.md).
      const region = regionSettings(command, io);
      if (region) {
        if (role !== 'candidate' || view !== 'full')
          throw new UsageError(
            '--role member and --view leader cannot be combined with --region: a region agent is a candidate with the full view (docs/multi-region.md)',
          );
        await runRegionAgent(command, io, log, format, listen, region);
        return;
      }
      const election = createNodeElection(command, io, clusterLoggerFor(log, format), { role, view });
      const registry = new Registry();
      collectDefaultMetrics({ register: registry });
      const metrics = registerClusterMetrics(election, { registry, policies: new EtcdPolicySync(election) });
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
  let stopLogging: Disposable | undefined;
  try {
    await election.start();
    log('started', `node ${election.nodeId} joined ${election.prefix} as a ${election.role}`, {
      nodeId: election.nodeId,
      prefix: election.prefix,
      role: election.role,
      view: election.view,
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
    stopLogging = logLiveness(election, log, () => stopping !== undefined);
    if (election.role === 'candidate') void logLeadership(election, log);
    void logClusterLeaders(election, log);
    await done;
    await stopping;
    log('stopped', `node ${election.nodeId} stopped`, { nodeId: election.nodeId });
  } finally {
    stopLogging?.dispose();
    stopListening();
    server?.close();
    await shutdown();
  }
}

/** Each change of this node's liveness (once per change, not per heartbeat), until disposed. */
export function logLiveness(election: EtcdElection, log: Logger, stopping: () => boolean): Disposable {
  let unhealthy = !election.liveness.ok;
  if (unhealthy)
    log(
      'unhealthy',
      `unhealthy: ${election.liveness.reason}`,
      { reason: election.liveness.reason },
      'yellow',
    );
  return election.telemetry.onLiveness((liveness) => {
    if (stopping()) return; // the shutdown says so itself
    if (!liveness.ok)
      log('unhealthy', `unhealthy: ${liveness.reason}`, { reason: liveness.reason }, 'yellow');
    else if (unhealthy) log('healthy', 'healthy again', {}, 'green');
    unhealthy = !liveness.ok;
  });
}

/** This node's own leadership, with the reason it ended. */
export async function logLeadership(election: EtcdElection, log: Logger): Promise<void> {
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
      // Resigning, handing over or stopping is a choice: news, not a warning.
      const chosen = reason === 'resigned' || reason === 'transferred' || reason === 'stopped';
      log(
        'follower',
        `this node no longer leads (term ${term} ended: ${reason})`,
        { nodeId: election.nodeId, term, reason },
        chosen ? undefined : 'yellow',
      );
    }
  } catch {
    // The election stopped: nothing more to report.
  }
}

/** Who leads the cluster, as this node sees it. */
export async function logClusterLeaders(election: EtcdElection, log: Logger): Promise<void> {
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
