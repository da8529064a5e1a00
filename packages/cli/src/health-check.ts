import { spawn } from 'node:child_process';
import type { HealthCheck } from '@ztap/cluster';
import { UsageError } from './errors.ts';

/**
 * The agent's application health check: a shell command (healthy when it exits 0) or an HTTP URL
 * (healthy on a 2xx answer). Either is abandoned when the election's deadline signal aborts.
 */
export function healthCheckFrom(options: {
  healthCmd?: string;
  healthUrl?: string;
}): HealthCheck | undefined {
  if (options.healthCmd !== undefined && options.healthUrl !== undefined) {
    throw new UsageError('--health-cmd and --health-url are alternatives: give one');
  }
  if (options.healthCmd !== undefined) return commandCheck(options.healthCmd);
  if (options.healthUrl !== undefined) {
    let url: URL;
    try {
      url = new URL(options.healthUrl);
    } catch {
      throw new UsageError(`--health-url must be an http(s) URL (got ${JSON.stringify(options.healthUrl)})`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new UsageError(`--health-url must be an http(s) URL (got ${JSON.stringify(options.healthUrl)})`);
    }
    return async ({ signal }) => {
      const response = await fetch(url, { signal });
      await response.body?.cancel();
      return response.ok;
    };
  }
  return undefined;
}

function commandCheck(command: string): HealthCheck {
  return ({ signal }) =>
    new Promise<boolean>((resolve) => {
      const child = spawn('/bin/sh', ['-c', command], { stdio: 'ignore', signal });
      child.on('error', () => resolve(false));
      child.on('exit', (code) => resolve(code === 0));
    });
}
