import { type ClusterLogger, isValidationError } from '@ztap/cluster';
import { EtcdElection, type EtcdElectionOptions } from '@ztap/cluster-etcd';
import type { Command } from 'commander';
import { connectionFrom } from './connection.ts';
import { parseDuration } from './duration.ts';
import { UsageError } from './errors.ts';
import { healthCheckFrom } from './health-check.ts';
import type { CliIO } from './io.ts';
import { collect, type GlobalOptions, parseMetadata } from './options.ts';

/** Options of the commands that run a node (`agent`, `run`). */
export interface NodeCommandOptions {
  readonly id: string;
  readonly address: string;
  readonly meta: string[];
  readonly heartbeat: string;
  readonly electionTimeout: string;
  readonly initialLeadership: string;
  readonly priority: string;
  readonly minLeadership: string;
  readonly healthCmd?: string;
  readonly healthUrl?: string;
}

/** Adds the node options to `command`. */
export function nodeOptions(command: Command, addressDefault?: string): Command {
  command.requiredOption(
    '--id <id>',
    'this node\'s id: 1-128 characters, no "/", whitespace or control characters',
  );
  if (addressDefault === undefined) command.requiredOption('--address <host:port>', 'where this node serves');
  else command.option('--address <host:port>', 'where this node serves (informational)', addressDefault);
  return command
    .option('--meta <key=value>', 'a metadata label (repeatable)', collect, [])
    .option('--heartbeat <duration>', 'how often the node proves it is alive', '1s')
    .option('--election-timeout <duration>', 'lease TTL: whole seconds, at least 2s', '5s')
    .option('--initial-leadership <duration>', 'how long a fresh node waits before it may lead', '3s')
    .option('--priority <n>', 'claim to lead: higher-priority candidates get leadership handed to them', '0')
    .option(
      '--min-leadership <duration>',
      'how long a leader leads before it hands over to a higher --priority',
      '5s',
    )
    .option('--health-cmd <command>', 'shell command run every heartbeat; healthy when it exits 0')
    .option('--health-url <url>', 'URL fetched every heartbeat; healthy on a 2xx answer');
}

/** Config fields as the flags that set them, so errors speak the user's language. */
const FLAG_FOR_FIELD: Record<string, string> = {
  nodeId: '--id',
  nodeAddress: '--address',
  metadata: '--meta',
  heartbeatInterval: '--heartbeat',
  electionTimeout: '--election-timeout',
  initialLeadership: '--initial-leadership',
  priority: '--priority',
  minLeadership: '--min-leadership',
  requestTimeout: '--timeout',
  stepDownMargin: '--election-timeout',
};

/**
 * Builds a node's election, reporting config errors in terms of the flags (exit code 2). Its own
 * events go to `logger` (the command's log).
 */
export function createNodeElection(
  command: Command,
  io: CliIO,
  logger?: ClusterLogger,
  extra: Pick<EtcdElectionOptions, 'role' | 'view'> = {},
): EtcdElection {
  try {
    return new EtcdElection({ ...electionOptionsFrom(command, io), ...extra, ...(logger ? { logger } : {}) });
  } catch (error) {
    if (!isValidationError(error)) throw error;
    const message = error.message.replace(
      /\b(nodeId|nodeAddress|metadata|heartbeatInterval|electionTimeout|initialLeadership|priority|minLeadership|requestTimeout|stepDownMargin)\b/g,
      (field) => FLAG_FOR_FIELD[field] ?? field,
    );
    throw new UsageError(message.replace(/(\d+) ms/g, '$1ms'));
  }
}

/** The election config from global and node options (validated again by the election itself). */
export function electionOptionsFrom(command: Command, io: CliIO): EtcdElectionOptions {
  const options = command.optsWithGlobals<GlobalOptions & NodeCommandOptions>();
  const connection = connectionFrom(options, io);
  const electionTimeout = parseDuration(options.electionTimeout, '--election-timeout');
  const healthCheck = healthCheckFrom(options);
  return {
    ...connection,
    // A request may not outlive half a lease, whatever --timeout says.
    requestTimeout: Math.min(connection.requestTimeout ?? 5000, Math.floor(electionTimeout / 2)),
    nodeId: options.id,
    nodeAddress: options.address,
    metadata: parseMetadata(options.meta),
    heartbeatInterval: parseDuration(options.heartbeat, '--heartbeat'),
    electionTimeout,
    initialLeadership: parseDuration(options.initialLeadership, '--initial-leadership', { allowZero: true }),
    priority: parsePriority(options.priority),
    minLeadership: parseDuration(options.minLeadership, '--min-leadership', { allowZero: true }),
    ...(healthCheck ? { healthCheck } : {}),
  };
}

/** `--priority`: a whole number (its range is the library's, checked with the rest of the config). */
function parsePriority(text: string): number {
  if (!/^-?[0-9]+$/.test(text.trim()))
    throw new UsageError(`--priority must be a whole number, e.g. 10 or -1 (got ${JSON.stringify(text)})`);
  return Number(text.trim());
}
