import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { type ClusterLogger, type Disposable, isValidationError } from '@ztap/cluster';
import { registerClusterMetrics } from '@ztap/cluster-metrics';
import { MultiRegionNode } from '@ztap/cluster-multi-region';
import { registerMultiRegionMetrics } from '@ztap/cluster-multi-region/metrics';
import type { Command } from 'commander';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { parseDuration } from '../duration.ts';
import { UsageError } from '../errors.ts';
import { serveHealth } from '../health-server.ts';
import type { CliIO } from '../io.ts';
import { clusterLoggerFor } from '../library-log.ts';
import type { LogFormat, Logger } from '../log.ts';
import { electionOptionsFrom } from '../node-options.ts';
import type { GlobalOptions } from '../options.ts';
import { logClusterLeaders, logLeadership, logLiveness } from './agent.ts';
import { globalEndpointsFrom } from './region-options.ts';

/** The multi-region settings of `ztap agent`, from flags, environment or `--region-config`. */
interface RegionSettings {
  readonly region?: string;
  readonly globalEndpoints?: string;
  readonly homeRegion?: string;
  readonly globalPrefix?: string;
  readonly globalElectionTimeout?: string;
}

interface RegionAgentOptions extends GlobalOptions, RegionSettings {
  readonly regionConfig?: string;
}

/** Adds the multi-region options to `ztap agent`. */
export function regionAgentOptions(command: Command): Command {
  return command
    .option(
      '--region <name>',
      "run as a node of this region of a multi-region cluster: --endpoints is the region's own etcd (env: ZTAP_REGION)",
    )
    .option('--global-endpoints <urls>', 'the global etcd, with --region (env: ZTAP_GLOBAL_ENDPOINTS)')
    .option(
      '--home-region <name>',
      'the region that should lead globally when it can (env: ZTAP_HOME_REGION)',
    )
    .option('--global-prefix <prefix>', 'the global cluster prefix (default /ztap/global/<cluster>/)')
    .option('--global-election-timeout <duration>', 'the global lease TTL, whole seconds (default 5s)')
    .option(
      '--region-config <file>',
      'the settings above from a JSON file: {"region", "globalEndpoints", "homeRegion", "globalPrefix", "globalElectionTimeout"}; flags win',
    );
}

