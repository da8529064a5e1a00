import { isIP } from 'node:net';
import { DashboardExposedError } from './errors.ts';

/** Whether `host` can only be reached from this machine: `localhost`, 127.0.0.0/8 or ::1. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1' || bare === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(bare);
  return false;
}

/**
 * The dashboard's exposure rule: loopback is always allowed; any other address (`0.0.0.0`, a LAN
 * address, a host name that might resolve anywhere) only with a token. Throws
 * {@link DashboardExposedError} otherwise.
 */
export function assertSafeListen(host: string, options: { readonly token?: string | undefined }): void {
  if (!isLoopbackHost(host) && !options.token) throw new DashboardExposedError(host);
}
