/**
 * `@ztap/cli`: the `ztap` command. The binary is `dist/bin.js`; `createProgram` and `main` are
 * exported so the command can be embedded and tested without spawning a process.
 * @packageDocumentation
 */
export { CliFailure, describeFailure, EXIT, UsageError } from './errors.ts';
export { type CliIO, processIO } from './io.ts';
export { connectionFrom, type GlobalOptions, parseDuration, parseMetadata } from './options.ts';
export { createProgram, main, missingSubcommand, type Outcome } from './program.ts';