function readConfig(file: string): RegionSettings {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`--region-config ${file}: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new UsageError(`--region-config ${file} must hold a JSON object`);
  const known = ['region', 'globalEndpoints', 'homeRegion', 'globalPrefix', 'globalElectionTimeout'];
  for (const [key, value] of Object.entries(parsed)) {
    if (!known.includes(key))
      throw new UsageError(
        `--region-config ${file}: unknown setting ${JSON.stringify(key)} (known: ${known.join(', ')})`,
      );
    const text = Array.isArray(value) && key === 'globalEndpoints' ? value.join(',') : value;
    if (typeof text !== 'string') throw new UsageError(`--region-config ${file}: ${key} must be a string`);
  }
  const settings = parsed as Record<string, unknown>;
  const endpoints = settings.globalEndpoints;
  return {
    ...(settings as RegionSettings),
    ...(Array.isArray(endpoints) ? { globalEndpoints: endpoints.join(',') } : {}),
  };
}

/** The multi-region settings in effect: flag, else config file, else environment; undefined without a region. */
export function regionSettings(command: Command, io: CliIO): RegionSettings | undefined {
  const options = command.optsWithGlobals<RegionAgentOptions>();
  const file = options.regionConfig === undefined ? {} : readConfig(options.regionConfig);
  const pick = (key: keyof RegionSettings, env: string) => options[key] ?? file[key] ?? io.env[env];
  const region = pick('region', 'ZTAP_REGION');
  if (region === undefined) return undefined;
  const settings = {
    region,
    globalEndpoints: pick('globalEndpoints', 'ZTAP_GLOBAL_ENDPOINTS'),
    homeRegion: pick('homeRegion', 'ZTAP_HOME_REGION'),
    globalPrefix: pick('globalPrefix', 'ZTAP_GLOBAL_PREFIX'),
    globalElectionTimeout: pick('globalElectionTimeout', 'ZTAP_GLOBAL_ELECTION_TIMEOUT'),
  };
  return Object.fromEntries(
    Object.entries(settings).filter(([, value]) => value !== undefined),
  ) as RegionSettings;
}

/** Library fields as the flags that set them, so errors speak the user's language. */
const FLAG_FOR_FIELD: Record<string, string> = {
  region: '--region',
  homeRegion: '--home-region',
  'global.prefix': '--global-prefix',
  'global.electionTimeout': '--global-election-timeout',
  'regional.prefix': '--prefix',
  nodeId: '--id',
};

/** Builds the node from the agent's options; config errors exit 2, naming the flag. */
export function createRegionNode(
  command: Command,
  io: CliIO,
  settings: RegionSettings,
  loggers: { regional?: ClusterLogger; global?: ClusterLogger } = {},
): MultiRegionNode {
  const regional = electionOptionsFrom(command, io);
  const { nodeId, nodeAddress, metadata, cluster, prefix, endpoints, tls, auth, requestTimeout, ...timings } =
    regional;
  const globalTtl = parseDuration(settings.globalElectionTimeout ?? '5s', '--global-election-timeout');
  try {
    return new MultiRegionNode({
      nodeId,
      nodeAddress,
      ...(metadata !== undefined ? { metadata } : {}),
      region: settings.region as string,
      ...(settings.homeRegion !== undefined ? { homeRegion: settings.homeRegion } : {}),
      ...(cluster !== undefined ? { cluster } : {}),
      regional: {
        ...timings,
        ...(endpoints ? { endpoints } : {}),
        ...(tls ? { tls } : {}),
        ...(auth ? { auth } : {}),
        ...(requestTimeout !== undefined ? { requestTimeout } : {}),
        ...(prefix !== undefined ? { prefix } : {}),
        ...(loggers.regional ? { logger: loggers.regional } : {}),
      },
      global: {
        endpoints: globalEndpointsFrom(settings, io, tls !== undefined),
        ...(tls ? { tls } : {}),
        ...(auth ? { auth } : {}),
        electionTimeout: globalTtl,
        requestTimeout: Math.min(requestTimeout ?? 5000, Math.floor(globalTtl / 2)),
        ...(settings.globalPrefix !== undefined ? { prefix: settings.globalPrefix } : {}),
        ...(loggers.global ? { logger: loggers.global } : {}),
      },
    });
  } catch (error) {
    if (!isValidationError(error)) throw error;
    const field = FLAG_FOR_FIELD[error.field];
    throw new UsageError(field ? error.message.replace(error.field, field) : error.message);
  }
}

/**
 * `ztap agent --region`: a node of a multi-region cluster, with /healthz (the regional liveness) and
 * /metrics (cluster and multi-region metrics); stops gracefully on SIGTERM/SIGINT (global first).
 */
export async function runRegionAgent(
  command: Command,
  io: CliIO,
  log: Logger,
  format: LogFormat,
  listen: { host: string; port: number } | undefined,
  settings: RegionSettings,
): Promise<void> {
  // The library's own events go into the same log, in its format; the global election's say so.
  const node = createRegionNode(command, io, settings, {
    regional: clusterLoggerFor(log, format),
    global: clusterLoggerFor(log, format, { election: 'global' }),
  });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const clusterMetrics = registerClusterMetrics(node.regional, { registry, policies: node.regionalPolicies });
  const regionMetrics = registerMultiRegionMetrics(node, { registry });
  let stopping: Promise<void> | undefined;
  const shutdown = async () => {
    await regionMetrics.dispose();
    await clusterMetrics.dispose();
    await node.stop();
  };
  let stopped!: () => void;
  const done = new Promise<void>((resolve) => {
    stopped = resolve;
  });
  const stopListening = io.onShutdown((signal) => {
    if (stopping) return;
    log('stopping', `${signal}: leaving globally, then the region`, { signal });
    stopping = shutdown().finally(stopped);
  });
  let server: Server | undefined;
  const subscriptions: Disposable[] = [];
  try {
    await node.start();
    log('started', `node ${node.nodeId} joined region ${node.region} (${node.prefixes.regional})`, {
      nodeId: node.nodeId,
      region: node.region,
      prefix: node.prefixes.regional,
      globalPrefix: node.prefixes.global,
    });
    if (listen) {
      server = await serveHealth(node.regional, listen, registry);
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : listen.port;
      log('listening', `serving /healthz and /metrics on http://${listen.host}:${port}`, {
        host: listen.host,
        port,
      });
    }
    subscriptions.push(
      logLiveness(node.regional, log, () => stopping !== undefined),
      ...logGlobal(node, log),
    );
    void logLeadership(node.regional, log);
    void logClusterLeaders(node.regional, log);
    await done;
    log('stopped', `node ${node.nodeId} stopped`, { nodeId: node.nodeId });
  } finally {
    for (const subscription of subscriptions) subscription.dispose();
    stopListening();
    server?.close();
    await (stopping ?? shutdown());
  }
}

/** Global leadership, resyncs, and replication going stale and current again (each change once). */
function logGlobal(node: MultiRegionNode, log: Logger): Disposable[] {
  let stale = false;
  const staleness = setInterval(() => {
    const confirmMs = node.policies.checkpoint?.confirmIntervalMs ?? 1000;
    const lag = node.replicationLagMs;
    const now = lag !== undefined && lag > 3 * confirmMs;
    if (now === stale) return;
    stale = now;
    if (now)
      log(
        'replication_stale',
        `region ${node.region} last confirmed current ${((lag ?? 0) / 1000).toFixed(1)}s ago`,
        { region: node.region, lagMs: Math.round(lag ?? 0) },
        'yellow',
      );
    else
      log('replication_current', `region ${node.region} is current again`, { region: node.region }, 'green');
  }, 1000);
  return [
    node.telemetry.onGlobalLeadership((event) => {
      if (event.leading)
        log(
          'global_leader',
          `this node leads globally (global term ${event.term})`,
          { nodeId: node.nodeId, region: node.region, globalTerm: event.term },
          'green',
        );
      else
        log(
          'global_follower',
          `this node no longer leads globally (global term ${event.term} ended: ${event.reason})`,
          { nodeId: node.nodeId, globalTerm: event.term, reason: event.reason },
          'yellow',
        );
    }),
    node.telemetry.onReplication((event) => {
      if (event.type === 'resync')
        log(
          'replication_resync',
          `rebuilding region ${node.region} from the global store (${event.reason})`,
          { region: node.region, reason: event.reason, globalRevision: event.globalRevision },
        );
    }),
    { dispose: () => clearInterval(staleness) },
  ];
}
