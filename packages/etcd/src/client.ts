import { ExponentialBackoff, type IBackoff, noop } from 'cockatiel';
import { Etcd3 } from 'etcd3';
import type { EtcdConnectionOptions } from './options.ts';

const toBuffer = (pem: string | Buffer | undefined) => (pem === undefined ? undefined : Buffer.from(pem));

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
  return new Etcd3({
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
}
