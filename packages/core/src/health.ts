import type { Clock } from './clock.ts';
import { describeValue, type HealthCheck, type HealthVerdict } from './config.ts';
import { HealthCheckTimeoutError } from './errors.ts';
import { oneLine } from './reason.ts';

const HEALTHY: HealthVerdict = Object.freeze({ healthy: true });
const unhealthy = (reason: string): HealthVerdict =>
  Object.freeze({ healthy: false, reason: oneLine(reason) });

/**
 * Runs an application health check with a deadline and says why it failed. Anything but a timely
 * `true` (or `{ healthy: true }`) counts as unhealthy: a check that throws or hangs must not keep a
 * sick node in the running for leadership. The reason is one line, at most a few hundred characters.
 */
export async function runHealthCheck(
  check: HealthCheck,
  timeoutMs: number,
  clock: Clock,
): Promise<HealthVerdict> {
  const controller = new AbortController();
  let timer: unknown;
  const timedOut = new Promise<HealthVerdict>((resolve) => {
    timer = clock.setTimeout(() => {
      controller.abort(new HealthCheckTimeoutError(timeoutMs));
      resolve(unhealthy(`the health check timed out after ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    const verdict = Promise.resolve()
      .then(() => check({ signal: controller.signal }))
      .then(verdictOf, (error: unknown) =>
        unhealthy(
          error instanceof Error && error.message
            ? error.message
            : `the health check threw ${describeValue(error)}`,
        ),
      );
    return await Promise.race([verdict, timedOut]);
  } finally {
    clock.clearTimeout(timer);
  }
}

function verdictOf(result: unknown): HealthVerdict {
  if (result === true) return HEALTHY;
  if (result === false) return unhealthy('the health check returned false');
  if (typeof result === 'object' && result !== null && 'healthy' in result) {
    const { healthy, reason } = result as { healthy: unknown; reason?: unknown };
    if (healthy === true) return HEALTHY;
    if (healthy === false) {
      return unhealthy(
        typeof reason === 'string' && reason.trim() ? reason : 'the health check reported unhealthy',
      );
    }
  }
  return unhealthy(`the health check returned ${describeValue(result)}, not true or false`);
}
