import { type EtcdHandle, startEtcd } from '@ztap/cluster-testing';
import { Etcd3 } from 'etcd3';
import { etcdctl } from './etcdctl.ts';
import type { TestPki } from './tls-certs.ts';

/** The users `startRbacEtcd` creates: root, and `viewer`, who may only read `/ztap/clusters/rbac/`. */
export const RBAC_USERS = Object.freeze({
  root: { username: 'root', password: 'root-secret' },
  viewer: { username: 'viewer', password: 'viewer-secret', readablePrefix: '/ztap/clusters/rbac/' },
});

/** A local etcd with authentication on and a read-only `viewer`. */
export async function startRbacEtcd(): Promise<EtcdHandle> {
  const etcd = await startEtcd({ provider: 'local' });
  const ctl = (...args: string[]) => etcdctl(etcd.endpoints, ...args);
  await ctl('user', 'add', `root:${RBAC_USERS.root.password}`);
  await ctl('user', 'grant-role', 'root', 'root');
  await ctl('role', 'add', 'reader');
  await ctl('role', 'grant-permission', '--prefix=true', 'reader', 'read', RBAC_USERS.viewer.readablePrefix);
  await ctl('user', 'add', `viewer:${RBAC_USERS.viewer.password}`);
  await ctl('user', 'grant-role', 'viewer', 'reader');
  await ctl('auth', 'enable');
  return etcd;
}

/**
 * The users `startPrefixRbacEtcd` creates. Each role covers one cluster's prefix and nothing else:
 * `alpha` and `beta` may read and write their own cluster, `alphaReader` may only read alpha's.
 */
export const PREFIX_RBAC_USERS = Object.freeze({
  root: { username: 'root', password: 'root-secret-7f3a' },
  alpha: { username: 'alpha', password: 'alpha-secret-91c2', readwrite: '/ztap/clusters/alpha/' },
  beta: { username: 'beta', password: 'beta-secret-4d8e', readwrite: '/ztap/clusters/beta/' },
  alphaReader: { username: 'alpha-reader', password: 'reader-secret-0b6f', read: '/ztap/clusters/alpha/' },
});

/** A local etcd with authentication on and one role per cluster prefix (see {@link PREFIX_RBAC_USERS}). */
export async function startPrefixRbacEtcd(): Promise<EtcdHandle> {
  const etcd = await startEtcd({ provider: 'local' });
  try {
    const ctl = (...args: string[]) => etcdctl(etcd.endpoints, ...args);
    const { root, alpha, beta, alphaReader } = PREFIX_RBAC_USERS;
    const user = async (name: string, password: string, role: string) => {
      await ctl('user', 'add', `${name}:${password}`);
      await ctl('user', 'grant-role', name, role);
    };
    await user(root.username, root.password, 'root');
    for (const [role, permission, prefix] of [
      ['alpha-rw', 'readwrite', alpha.readwrite],
      ['beta-rw', 'readwrite', beta.readwrite],
      ['alpha-ro', 'read', alphaReader.read],
    ] as const) {
      await ctl('role', 'add', role);
      await ctl('role', 'grant-permission', '--prefix=true', role, permission, prefix);
    }
    await user(alpha.username, alpha.password, 'alpha-rw');
    await user(beta.username, beta.password, 'beta-rw');
    await user(alphaReader.username, alphaReader.password, 'alpha-ro');
    await ctl('auth', 'enable');
    return etcd;
  } catch (error) {
    await etcd.stop();
    throw error;
  }
}

/**
 * A local etcd serving clients over TLS only, with the server certificate of `pki`; with
 * `clientCertAuth`, clients must present a certificate signed by `pki.ca`.
 */
export function startTlsEtcd(pki: TestPki, options: { clientCertAuth: boolean }): Promise<EtcdHandle> {
  return startEtcd({
    provider: 'local',
    tls: {
      certFile: pki.server.certFile,
      keyFile: pki.server.keyFile,
      caFile: pki.ca.certFile,
      ...(options.clientCertAuth
        ? { clientCert: { certFile: pki.client.certFile, keyFile: pki.client.keyFile } }
        : {}),
    },
  });
}

/**
 * A local etcd with TLS, client-certificate auth and authentication on: `root`, and `user` with
 * read-write on `prefix` only. etcd then also accepts a client certificate alone: its CN is the user.
 */
export async function startTlsRbacEtcd(
  pki: TestPki,
  user: { readonly username: string; readonly password: string },
  prefix: string,
): Promise<EtcdHandle> {
  const etcd = await startTlsEtcd(pki, { clientCertAuth: true });
  try {
    const tls = [
      `--cacert=${pki.ca.certFile}`,
      `--cert=${pki.client.certFile}`,
      `--key=${pki.client.keyFile}`,
    ];
    const ctl = (...args: string[]) => etcdctl(etcd.endpoints, ...tls, ...args);
    await ctl('user', 'add', `root:${PREFIX_RBAC_USERS.root.password}`);
    await ctl('user', 'grant-role', 'root', 'root');
    await ctl('role', 'add', 'scoped');
    await ctl('role', 'grant-permission', '--prefix=true', 'scoped', 'readwrite', prefix);
    await ctl('user', 'add', `${user.username}:${user.password}`);
    await ctl('user', 'grant-role', user.username, 'scoped');
    await ctl('auth', 'enable');
    return etcd;
  } catch (error) {
    await etcd.stop();
    throw error;
  }
}

/** A local etcd with a 4 MiB backend quota, soon full (see {@link fillUntilNoSpace}). */
export function startSmallQuotaEtcd(): Promise<EtcdHandle> {
  return startEtcd({ provider: 'local', extraArgs: ['--quota-backend-bytes=4194304'] });
}

/** Writes 512 KiB values until etcd raises its NOSPACE alarm (bounded: fails after 32 MiB). */
export async function fillUntilNoSpace(etcd: EtcdHandle): Promise<void> {
  const client = new Etcd3({ hosts: [...etcd.endpoints] });
  try {
    const filler = Buffer.alloc(512 * 1024, 'x');
    for (let index = 0; index < 64; index++) {
      const full = await client
        .put(`/fill/${index}`)
        .value(filler)
        .exec()
        .then(
          () => false,
          (error: Error) => /database space exceeded/.test(error.message),
        );
      if (full) return;
    }
    throw new Error('etcd never reported NOSPACE after 32 MiB of writes');
  } finally {
    client.close();
  }
}
