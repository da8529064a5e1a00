import type { LogLevel } from '@ztap/cluster';
import type { Command } from 'commander';
import { UsageError } from './errors.ts';
import { type CliIO, painter, type Style, writeLine } from './io.ts';
import { outputFormat, outputTo } from './output.ts';

/**
 * The log of `agent`, `run` and `dashboard`: one entry per event, for people (`text`: the time and a
 * sentence) or for log shippers (`json`: a `{ time, level, event, msg, ...fields }` object per line;
 * `yaml`, from `-o yaml`: the same object as one YAML document per event).
 */
export type Logger = (
  event: string,
  message: string,
  fields?: Record<string, unknown>,
  style?: Style,
) => void;

/** What `--log-format` takes; `-o yaml` also gives `yaml`. */
export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number] | 'yaml';

/** Adds `--log-format` to a command that logs. */
export function logFormatOption(command: Command): Command {
  return command.option(
    '--log-format <format>',
    `log lines: ${LOG_FORMATS.join(' or ')} (json: one object per line for log shippers; -o json and --json are the same) (default: text)`,
  );
}

/**
 * `--log-format text|json`. Without it the log follows `-o` (`--json` is `-o json`): `table` is
 * text, `json` and `yaml` are themselves. Both given, they must agree.
 */
export function logFormat(options: {
  readonly logFormat?: string;
  readonly output?: string;
  readonly json?: boolean;
}): LogFormat {
  const output = outputFormat(options);
  const implied: LogFormat = output === 'table' ? 'text' : output;
  const format = options.logFormat;
  if (format === undefined) return implied;
  if (!(LOG_FORMATS as readonly string[]).includes(format))
    throw new UsageError(
      `--log-format must be one of ${LOG_FORMATS.join(', ')} (got ${JSON.stringify(format)})`,
    );
  const outputGiven = options.output !== undefined || options.json === true;
  if (outputGiven && implied !== format) {
    const other = options.output === undefined ? '--json' : `-o ${options.output}`;
    throw new UsageError(`${other} and --log-format ${format} disagree: give one`);
  }
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
  const structured = format === 'text' ? undefined : outputTo(io, format);
  return (event, message, fields = {}, style) => {
    const time = new Date().toISOString();
    if (structured) structured.item({ time, level: levelOf(style), event, msg: message, ...fields });
    else writeLine(io.stdout, `${paint('dim', time)}  ${style ? paint(style, message) : message}`);
  };
}
