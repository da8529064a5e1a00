import {
  type MultiRegionStatusOptions,
  type RegionAddress,
  validateRegion,
} from '@ztap/cluster-multi-region';
import type { Command } from 'commander';
import type { ConnectionSettings } from '../connection.ts';
import { UsageError } from '../errors.ts';
import type { CliIO } from '../io.ts';
import { collect } from '../options.ts';

/** The flags that say where a multi-region cluster's state is read (`region status`, `dashboard`). */
export interface RegionReadFlags {
  readonly globalEndpoints?: string;
  readonly globalPrefix?: string;
  readonly region: string[];
}

/** `--region NAME=URL[,URL]` → a region to read besides the directory's. */
export function parseRegionAddress(text: string): RegionAddress {
  const separator = text.indexOf('=');
  const name = text.slice(0, separator);
  const endpoints = text
    .slice(separator + 1)
    .split(',')
    .map((endpoint) => endpoint.trim())
    .filter(Boolean);
  if (separator <= 0 || endpoints.length === 0)
    throw new UsageError(
      `--region must be NAME=URL[,URL...], e.g. eu=http://10.0.1.5:2379 (got ${JSON.stringify(text)})`,
    );
  try {
    validateRegion(name, '--region');
  } catch (error) {
    throw new UsageError(`--region ${(error as Error).message}`, { cause: error });
  }
  return { name, endpoints };
}

/** `--global-endpoints` or ZTAP_GLOBAL_ENDPOINTS, as etcd URLs (`host:port` gets a scheme). */
export function globalEndpointsFrom(
  options: { globalEndpoints?: string },
  io: CliIO,
  tls: boolean,
): string[] {
  const text = options.globalEndpoints ?? io.env.ZTAP_GLOBAL_ENDPOINTS;
  const endpoints = (text ?? '')
    .split(',')
    .map((endpoint) => endpoint.trim())
    .filter(Boolean)
    .map((endpoint) =>
      /^[a-z]+:\/\//i.test(endpoint) ? endpoint : `${tls ? 'https' : 'http'}://${endpoint}`,
    );
  if (endpoints.length === 0)
    throw new UsageError('--global-endpoints (or ZTAP_GLOBAL_ENDPOINTS) must name the global etcd');
  return endpoints;
}

/** Adds `--global-endpoints`, `--global-prefix` and the repeatable `--region` to `command`. */
export function regionReadOptions(command: Command): Command {
  return command
    .option('--global-endpoints <urls>', 'the global etcd, comma-separated (env: ZTAP_GLOBAL_ENDPOINTS)')
    .option('--global-prefix <prefix>', 'the global cluster prefix (default /ztap/global/<cluster>/)')
    .option(
      '--region <name=urls>',
      "a region's etcd, besides those the global store lists (repeatable; wins over the listed one)",
      collect,
      [],
    );
}

/** Whether any of the region flags (or ZTAP_GLOBAL_ENDPOINTS) was given. */
export function regionReadRequested(flags: RegionReadFlags, io: CliIO): boolean {
  return (
    flags.globalEndpoints !== undefined ||
    flags.globalPrefix !== undefined ||
    flags.region.length > 0 ||
    Boolean(io.env.ZTAP_GLOBAL_ENDPOINTS)
  );
}

/**
 * What `readMultiRegionStatus` needs, from the region flags and the etcd connection (TLS, user and
 * --timeout apply to every etcd). --timeout bounds one whole read: half for the global store, half
 * for the regions (read at once), one attempt each.
 */
export function regionReadFrom(
  flags: RegionReadFlags,
  io: CliIO,
  { connection }: Pick<ConnectionSettings, 'connection'>,
): MultiRegionStatusOptions {
  const regions = flags.region.map(parseRegionAddress);
  const globalPrefix = flags.globalPrefix;
  if (globalPrefix !== undefined && (!globalPrefix.startsWith('/') || globalPrefix === '/'))
    throw new UsageError(
      `--global-prefix must be a key prefix starting with "/" other than "/" itself (got ${JSON.stringify(globalPrefix)})`,
    );
  const phaseMs = Math.max(50, Math.floor((connection.requestTimeout ?? 5000) / 2));
  return {
    global: {
      endpoints: globalEndpointsFrom(flags, io, connection.tls !== undefined),
      ...(connection.tls ? { tls: connection.tls } : {}),
      ...(connection.auth ? { auth: connection.auth } : {}),
      ...(globalPrefix !== undefined ? { prefix: globalPrefix } : {}),
    },
    ...(connection.cluster !== undefined ? { cluster: connection.cluster } : {}),
    regions,
    requestTimeout: phaseMs,
    maxRetries: 0,
  };
}
