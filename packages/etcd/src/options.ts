import { type LeaderElectionConfig, ValidationError } from '@ztap/cluster';
import { describeValue, type ResolvedConfig } from '@ztap/cluster/backend';
import type { Etcd3 } from 'etcd3';
import { endpointsOf } from './client.ts';
import { resolvePrefix } from './keys.ts';

/** How to reach etcd when the election builds its own client. */
export interface EtcdConnectionOptions {
  /** etcd endpoints, e.g. `https://10.0.0.5:2379`. Default `http://127.0.0.1:2379` (like etcdctl). */
  readonly endpoints?: readonly string[];
  /** TLS material, PEM contents (not paths): the CA to trust and, for client-certificate auth, cert and key. */
  readonly tls?: {
    readonly ca?: string | Buffer;
    readonly cert?: string | Buffer;
    readonly key?: string | Buffer;
  };
  /** etcd username and password (RBAC). */
  readonly auth?: { readonly username: string; readonly password: string };
}

export interface EtcdElectionOptions extends LeaderElectionConfig, EtcdConnectionOptions {
  /**
   * An existing client to share (many nodes can share one connection). The election never closes a
   * client it was given. Mutually exclusive with `endpoints`, `tls` and `auth`. Build it with
   * `createEtcdClient()`: a client that keeps etcd3's default fault handling gets a process warning
   * (its circuit breaker can refuse keepalives and revokes). Elections in one process that share a
   * client and prefix share one per-client context, so they must have the same `requestTimeout`,
   * `maxRetries` and `clock` (else `start()` rejects with a `ValidationError` naming the setting).
   */
  readonly client?: Etcd3;
  /** Cluster name; keys live under `/ztap/clusters/<cluster>/`. Default `default`. */
  readonly cluster?: string;
  /** Full key prefix instead of the one derived from `cluster`; a trailing `/` is added if missing. */
  readonly prefix?: string;
  /** Deadline of each etcd request attempt, ms. Default: half the election timeout, at most 5000. */
  readonly requestTimeout?: number;
  /**
   * How long before the lease could expire this node stops acting as leader, ms. Default: a fifth of
   * the election timeout, at least 300. Must leave room for two heartbeats.
   */
  readonly stepDownMargin?: number;
}

export interface ResolvedEtcdOptions {
  readonly client: Etcd3 | undefined;
  readonly endpoints: readonly string[];
  readonly tls: EtcdConnectionOptions['tls'];
  readonly auth: EtcdConnectionOptions['auth'];
  readonly prefix: string;
  readonly leaseTtlSeconds: number;
  readonly requestTimeout: number;
  readonly stepDownMargin: number;
}

/** Where etcd is looked for when no endpoints are given: like etcdctl, `http://127.0.0.1:2379`. */
export const DEFAULT_ENDPOINTS: readonly string[] = Object.freeze(['http://127.0.0.1:2379']);

/**
 * Checks an endpoint and returns it as `scheme://host:port`: a trailing `/` is dropped (it is no
 * path), anything else after the port is refused. `field` names it in errors (`endpoints[0]`,
 * `--endpoints`). Credentials in the URL are refused without repeating them.
 */
export function validateEndpoint(endpoint: unknown, field: string): string {
  if (typeof endpoint !== 'string') throw new ValidationError(field, 'must be a string URL');
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new ValidationError(
      field,
      `must be a URL like http://127.0.0.1:2379 (got ${JSON.stringify(endpoint)})`,
    );
  }
  if (url.username !== '' || url.password !== '')
    throw new ValidationError(field, 'must not carry a user or password: give them as auth instead');
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ValidationError(field, `must start with http:// or https:// (got ${JSON.stringify(endpoint)})`);
  }
  if (!url.port)
    throw new ValidationError(field, `must name a port, e.g. :2379 (got ${JSON.stringify(endpoint)})`);
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '')
    throw new ValidationError(
      field,
      `must be scheme://host:port, without a path (got ${JSON.stringify(endpoint)})`,
    );
  return `${url.protocol}//${url.host}`;
}

