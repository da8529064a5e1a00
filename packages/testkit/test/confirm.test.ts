import { startEtcd } from '@ztap/cluster-testing';
import { confirmEtcdHandle } from '@ztap/testkit';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

// Each test states the environment it needs; the settings of whoever runs the tests must not leak in.
beforeEach(() => {
  vi.stubEnv('ZTAP_TEST_ETCD_ENDPOINTS', '');
  vi.stubEnv('ZTAP_TEST_ETCD_PROVIDER', '');
});
afterEach(() => {
  vi.unstubAllEnvs();
});

describe('confirmEtcdHandle: what etcd (and the engine) say, not what the handle claims', () => {
  it('confirms a local etcd: its process runs, and etcd lists exactly its members', async () => {
    await using etcd = await startEtcd({ provider: 'local' });
    const [member] = etcd.members;
    expect(await confirmEtcdHandle(etcd)).toBe(
      `local etcd process (pid ${member?.pid}) run; the etcd ${etcd.version} at ${new URL(etcd.endpoints[0] as string).host} lists members etcd-1`,
    );
  });

  it('confirms an external etcd by asking it', async () => {
    await using theirs = await startEtcd({ provider: 'local' });
    vi.stubEnv('ZTAP_TEST_ETCD_ENDPOINTS', theirs.endpoints.join(','));
    await using etcd = await startEtcd();
    expect(etcd.provider).toBe('external');
    expect(await confirmEtcdHandle(etcd)).toBe(
      `etcd answers at ${new URL(theirs.endpoints[0] as string).host} (${theirs.version}); it is not ours to inspect further`,
    );
  });

  it('fails when a handle is not what it says', async () => {
    await using first = await startEtcd({ provider: 'local' });
    await using second = await startEtcd({ provider: 'local' });
    await expect(confirmEtcdHandle({ ...first, endpoints: second.endpoints })).rejects.toThrow(
      /not what it says: its endpoints .* are not its members' client URLs/,
    );
    await expect(confirmEtcdHandle({ ...first, version: '3.0.0' })).rejects.toThrow(
      `not what it says: the etcd at ${first.endpoints[0]} is ${first.version}, not 3.0.0`,
    );
    await second.members[0]?.kill();
    await expect(confirmEtcdHandle(second)).rejects.toThrow(
      /not what it says: member etcd-1 \(pid \d+\) does not run/,
    );
  });

  it('confirms what startEtcd picks on this machine: with a container engine, the container, by asking the engine too', {
    timeout: 60_000,
  }, async () => {
    const etcd = await startEtcd();
    try {
      const confirmed = await confirmEtcdHandle(etcd);
      console.info(`[testkit] ${etcd.description}\n[testkit] confirmed: ${confirmed}`);
      if (etcd.provider === 'container') {
        expect(confirmed).toContain(`the engine runs container ${etcd.container?.id.slice(0, 12)}`);
        expect(confirmed).toContain(`one member, ${etcd.container?.name}, named like the container`);
      } else {
        expect(confirmed).toMatch(/^local etcd process \(pid \d+\) run; /);
      }
    } finally {
      await etcd.stop();
    }
    await expect(confirmEtcdHandle(etcd)).rejects.toThrow(/no such container|404|does not run/i);
  });
});
