import type { LogLevel } from '@ztap/cluster';
import type { Command } from 'commander';
import { UsageError } from './errors.ts';
import { type CliIO, painter, type Style, writeLine } from './io.ts';

/**
 * The log of `agent`, `run` and `dashboard`: one line per event, for people (`text`: the time and a
 * sentence) or for log shippers (`json`: `{ time, level, event, msg, ...fields }` per line).
 */
export type Logger = (
  event: string,
  message: string,
  fields?: Record<string, unknown>,
  style?: Style,
) => void;

export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Adds `--log-format` to a command that logs. */
export function logFormatOption(command: Command): Command {
  return command.option(
    '--log-format <format>',
    `log lines: ${LOG_FORMATS.join(' or ')} (json: one object per line for log shippers; --json is the same) (default: text)`,
  );
}

/** `--log-format text|json`; for the commands that log, `--json` means `--log-format json`. */
export function logFormat(options: { readonly logFormat?: string; readonly json?: boolean }): LogFormat {
  const { logFormat: format, json } = options;
  if (format === undefined) return json ? 'json' : 'text';
  if (!(LOG_FORMATS as readonly string[]).includes(format))
    throw new UsageError(
      `--log-format must be one of ${LOG_FORMATS.join(', ')} (got ${JSON.stringify(format)})`,
    );
  if (json && format !== 'json') throw new UsageError(`--json and --log-format ${format} disagree: give one`);
  return format as LogFormat;
}

/** A line's level follows how alarming it looks: red is an error, yellow a warning. */
export function levelOf(style: Style | undefined): LogLevel {
  if (style === 'red') return 'error';
  if (style === 'yellow') return 'warn';
  return 'info';
}

export function createLogger(io: CliIO, format: LogFormat, colour: boolean): Logger {
  const paint = painter(io, colour);
  return (event, message, fields = {}, style) => {
    const time = new Date().toISOString();
    if (format === 'json')
      writeLine(io.stdout, JSON.stringify({ time, level: levelOf(style), event, msg: message, ...fields }));
    else writeLine(io.stdout, `${paint('dim', time)}  ${style ? paint(style, message) : message}`);
  };
}
