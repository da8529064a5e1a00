import { type EtcdHandle, startEtcd } from '@ztap/testkit';
import { Etcd3 } from 'etcd3';
import { etcdctl } from './etcdctl.ts';

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
