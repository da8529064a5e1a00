import { UsageError } from './errors.ts';

const MAX_DURATION_MS = 24 * 3_600_000;
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;

/**
 * A duration as Go (and so etcdctl) writes it: `500ms`, `5s`, `1.5s`, `2m`, `1h`, `1m30s`. A bare
 * number is refused, as etcdctl refuses it: `--timeout 5` is far more likely to mean 5 seconds than 5
 * milliseconds, and guessing either way is worse than asking. `0` needs no unit where zero is allowed.
 * `option` names the flag or environment variable the text came from.
 */
export function parseDuration(text: string, option: string, options: { allowZero?: boolean } = {}): number {
  const trimmed = text.trim();
  const bare = /^\d+(?:\.\d+)?$/.test(trimmed);
  if (bare && Number(trimmed) !== 0)
    throw new UsageError(`${option} must have a unit, e.g. 5s or 500ms (got ${JSON.stringify(text)})`);
  const value = bare ? 0 : millisecondsOf(trimmed);
  if (value === undefined)
    throw new UsageError(
      `${option} must be a duration like 500ms, 5s, 2m or 1m30s (got ${JSON.stringify(text)})`,
    );
  if (value === 0 && !options.allowZero)
    throw new UsageError(`${option} must be more than zero (got ${JSON.stringify(text)})`);
  // Timers and gRPC deadlines misbehave far beyond a day (overflow, RST_STREAM): no setting needs more.
  if (value > MAX_DURATION_MS)
    throw new UsageError(`${option} must be at most 24h (got ${JSON.stringify(text)})`);
  return value;
}

/** Milliseconds of `1m30s`-style text, or undefined if it is not one. */
function millisecondsOf(text: string): number | undefined {
  if (!/^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART))
    total += Number(amount) * (UNITS[unit as string] as number);
  return Math.round(total);
}
