import type { Command } from 'commander';
import { UsageError } from './errors.ts';

/**
 * Commander's usage errors, as one line that points at the help of the command they concern:
 * `unknown command "frobnicate" for "ztap cluster" (commands: status, ...); see ztap cluster --help`.
 * Help, version and the help shown for a missing subcommand pass through to main().
 */
export function explainUsageErrors(command: Command): void {
  const path = commandPath(command);
  command.exitOverride((error) => {
    if (['commander.help', 'commander.helpDisplayed', 'commander.version'].includes(error.code)) throw error;
    if (error.code === 'commander.unknownCommand') {
      const commands = command.commands.map((sub) => sub.name()).join(', ');
      throw new UsageError(
        `unknown command ${JSON.stringify(command.args[0] ?? '')} for "${path}" (commands: ${commands}); see ${path} --help`,
        { cause: error },
      );
    }
    const message = error.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ');
    throw new UsageError(`${message} (see ${path} --help)`, { cause: error });
  });
  for (const sub of command.commands) explainUsageErrors(sub);
}

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let at: Command | null = command; at; at = at.parent) names.unshift(at.name());
  return names.join(' ');
}

/** "ztap cluster needs a command: status, list, ... (see ztap cluster --help)", from commander's help text. */
export function missingSubcommand(help: string): string {
  const usage = /Usage: (\S+(?: [a-z][\w-]*)*)/.exec(help)?.[1] ?? 'ztap';
  const commands = (help.split(/^Commands:$/m)[1] ?? '')
    .split('\n')
    .map((line) => /^ {2}([a-z][\w-]*)/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined && name !== 'help');
  return `${usage} needs a command: ${commands.join(', ')} (see ${usage} --help)`;
}
