import type { ClusterLogger, LogLevel } from '@ztap/cluster';
import type { Style } from './io.ts';
import type { LogFormat, Logger } from './log.ts';

/**
 * Library events the commands already report in their own words (`leader`, `follower`, `unhealthy`,
 * `healthy`): the same news twice would only confuse.
 */
const REPORTED_BY_THE_COMMAND = new Set(['leadership_gained', 'leadership_lost', 'not_live', 'live']);

const STYLE: Record<LogLevel, Style | undefined> = {
  debug: undefined,
  info: undefined,
  warn: 'yellow',
  error: 'red',
};

/** A field as it goes into a line: errors by their message (JSON would print `{}`). */
function plain(value: unknown): unknown {
  return value instanceof Error ? value.message : value;
}

/** ` (kind=unavailable error="etcd at ... is unreachable")`: the details a sentence for people needs. */
function details(fields: Record<string, unknown>): string {
  const pairs = Object.entries(fields).map(([key, value]) => {
    const text = String(plain(value));
    return `${key}=${/^[\w.:/-]+$/.test(text) ? text : JSON.stringify(text)}`;
  });
  return pairs.length > 0 ? ` (${pairs.join(' ')})` : '';
}

/**
 * The election's `logger` option for a command: library events go into the command's own log, in its
 * format (text, or JSON or YAML), with the library's `event` name; structured, with the child's bindings
 * (`nodeId`, `prefix`) on every line. Debug lines are left out.
 */
export function clusterLoggerFor(
  log: Logger,
  format: LogFormat,
  bindings: Record<string, unknown> = {},
): ClusterLogger {
  const at =
    (level: LogLevel) =>
    ({ event, ...fields }: Record<string, unknown>, message: string) => {
      if (level === 'debug' || REPORTED_BY_THE_COMMAND.has(String(event))) return;
      const name = typeof event === 'string' ? event : 'cluster';
      if (format !== 'text') {
        const values = Object.fromEntries(Object.entries(fields).map(([key, value]) => [key, plain(value)]));
        log(name, message, { ...bindings, ...values }, STYLE[level]);
      } else log(name, `${message}${details(fields)}`, {}, STYLE[level]);
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more) => clusterLoggerFor(log, format, { ...bindings, ...more }),
  };
}
