/**
 * `@ztap/cli`: the `ztap` command. The binary is `dist/bin.js`; `createProgram` and `main` are
 * exported so the command can be embedded and tested without spawning a process.
 * @packageDocumentation
 */

export { connectionFrom } from './connection.ts';
export { parseDuration } from './duration.ts';
export { CliFailure, describeFailure, EXIT, isCliFailure, isUsageError, UsageError } from './errors.ts';
export { type CliIO, processIO } from './io.ts';
export { type GlobalOptions, parseMetadata } from './options.ts';
export { createProgram, main, type Outcome } from './program.ts';
export { missingSubcommand } from './usage-errors.ts';
