import { describeValue } from './describe.ts';
import { ValidationError } from './errors.ts';

/** One level of a {@link ClusterLogger}: pino's call shape, an object of fields first, then the message. */
export type LogMethod = (fields: Record<string, unknown>, message: string) => void;

/**
 * The logger the `logger` option takes: pino, or anything with pino's call shape (bunyan, a
 * pino-compatible wrapper). Each method is called as `logger.warn({ event, term, reason }, 'leadership
 * lost')`, always as a method of the logger (so `this` is the logger). `child`, when present, is
 * called once with `{ nodeId, ... }` bindings and the child logs everything after.
 */
export interface ClusterLogger {
  readonly debug: LogMethod;
  readonly info: LogMethod;
  readonly warn: LogMethod;
  readonly error: LogMethod;
  readonly child?: (bindings: Record<string, unknown>) => ClusterLogger;
}

/** The levels the library logs at, lowest first. */
export const LOG_LEVELS = Object.freeze(['debug', 'info', 'warn', 'error'] as const);
export type LogLevel = (typeof LOG_LEVELS)[number];

const RULE = 'must be a pino-compatible logger: an object with debug, info, warn and error methods';

/** Checks the `logger` option: undefined (silent), or an object with the four methods and maybe `child`. */
export function validateLogger(logger: unknown, field = 'logger'): ClusterLogger | undefined {
  if (logger === undefined) return undefined;
  if (typeof logger !== 'object' || logger === null) {
    throw new ValidationError(field, `${RULE} (got ${describeValue(logger)})`);
  }
  const methods = logger as Record<string, unknown>;
  const missing = LOG_LEVELS.filter((level) => typeof methods[level] !== 'function');
  if (missing.length > 0) {
    throw new ValidationError(field, `${RULE} (not a function: ${missing.join(', ')})`);
  }
  if (methods.child !== undefined && typeof methods.child !== 'function') {
    throw new ValidationError(
      `${field}.child`,
      `must be a function of the bindings when given (got ${describeValue(methods.child)})`,
    );
  }
  return logger as ClusterLogger;
}
