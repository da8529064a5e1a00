import { isElectionStoppedError, type Leadership } from '@ztap/cluster';
import type { EtcdElection } from '@ztap/cluster-etcd';
import type { Command } from 'commander';
import { withoutCredentials } from '../credentials.ts';
import { parseDuration } from '../duration.ts';
import { CliFailure, UsageError } from '../errors.ts';
import type { CliIO } from '../io.ts';
import { clusterLoggerFor } from '../library-log.ts';
import { createLogger, type Logger, logFormat, logFormatOption } from '../log.ts';
import { createNodeElection, nodeOptions } from '../node-options.ts';
import type { GlobalOptions } from '../options.ts';
import { isKeeperDiedError, KeeperProcess } from '../run/keeper-process.ts';
import { superviseCommand } from '../run/supervise.ts';

export function registerRunCommand(program: Command, io: CliIO, outcome: { exitCode: number }): void {
  logFormatOption(
    nodeOptions(
      program
        .command('run')
        .description('run a command only while this node is the leader (like `consul lock`)')
        .argument('<command...>', 'the command and its arguments, after --'),
      '127.0.0.1:1',
    ),
  )
    .option(
      '--grace <duration>',
      "after SIGTERM, how long the command's process group may take to end before SIGKILL (never past the leadership deadline)",
      '10s',
    )
    .addHelpText(
      'after',
      `
Examples:
  $ ztap run --id cron-1 -- ./nightly-report.sh
  $ ztap --cluster billing run --id worker-a --grace 30s -- node settle-invoices.js

Joins the cluster, waits to be elected, then starts the command in a process group of its own with
ZTAP_TERM (the fencing token), ZTAP_NODE_ID and ZTAP_PREFIX in its environment. The moment leadership
is lost, the whole group gets SIGTERM, then SIGKILL after --grace, and ztap exits 1. SIGKILL never
comes later than the leadership deadline, when the lease could expire and a successor start. A keeper
process ends the group even if ztap itself is killed (even with SIGKILL) or frozen. When the command
exits on its own, whatever it left running is stopped, then ztap resigns and exits with its status.
SIGTERM or SIGINT to ztap stop the command the same way. Details and limits: docs/cli.md`,
    )
    .action(async (commandLine: string[], _local, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions & { grace: string; logFormat?: string }>();
      const grace = parseDuration(globals.grace, '--grace');
      if (commandLine.length === 0) throw new UsageError('give the command to run after --');
      const format = logFormat(globals);
      const log = createLogger(io, format, globals.color !== false);
      const election = createNodeElection(command, io, clusterLoggerFor(log, format));
      const status = await runWhileLeader(election, commandLine, grace, io, log);
      if (typeof status === 'string') throw new CliFailure(status);
      outcome.exitCode = status;
    });
}

/** Resolves with the command's exit status, or a sentence saying why it was stopped. */
async function runWhileLeader(
  election: EtcdElection,
  commandLine: string[],
  graceMs: number,
  io: CliIO,
  log: Logger,
): Promise<number | string> {
  const shutdown = new AbortController();
  const stopListening = io.onShutdown((signal) => shutdown.abort(signal));
  // The keeper starts first: a takeover then costs no process start-up, and no command ever runs
  // unguarded. If this process dies at any point, the keeper sees its channel close.
  const keeper = KeeperProcess.spawn();
  try {
    // The shutdown signal may cancel the start, but must not stop the election later: on SIGTERM
    // the command is stopped first, and only then does the node resign.
    const starting = new AbortController();
    const cancelStart = () => starting.abort(shutdown.signal.reason);
    shutdown.signal.addEventListener('abort', cancelStart, { once: true });
    try {
      await election.start({ signal: starting.signal });
    } finally {
      shutdown.signal.removeEventListener('abort', cancelStart);
    }
    log('waiting', `node ${election.nodeId} joined ${election.prefix}; waiting to be elected`, {
      nodeId: election.nodeId,
      keeperPid: keeper.pid,
    });
    let elected = false;
    try {
      // As leader work: a handover (transfer, resign) drains it, so the successor starts only once
      // the command's group is gone.
      return await election.runWhileLeader(
        ({ term }) => {
          elected = true;
          // The leadership's own signal, not one that the shutdown also aborts: a shutdown is
          // reported as such, not as a lost leadership.
          const leadership: Leadership = { term, signal: election.leadershipSignal };
          const env = childEnvironment(io.env, {
            ZTAP_TERM: String(term),
            ZTAP_NODE_ID: election.nodeId,
            ZTAP_PREFIX: election.prefix,
          });
          return superviseCommand(election, leadership, keeper, { commandLine, env, graceMs }, log, {
            signal: shutdown.signal,
          });
        },
        { signal: AbortSignal.any([shutdown.signal, keeper.lost]) },
      );
    } catch (error) {
      if (elected) throw error;
      if (isKeeperDiedError(keeper.lost.reason))
        throw new CliFailure(`${keeper.lost.reason.message} before ${commandLine[0]} started`, undefined, {
          cause: keeper.lost.reason,
        });
      if (shutdown.signal.aborted || isElectionStoppedError(error))
        return `stopped by ${String(shutdown.signal.reason ?? 'shutdown')} before being elected`;
      throw error;
    }
  } finally {
    stopListening();
    // Leadership ends in this order: the command's group is gone (the keeper exits only then), and
    // only then is the lease revoked, which lets a successor start.
    keeper.close();
    await keeper.exited;
    await election.stop();
  }
}

/** Our environment for the command, minus the etcd password: the command has no business with it. */
export function childEnvironment(
  env: Readonly<Record<string, string | undefined>>,
  extra: Record<string, string>,
): Record<string, string> {
  const rest = withoutCredentials(env);
  const defined = Object.entries(rest).filter((entry): entry is [string, string] => entry[1] !== undefined);
  return { ...Object.fromEntries(defined), ...extra };
}
