import { readFileSync } from 'node:fs';
import type { NodeMetadata } from '@ztap/cluster';
import { DEFAULT_ENDPOINTS, type EtcdClusterClientOptions } from '@ztap/cluster-etcd';
import { UsageError } from './errors.ts';
import type { CliIO } from './io.ts';

/** The options every command shares (see `ztap --help`). */
export interface GlobalOptions {
  readonly endpoints?: string;
  readonly cluster?: string;
  readonly prefix?: string;
  readonly cacert?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly user?: string;
  readonly timeout?: string;
  readonly json?: boolean;
  readonly color?: boolean;
}

export const DEFAULT_TIMEOUT = '5s';

const MAX_DURATION_MS = 24 * 3_600_000;
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `500ms`, `5s`, `2m`, `1h`, or a bare number of milliseconds. */
export function parseDuration(text: string, option: string, options: { allowZero?: boolean } = {}): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match)
    throw new UsageError(`${option} must be a duration like 500ms, 5s or 2m (got ${JSON.stringify(text)})`);
  const value = Math.round(Number(match[1]) * (UNITS[match[2] ?? 'ms'] as number));
  if (value === 0 && !options.allowZero)
    throw new UsageError(`${option} must be more than zero (got ${JSON.stringify(text)})`);
  // Timers and gRPC deadlines misbehave far beyond a day (overflow, RST_STREAM): no setting needs more.
  if (value > MAX_DURATION_MS)
    throw new UsageError(`${option} must be at most 24h (got ${JSON.stringify(text)})`);
  return value;
}

/** Repeated `--meta key=value` into metadata; the value may contain `=`. */
export function parseMetadata(pairs: readonly string[]): NodeMetadata {
  const entries: [string, string][] = [];
  for (const pair of pairs) {
    const separator = pair.indexOf('=');
    if (separator <= 0) throw new UsageError(`--meta must be key=value (got ${JSON.stringify(pair)})`);
    entries.push([pair.slice(0, separator), pair.slice(separator + 1)]);
  }
  // fromEntries keeps a "__proto__" key as a key (an assignment would set the prototype instead).
  return Object.fromEntries(entries);
}

export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** etcdctl accepts `host:port`; so do we, adding the scheme (https when a CA is given). */
function normaliseEndpoint(endpoint: string, tls: boolean): string {
  const trimmed = endpoint.trim();
  if (/^[a-z]+:\/\//i.test(trimmed)) return trimmed;
  return `${tls ? 'https' : 'http'}://${trimmed}`;
}

function readPem(path: string, option: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new UsageError(
      `cannot read ${option} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}

/**
 * How to reach etcd, from flags and environment: `--endpoints` or ZTAP_ETCD_ENDPOINTS (default
 * http://127.0.0.1:2379, like etcdctl), `--cluster` or ZTAP_CLUSTER, TLS files, `--user` with the
 * password from ZTAP_ETCD_PASSWORD (never from argv: it would show in `ps` and shell history).
 */
export function connectionFrom(options: GlobalOptions, io: CliIO): EtcdClusterClientOptions {
  const tls = options.cacert !== undefined || options.cert !== undefined || options.key !== undefined;
  if ((options.cert === undefined) !== (options.key === undefined)) {
    throw new UsageError('--cert and --key go together (client-certificate authentication needs both)');
  }
  const endpoints = (options.endpoints ?? io.env.ZTAP_ETCD_ENDPOINTS ?? DEFAULT_ENDPOINTS.join(','))
    .split(',')
    .filter((endpoint) => endpoint.trim() !== '')
    .map((endpoint) => normaliseEndpoint(endpoint, tls));
  if (endpoints.length === 0) throw new UsageError('--endpoints must name at least one etcd endpoint');
  let auth: { username: string; password: string } | undefined;
  if (options.user !== undefined) {
    const password = io.env.ZTAP_ETCD_PASSWORD;
    if (password === undefined) {
      throw new UsageError(
        `--user ${options.user} needs the password in the ZTAP_ETCD_PASSWORD environment variable`,
      );
    }
    auth = { username: options.user, password };
  }
  const cluster = options.cluster ?? io.env.ZTAP_CLUSTER;
  return {
    endpoints,
    ...(tls
      ? {
          tls: {
            ...(options.cacert ? { ca: readPem(options.cacert, '--cacert') } : {}),
            ...(options.cert ? { cert: readPem(options.cert, '--cert') } : {}),
            ...(options.key ? { key: readPem(options.key, '--key') } : {}),
          },
        }
      : {}),
    ...(auth ? { auth } : {}),
    ...(options.prefix !== undefined ? { prefix: options.prefix } : cluster !== undefined ? { cluster } : {}),
    requestTimeout: parseDuration(options.timeout ?? DEFAULT_TIMEOUT, '--timeout'),
  };
}

/** The cluster's name for messages: the prefix when one was given. */
export function clusterLabel(options: GlobalOptions, io: CliIO): string {
  return options.prefix ?? options.cluster ?? io.env.ZTAP_CLUSTER ?? 'default';
}