/** Where and how to reach a cluster in etcd, checked. */
export interface ResolvedConnection {
  readonly client: Etcd3 | undefined;
  readonly endpoints: readonly string[];
  readonly tls: EtcdConnectionOptions['tls'];
  readonly auth: EtcdConnectionOptions['auth'];
  readonly prefix: string;
}

/** The connection rules shared by the election and the read-only cluster client. Pure: no I/O. */
export function resolveConnection(
  options: EtcdConnectionOptions & {
    readonly client?: Etcd3;
    readonly cluster?: string;
    readonly prefix?: string;
  },
): ResolvedConnection {
  if (options.client !== undefined && (options.endpoints || options.tls || options.auth)) {
    throw new ValidationError(
      'client',
      'cannot be combined with endpoints, tls or auth: configure the client itself',
    );
  }
  if (options.client !== undefined && typeof (options.client as { watch?: unknown }).watch !== 'function') {
    throw new ValidationError('client', 'must be an Etcd3 client from the etcd3 package');
  }
  if (options.client !== undefined) {
    return {
      client: options.client,
      // For messages only: where the given client connects, as far as it says.
      endpoints: Object.freeze([...(endpointsOf(options.client) ?? ['(the etcd client given)'])]),
      tls: undefined,
      auth: undefined,
      prefix: resolvePrefix(options),
    };
  }
  const endpoints = (options.endpoints ?? DEFAULT_ENDPOINTS).map((endpoint, index) =>
    validateEndpoint(endpoint, `endpoints[${index}]`),
  );
  if (endpoints.length === 0) throw new ValidationError('endpoints', 'must list at least one endpoint');
  if (options.tls && endpoints.some((endpoint) => endpoint.startsWith('http:'))) {
    throw new ValidationError('endpoints', 'must use https:// when tls is given');
  }
  if (options.tls && (options.tls.cert === undefined) !== (options.tls.key === undefined)) {
    throw new ValidationError('tls', 'needs both cert and key for client-certificate auth, or neither');
  }
  if (options.auth && (!options.auth.username || typeof options.auth.password !== 'string')) {
    throw new ValidationError('auth', 'needs a non-empty username and a password');
  }
  return {
    client: undefined,
    endpoints: Object.freeze(endpoints),
    tls: options.tls,
    auth: options.auth,
    prefix: resolvePrefix(options),
  };
}

/** Checks the etcd-specific rules on top of the shared config. Pure: no I/O. */
export function resolveEtcdOptions(
  options: EtcdElectionOptions,
  config: ResolvedConfig,
): ResolvedEtcdOptions {
  const { electionTimeout, heartbeatInterval } = config;
  if (electionTimeout % 1000 !== 0 || electionTimeout < 2000) {
    throw new ValidationError(
      'electionTimeout',
      `must be a whole number of seconds, at least 2000 ms, because it is the etcd lease TTL and etcd leases are whole seconds (got ${electionTimeout} ms)`,
    );
  }
  const connection = resolveConnection(options);
  const requestTimeout = options.requestTimeout ?? Math.min(5000, electionTimeout / 2);
  if (!Number.isInteger(requestTimeout) || requestTimeout < 50 || requestTimeout >= electionTimeout) {
    throw new ValidationError(
      'requestTimeout',
      `must be a whole number of milliseconds from 50 to below electionTimeout (${electionTimeout}) (got ${describeValue(requestTimeout)})`,
    );
  }
  const stepDownMargin = options.stepDownMargin ?? Math.max(300, Math.round(electionTimeout / 5));
  const maxMargin = electionTimeout - 2 * heartbeatInterval;
  if (!Number.isInteger(stepDownMargin) || stepDownMargin < 1 || stepDownMargin >= maxMargin) {
    throw new ValidationError(
      'stepDownMargin',
      `must be a whole number of milliseconds from 1 to below electionTimeout − 2 × heartbeatInterval (${maxMargin}) (got ${describeValue(stepDownMargin)})`,
    );
  }
  return Object.freeze({
    ...connection,
    leaseTtlSeconds: electionTimeout / 1000,
    requestTimeout,
    stepDownMargin,
  });
}
