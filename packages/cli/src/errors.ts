import {
  isElectionStoppedError,
  isNodeExistsError,
  isNodeIdInUseError,
  isNodeNotFoundError,
  isValidationError,
  isZtapError,
  NodeIdInUseError,
  ZtapError,
} from '@ztap/cluster';
import { hasErrorCode } from '@ztap/cluster/backend';
import { CommanderError } from 'commander';

/** Exit codes, documented in docs/cli.md. */
export const EXIT = Object.freeze({ ok: 0, failure: 1, usage: 2 });

/** A mistake in how the command was called (a flag, an argument, a variable): exit code 2. */
export class UsageError extends ZtapError {
  static readonly code = 'ZTAP_CLI_USAGE';

  constructor(message: string, options?: ErrorOptions) {
    super(UsageError.code, message, options);
  }
}
export const isUsageError = (error: unknown): error is UsageError => hasErrorCode(error, UsageError.code);

/** An operational failure with a message already fit for the user: exit code 1 (or `exitCode`). */
export class CliFailure extends ZtapError {
  static readonly code = 'ZTAP_CLI_FAILURE';
  readonly exitCode: number;

  constructor(message: string, exitCode: number = EXIT.failure, options?: ErrorOptions) {
    super(CliFailure.code, message, options);
    this.exitCode = exitCode;
  }
}
export const isCliFailure = (error: unknown): error is CliFailure => hasErrorCode(error, CliFailure.code);

/** One line for stderr and the exit code for any error a command can end with. */
export function describeFailure(error: unknown): { message: string; exitCode: number } {
  const oneLine = (text: string) => text.replace(/\s*\n\s*/g, ' ').trim();
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') {
      return { message: '', exitCode: EXIT.ok };
    }
    return {
      message: `${oneLine(error.message.replace(/^error: /, ''))} (see ztap --help)`,
      exitCode: EXIT.usage,
    };
  }
  if (isUsageError(error) || isValidationError(error)) {
    return { message: oneLine((error as Error).message), exitCode: EXIT.usage };
  }
  if (isCliFailure(error)) return { message: oneLine(error.message), exitCode: error.exitCode };
  // The library says "node id"; on the command line the id is --id.
  if (isNodeIdInUseError(error)) {
    const conflict = NodeIdInUseError.describe(error.nodeId, error.holder);
    return {
      message: oneLine(`${conflict}; pick another --id, or stop that node first`),
      exitCode: EXIT.failure,
    };
  }
  if (
    isNodeExistsError(error) ||
    isNodeNotFoundError(error) ||
    isElectionStoppedError(error) ||
    isZtapError(error)
  ) {
    return { message: oneLine((error as Error).message), exitCode: EXIT.failure };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { message: oneLine(message), exitCode: EXIT.failure };
}
