import { ExponentialBackoff, type IBackoff, noop } from 'cockatiel';
import { Etcd3 } from 'etcd3';
import { translateEtcdError } from './errors.ts';
import type { EtcdConnectionOptions } from './options.ts';

const toBuffer = (pem: string | Buffer | undefined) => (pem === undefined ? undefined : Buffer.from(pem));

/** Clients built by {@link createEtcdClient}: their fault handling is ours. */
const built = new WeakSet<Etcd3>();
const warned = new WeakSet<Etcd3>();

/**
 * Builds an `etcd3` client for ZTAP cluster: its own retry and circuit-breaker policies are turned off
 * (we retry transient errors ourselves and never NOSPACE/auth/permission errors, and a tripped
 * breaker must not fail unrelated reads), and every unary call gets a deadline. Creating the client
 * does no I/O; connections open on first use.
 */
export function createEtcdClient(options: {
  readonly endpoints: readonly string[];
  readonly requestTimeout: number;
  readonly tls?: EtcdConnectionOptions['tls'] | undefined;
  readonly auth?: EtcdConnectionOptions['auth'] | undefined;
}): Etcd3 {
  const { tls, auth, requestTimeout } = options;
  const client = new Etcd3({
    hosts: [...options.endpoints],
    ...(tls
      ? {
          credentials: {
            rootCertificate: toBuffer(tls.ca) as Buffer,
            ...(tls.key ? { privateKey: toBuffer(tls.key) as Buffer } : {}),
            ...(tls.cert ? { certChain: toBuffer(tls.cert) as Buffer } : {}),
          },
        }
      : {}),
    ...(auth ? { auth: { username: auth.username, password: auth.password } } : {}),
    dialTimeout: requestTimeout,
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + requestTimeout }),
    faultHandling: {
      host: () => noop,
      global: noop,
      // etcd3's typings want an IBackoff, but its watch manager calls `.next()` first, as on a
      // factory: this is exactly what etcd3 passes by default.
      watchBackoff: new ExponentialBackoff({
        initialDelay: 100,
        maxDelay: 2000,
      }) as unknown as IBackoff<unknown>,
    },
  });
  built.add(client);
  return client;
}

/** The client a connection uses: the one given, or one built for it (see {@link clientForOperation}). */
export function clientFor(
  connection: {
    readonly client: Etcd3 | undefined;
    readonly endpoints: readonly string[];
    readonly tls: EtcdConnectionOptions['tls'];
    readonly auth: EtcdConnectionOptions['auth'];
  },
  requestTimeout: number,
): Etcd3 {
  return (
    connection.client ??
    createEtcdClient({
      endpoints: connection.endpoints,
      tls: connection.tls,
      auth: connection.auth,
      requestTimeout,
    })
  );
}

/**
 * The client `client()` returns, for `operation`. Building a client checks its TLS material at once:
 * a key that does not match its certificate, or a PEM that is none, fails there, before any request.
 * That failure is translated as the operation's own (`TLS handshake failed: key values mismatch`),
 * as it would be had it surfaced on the operation's first request.
 */
export function clientForOperation(
  client: () => Etcd3,
  operation: string,
  endpoints: readonly string[],
): Etcd3 {
  try {
    return client();
  } catch (error) {
    throw translateEtcdError(error, operation, endpoints);
  }
}

/** The options an `Etcd3` client was built with, as far as they can be read (etcd3 keeps them internal). */
function optionsOf(client: Etcd3): { hosts?: unknown; faultHandling?: { host?: unknown; global?: unknown } } {
  const options = (client as unknown as { options?: unknown }).options;
  return typeof options === 'object' && options !== null ? options : {};
}

/** The endpoints a client given to us talks to, for error messages; undefined if it does not say. */
export function endpointsOf(client: Etcd3): readonly string[] | undefined {
  const { hosts } = optionsOf(client);
  const list = typeof hosts === 'string' ? [hosts] : Array.isArray(hosts) ? hosts : [];
  return list.length > 0 && list.every((host) => typeof host === 'string') ? list : undefined;
}

/**
 * Warns once (a process warning, code `ZTAP_ETCD_CLIENT_FAULT_HANDLING`) when a client given to us
 * keeps etcd3's default fault handling: its own retries multiply ours, and its per-host circuit
 * breaker opens after three failed calls in a row and then refuses every call — keepalive streams and
 * revokes included — for five seconds. Clients from {@link createEtcdClient}, or with both policies
 * set by their owner, pass silently.
 */
export function warnAboutFaultHandling(client: Etcd3): void {
  if (built.has(client) || warned.has(client)) return;
  const faultHandling = optionsOf(client).faultHandling;
  if (faultHandling?.host !== undefined && faultHandling.global !== undefined) return;
  warned.add(client);
  process.emitWarning(
    "the etcd3 client given to ZTAP cluster keeps etcd3's default fault handling: its circuit breaker can " +
      'refuse every call (keepalives and revokes too) after three failures, and its retries add to ours. ' +
      'Build it with createEtcdClient() from @ztap/cluster-etcd, or set faultHandling.host and .global yourself.',
    { code: 'ZTAP_ETCD_CLIENT_FAULT_HANDLING' },
  );
}
