import { readFileSync } from 'node:fs';
import { isValidationError } from '@ztap/cluster';
import { type EtcdClusterClientOptions, validateEndpoint } from '@ztap/cluster-etcd';
import { credentialsFrom } from './credentials.ts';
import { parseDuration } from './duration.ts';
import { UsageError } from './errors.ts';
import type { CliIO } from './io.ts';
import { DEFAULT_ENDPOINT, DEFAULT_TIMEOUT, type GlobalOptions } from './options.ts';
import { ENVIRONMENT, type Setting, setting } from './settings.ts';

type Environment = Readonly<Record<string, string | undefined>>;

/** How a command reaches etcd, and the names it reports it by. */
export interface ConnectionSettings {
  readonly connection: EtcdClusterClientOptions;
  /** `--timeout` as given (`5s`) and where from, for messages; `connection.requestTimeout` is it in ms. */
  readonly timeout: Setting;
  /** The cluster's name for messages: its prefix when one was given. */
  readonly cluster: string;
}

/**
 * How to reach etcd, from flags, then ZTAP_* variables, then etcdctl's ETCDCTL_* ones, then defaults
 * (see `ENVIRONMENT` and docs/cli.md). Errors name the flag or variable a bad value came from.
 */
export function connectionSettingsFrom(options: GlobalOptions, io: CliIO): ConnectionSettings {
  const env = io.env;
  const file = (flag: 'cacert' | 'cert' | 'key') =>
    setting({ name: `--${flag}`, value: options[flag] }, env, ENVIRONMENT[flag]);
  const [cacert, cert, key] = [file('cacert'), file('cert'), file('key')];
  if ((cert === undefined) !== (key === undefined)) {
    const [given, missing] = cert ? [cert.source, '--key'] : [key?.source, '--cert'];
    throw new UsageError(
      `${given} needs ${missing} too (client-certificate authentication needs a certificate and its key)`,
    );
  }
  const tls = cacert !== undefined || cert !== undefined;
  const pems = {
    ...(cacert ? { ca: readPem(cacert) } : {}),
    ...(cert ? { cert: readPem(cert) } : {}),
    ...(key ? { key: readPem(key) } : {}),
  };
  const endpoints = endpointsFrom(options, env, tls);
  const auth = credentialsFrom(options.user, env);
  const timeout = setting({ name: '--timeout', value: options.timeout }, env, ENVIRONMENT.timeout) ?? {
    value: DEFAULT_TIMEOUT,
    source: '--timeout',
  };
  const place = placeFrom(options, env);
  return {
    connection: {
      endpoints,
      ...(tls ? { tls: pems } : {}),
      ...(auth ? { auth } : {}),
      ...(place.prefix !== undefined ? { prefix: place.prefix } : {}),
      ...(place.cluster !== undefined ? { cluster: place.cluster } : {}),
      requestTimeout: parseDuration(timeout.value, timeout.source),
    },
    timeout,
    cluster: place.prefix ?? place.cluster ?? 'default',
  };
}

/** The connection alone (see `connectionSettingsFrom`). */
export function connectionFrom(options: GlobalOptions, io: CliIO): EtcdClusterClientOptions {
  return connectionSettingsFrom(options, io).connection;
}

/**
 * Endpoints as etcdctl takes them: comma-separated, `host:port` allowed (the scheme is added: https
 * when TLS is on), a trailing `/` dropped; anything else after the port is refused.
 */
function endpointsFrom(options: GlobalOptions, env: Environment, tls: boolean): string[] {
  // Like etcdctl's default (127.0.0.1:2379), ours takes the scheme TLS calls for.
  const given = setting({ name: '--endpoints', value: options.endpoints }, env, ENVIRONMENT.endpoints) ?? {
    value: DEFAULT_ENDPOINT.replace(/^http:/, tls ? 'https:' : 'http:'),
    source: '--endpoints',
  };
  const endpoints = given.value
    .split(',')
    .map((endpoint) => endpoint.trim())
    .filter((endpoint) => endpoint !== '')
    .map((endpoint) => {
      const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint)
        ? endpoint
        : `${tls ? 'https' : 'http'}://${endpoint}`;
      if (tls && url.startsWith('http:'))
        throw new UsageError(
          `${given.source} must use https:// when a CA or client certificate is given (got ${JSON.stringify(endpoint)})`,
        );
      try {
        return validateEndpoint(url, given.source);
      } catch (error) {
        throw isValidationError(error) ? new UsageError(error.message, { cause: error }) : error;
      }
    });
  if (endpoints.length === 0) throw new UsageError(`${given.source} must name at least one etcd endpoint`);
  return endpoints;
}

/**
 * Which keys: `--cluster` or `--prefix` (not both), else ZTAP_PREFIX, else ZTAP_CLUSTER. At the
 * environment level the prefix wins: `ztap run` hands its command ZTAP_PREFIX, the exact keys of its
 * cluster, and a `ztap` inside it must address the same cluster whatever ZTAP_CLUSTER says.
 */
export function placeFrom(options: GlobalOptions, env: Environment): { cluster?: string; prefix?: string } {
  if (options.cluster !== undefined && options.prefix !== undefined)
    throw new UsageError(
      '--cluster and --prefix are alternatives: give one (--prefix names the keys directly)',
    );
  const prefix =
    options.cluster === undefined
      ? setting({ name: '--prefix', value: options.prefix }, env, ENVIRONMENT.prefix)
      : undefined;
  if (prefix) {
    if (!prefix.value.startsWith('/'))
      throw new UsageError(
        `${prefix.source} must start with "/", e.g. /apps/payments/ (got ${JSON.stringify(prefix.value)})`,
      );
    return { prefix: prefix.value };
  }
  const cluster = setting({ name: '--cluster', value: options.cluster }, env, ENVIRONMENT.cluster);
  return cluster ? { cluster: cluster.value } : {};
}

function readPem(file: Setting): Buffer {
  try {
    return readFileSync(file.value);
  } catch (error) {
    throw new UsageError(
      `cannot read ${file.source} ${file.value}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      { cause: error },
    );
  }
}
