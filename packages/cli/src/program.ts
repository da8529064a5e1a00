import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerAgentCommand } from './commands/agent.ts';
import { registerClusterCommands } from './commands/cluster.ts';
import { registerDashboardCommand } from './commands/dashboard.ts';
import { registerPolicyCommands } from './commands/policy.ts';
import { registerRegionCommands } from './commands/region.ts';
import { registerRunCommand } from './commands/run.ts';
import { describeFailure, EXIT } from './errors.ts';
import type { CliIO } from './io.ts';
import { DEFAULT_ENDPOINT, DEFAULT_TIMEOUT } from './options.ts';
import { OUTPUT_FORMATS } from './output.ts';
import { explainUsageErrors, missingSubcommand } from './usage-errors.ts';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** What a run of the program reports back to main(). */
export interface Outcome {
  exitCode: number;
  /** The help commander would have printed on stderr for a missing subcommand. */
  helpOnError?: string;
}

/** Builds the `ztap` program; everything it does goes through `io`, so tests can drive it in-process. */
export function createProgram(io: CliIO, outcome: Outcome = { exitCode: EXIT.ok }): Command {
  const program = new Command('ztap')
    .description('ZTAP cluster: leader election and membership on etcd')
    .version(version, '-v, --version', 'print the version')
    .option(
      '--endpoints <urls>',
      `etcd endpoints, comma-separated (env: ZTAP_ETCD_ENDPOINTS, ETCDCTL_ENDPOINTS; default: ${DEFAULT_ENDPOINT})`,
    )
    .option(
      '--cluster <name>',
      'cluster name: keys under /ztap/clusters/<name>/ (env: ZTAP_CLUSTER; default: default)',
    )
    .option('--prefix <prefix>', 'key prefix instead of --cluster, starting with "/" (env: ZTAP_PREFIX)')
    .option(
      '--cacert <file>',
      'CA bundle to verify etcd (PEM); turns on TLS (env: ZTAP_ETCD_CACERT, ETCDCTL_CACERT)',
    )
    .option('--cert <file>', 'client certificate (PEM), with --key (env: ZTAP_ETCD_CERT, ETCDCTL_CERT)')
    .option('--key <file>', 'client private key (PEM), with --cert (env: ZTAP_ETCD_KEY, ETCDCTL_KEY)')
    .option(
      '--user <name>',
      'etcd user (env: ZTAP_ETCD_USER, ETCDCTL_USER, either may be user:password); the password from ZTAP_ETCD_PASSWORD or ETCDCTL_PASSWORD, never on the command line',
    )
    .option(
      '--timeout <duration>',
      `deadline of a whole command, retries included; of each request for watch, agent, run (env: ZTAP_ETCD_TIMEOUT, ETCDCTL_COMMAND_TIMEOUT; default: ${DEFAULT_TIMEOUT})`,
    )
    .option('-o, --output <format>', `output format: ${OUTPUT_FORMATS.join(', ')} (default: table)`)
    .option('--json', 'same as -o json (one JSON document; one object per line when streaming)')
    .option('--no-color', 'no colour, even on a terminal (NO_COLOR is honoured too)')
    // Every subcommand's help shows these too: they work after the subcommand as well.
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      // With errors silenced below, commander writes here only the help it shows when a command
      // group is called without its subcommand: main() turns that into one line instead.
      writeErr: (text) => {
        outcome.helpOnError = (outcome.helpOnError ?? '') + text;
      },
      outputError: () => {}, // main() prints every failure as one line
    })
    .exitOverride()
    .addHelpText(
      'after',
      `
Examples:
  $ ztap cluster status                       who leads, how many nodes are healthy
  $ ztap cluster list                         every node with its state, role and metadata
  $ ztap agent --id node-1 --address 10.0.0.7:9090 --listen 8080
  $ ztap run --id cron-1 -- ./nightly-report.sh
  $ ztap dashboard                            a live web view on http://127.0.0.1:8080/

Exit codes: 0 success, 1 operational failure (etcd unreachable, permission denied, no leader, ...),
2 usage error (bad arguments, invalid id/address/metadata). Docs: docs/cli.md`,
    );
  registerClusterCommands(program, io);
  registerPolicyCommands(program, io);
  registerAgentCommand(program, io);
  registerRunCommand(program, io, outcome);
  registerDashboardCommand(program, io);
  registerRegionCommands(program, io);
  explainUsageErrors(program);
  return program;
}

/** Runs `ztap` with `argv` (without node and script); resolves with the exit code. Never throws. */
export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  const outcome: Outcome = { exitCode: EXIT.ok };
  try {
    await createProgram(io, outcome).parseAsync([...argv], { from: 'user' });
    return outcome.exitCode;
  } catch (error) {
    if (error instanceof CommanderError && error.code === 'commander.help' && outcome.helpOnError) {
      io.stderr.write(`ztap: ${missingSubcommand(outcome.helpOnError)}\n`);
      return EXIT.usage;
    }
    const { message, exitCode } = describeFailure(error);
    if (message) io.stderr.write(`ztap: ${message}\n`);
    return exitCode;
  }
}
