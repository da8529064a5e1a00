import type { Clock } from './clock.ts';
import type { HealthCheck } from './config.ts';
import { HealthCheckTimeoutError } from './errors.ts';

/**
 * Runs an application health check with a deadline. Anything but a timely `true` counts as unhealthy:
 * a check that throws or hangs must not keep a sick node in the running for leadership.
 */
export async function runHealthCheck(check: HealthCheck, timeoutMs: number, clock: Clock): Promise<boolean> {
  const controller = new AbortController();
  let timer: unknown;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = clock.setTimeout(() => {
      controller.abort(new HealthCheckTimeoutError(timeoutMs));
      resolve(false);
    }, timeoutMs);
  });
  try {
    const verdict = Promise.resolve()
      .then(() => check({ signal: controller.signal }))
      .then(
        (healthy) => healthy === true,
        () => false,
      );
    return await Promise.race([verdict, timedOut]);
  } finally {
    clock.clearTimeout(timer);
  }
}
