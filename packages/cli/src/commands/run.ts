import { type ChildProcess, spawn } from 'node:child_process';
import { constants } from 'node:os';
import { isElectionStoppedError, isLeadershipLostError } from '@ztap/cluster';
import type { EtcdElection } from '@ztap/cluster-etcd';
import type { Command } from 'commander';
import { CliFailure, UsageError } from '../errors.ts';
import type { CliIO } from '../io.ts';
import { createLogger, type Logger } from '../log.ts';
import { createNodeElection, nodeOptions } from '../node-options.ts';
import { type GlobalOptions, parseDuration } from '../options.ts';

export function registerRunCommand(program: Command, io: CliIO, outcome: { exitCode: number }): void {
  nodeOptions(
    program
      .command('run')
      .description('run a command only while this node is the leader (like `consul lock`)')
      .argument('<command...>', 'the command and its arguments, after --'),
    '127.0.0.1:1',
  )
    .option(
      '--grace <duration>',
      'after SIGTERM, how long the command may take to exit before SIGKILL',
      '10s',
    )
    .addHelpText(
      'after',
      `
Examples:
  $ ztap run --id cron-1 -- ./nightly-report.sh
  $ ztap --cluster billing run --id worker-a --grace 30s -- node settle-invoices.js

Joins the cluster, waits to be elected, then starts the command with ZTAP_TERM (the fencing token),
ZTAP_NODE_ID and ZTAP_PREFIX in its environment. The moment leadership is lost, the command gets
SIGTERM, then SIGKILL after --grace, and ztap exits 1. When the command exits on its own, ztap
resigns and exits with its status. SIGTERM or SIGINT to ztap stop the command the same way.`,
    )
    .action(async (commandLine: string[], _local, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions & { grace: string }>();
      const grace = parseDuration(globals.grace, '--grace');
      if (commandLine.length === 0) throw new UsageError('give the command to run after --');
      const election = createNodeElection(command, io);
      const log = createLogger(io, globals.json === true, globals.color !== false);
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
    });
    let leadership: Awaited<ReturnType<EtcdElection['waitForLeadership']>>;
    try {
      leadership = await election.waitForLeadership({ signal: shutdown.signal });
    } catch (error) {
      if (shutdown.signal.aborted || isElectionStoppedError(error))
        return `stopped by ${String(shutdown.signal.reason ?? 'shutdown')} before being elected`;
      throw error;
    }
    log('leader', `elected (term ${leadership.term}); starting ${commandLine.join(' ')}`, {
      term: leadership.term,
    });
    const [file, ...args] = commandLine as [string, ...string[]];
    const child = spawn(file, args, {
      stdio: 'inherit',
      env: childEnvironment(io.env, {
        ZTAP_TERM: String(leadership.term),
        ZTAP_NODE_ID: election.nodeId,
        ZTAP_PREFIX: election.prefix,
      }),
    });
    const exited = new Promise<number>((resolve, reject) => {
      child.once('error', (error) => reject(new CliFailure(`cannot start ${file}: ${error.message}`)));
      child.once('exit', (code, signal) =>
        resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)),
      );
    });
    const interrupted = new Promise<string>((resolve) => {
      const onLost = () => {
        const reason = isLeadershipLostError(leadership.signal.reason)
          ? leadership.signal.reason.reason
          : 'unknown';
        resolve(`leadership lost (${reason}); stopped ${file}`);
      };
      leadership.signal.addEventListener('abort', onLost, { once: true });
      shutdown.signal.addEventListener('abort', () => resolve(''), { once: true });
    });
    const outcome = await Promise.race([exited, interrupted]);
    if (typeof outcome === 'number') {
      log('exited', `${file} exited with status ${outcome}; resigning`, { status: outcome });
      return outcome;
    }
    log('stopping', outcome || `${String(shutdown.signal.reason)}: stopping ${file}`, {
      reason: outcome || 'signal',
    });
    const status = await terminate(child, exited, graceMs);
    return outcome || status;
  } finally {
    stopListening();
    await election.stop();
  }
}

/** Our environment for the command, minus the etcd password: the command has no business with it. */
export function childEnvironment(
  env: Readonly<Record<string, string | undefined>>,
  extra: Record<string, string>,
): Record<string, string | undefined> {
  const { ZTAP_ETCD_PASSWORD: _password, ...rest } = env;
  return { ...rest, ...extra };
}

/** SIGTERM, then SIGKILL if the child is still running after the grace period. */
async function terminate(child: ChildProcess, exited: Promise<number>, graceMs: number): Promise<number> {
  if (child.exitCode !== null || child.signalCode !== null) return exited;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  try {
    return await exited;
  } finally {
    clearTimeout(timer);
  }
}
