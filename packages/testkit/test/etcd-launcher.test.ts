import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { confirmEtcdHandle, EtcdUnavailableError, startEtcd } from '@ztap/testkit';
import { Etcd3 } from 'etcd3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { memberNames, processExists, quotaBackendBytes } from './etcd-helpers.ts';

// Each test states the environment it needs; the settings of whoever runs the tests must not leak in.
beforeEach(() => {
  vi.stubEnv('ZTAP_TEST_ETCD_ENDPOINTS', '');
  vi.stubEnv('ZTAP_TEST_ETCD_PROVIDER', '');
});
afterEach(() => {
  vi.unstubAllEnvs();
});

describe('startEtcd with a local binary', () => {
  it('starts an etcd that serves a put/get; stop() ends the process and removes its data', async () => {
    const etcd = await startEtcd({ provider: 'local' });
    const [member] = etcd.members;
    if (!member) throw new Error('a local etcd has a member');
    expect(etcd.provider).toBe('local');
    expect(etcd.endpoints).toEqual([member.clientUrl]);
    expect(etcd.description).toMatch(/^local etcd 3\.\d+\.\d+ \(\/.*etcd\) on 127\.0\.0\.1:\d+$/);

    const client = new Etcd3({ hosts: [...etcd.endpoints] });
    try {
      await client.put('greeting').value('hello');
      expect(await client.get('greeting').string()).toBe('hello');
    } finally {
      client.close();
    }

    expect(await confirmEtcdHandle(etcd)).toBe(
      `local etcd process (pid ${member.pid}) run; the etcd ${etcd.description.split(' ')[2]} at ${new URL(member.clientUrl).host} lists members etcd-1`,
    );

    const { pid, dir } = member;
    expect(processExists(pid)).toBe(true);
    expect(existsSync(join(dir, 'data', 'member'))).toBe(true);
    await etcd.stop();
    expect(processExists(pid)).toBe(false);
    expect(member.running).toBe(false);
    expect(existsSync(dir)).toBe(false);
    await etcd.stop(); // idempotent
  });

  it('keeps ETCD_* variables of this process away from etcd, which would read them as flags', async () => {
    vi.stubEnv('ETCD_NAME', 'leaked');
    vi.stubEnv('ETCD_INITIAL_CLUSTER_STATE', 'existing');
    await using etcd = await startEtcd({ provider: 'local' });
    expect(await memberNames(etcd.endpoints[0] as string)).toEqual(['etcd-1']);
  });

  it('passes extraArgs to etcd', async () => {
    const quota = 16 * 1024 * 1024;
    await using etcd = await startEtcd({
      provider: 'local',
      extraArgs: ['--quota-backend-bytes', String(quota)],
    });
    expect(await quotaBackendBytes(etcd.endpoints[0] as string)).toBe(quota);
  });

  it('fails with install hints when ETCD_BIN names no binary', async () => {
    vi.stubEnv('ETCD_BIN', '/nonexistent/etcd');
    vi.stubEnv('ZTAP_TEST_ETCD_PROVIDER', 'local');
    const failure = startEtcd();
    await expect(failure).rejects.toBeInstanceOf(EtcdUnavailableError);
    await expect(failure).rejects.toThrow(/ETCD_BIN=\/nonexistent\/etcd is not an executable file/);
    await expect(failure).rejects.toThrow(/apt-get install etcd-server/);
    await expect(failure).rejects.toThrow(/ZTAP_TEST_ETCD_ENDPOINTS/);
  });

  it('fails with install hints when PATH has no etcd', async () => {
    const emptyDir = await mkdtemp(join(tmpdir(), 'ztap-no-etcd-'));
    try {
      vi.stubEnv('ETCD_BIN', undefined);
      vi.stubEnv('PATH', emptyDir);
      await expect(startEtcd({ provider: 'local' })).rejects.toThrow(
        /no etcd on PATH\.\n.*apt-get install etcd-server.*ETCD_BIN/s,
      );
    } finally {
      await rm(emptyDir, { recursive: true });
    }
  });
});

describe('startEtcd provider selection', () => {
  it('uses ZTAP_TEST_ETCD_ENDPOINTS ahead of ZTAP_TEST_ETCD_PROVIDER and starts nothing', async () => {
    vi.stubEnv('ZTAP_TEST_ETCD_ENDPOINTS', ' http://127.0.0.1:1 ,http://127.0.0.1:2,');
    vi.stubEnv('ZTAP_TEST_ETCD_PROVIDER', 'local');
    vi.stubEnv('ETCD_BIN', '/nonexistent/etcd');
    const etcd = await startEtcd();
    expect(etcd.provider).toBe('external');
    expect(etcd.endpoints).toEqual(['http://127.0.0.1:1', 'http://127.0.0.1:2']);
    expect(etcd.description).toBe('external etcd at http://127.0.0.1:1, http://127.0.0.1:2');
    expect(etcd.members).toEqual([]);
    await expect(etcd.stop()).resolves.toBeUndefined();
  });

  it('uses an etcd someone else runs as external: it serves, is confirmed, and stop() leaves it running', async () => {
    await using theirs = await startEtcd({ provider: 'local' });
    vi.stubEnv('ZTAP_TEST_ETCD_ENDPOINTS', theirs.endpoints.join(','));
    const etcd = await startEtcd();
    expect(etcd.provider).toBe('external');
    const client = new Etcd3({ hosts: [...etcd.endpoints] });
    try {
      await client.put('greeting').value('hello');
      expect(await client.get('greeting').string()).toBe('hello');
    } finally {
      client.close();
    }
    expect(await confirmEtcdHandle(etcd)).toMatch(/^etcd answers at 127\.0\.0\.1:\d+ \(3\.\d+\.\d+\); /);
    await etcd.stop();
    expect(theirs.members[0]?.running).toBe(true);
  });

  it('confirmEtcdHandle fails when a handle is not what it says', async () => {
    await using first = await startEtcd({ provider: 'local' });
    await using second = await startEtcd({ provider: 'local' });
    await expect(confirmEtcdHandle({ ...first, endpoints: second.endpoints })).rejects.toThrow(
      /not what it says: its endpoints .* are not its members' client URLs/,
    );
    await second.members[0]?.kill();
    await expect(confirmEtcdHandle(second)).rejects.toThrow(
      /not what it says: member etcd-1 \(pid \d+\) does not run/,
    );
    vi.stubEnv('ZTAP_TEST_ETCD_ENDPOINTS', 'http://127.0.0.1:1');
    await expect(confirmEtcdHandle(await startEtcd())).rejects.toThrow(/ECONNREFUSED/);
  });

  it('lets options.provider override the environment', async () => {
    vi.stubEnv('ZTAP_TEST_ETCD_ENDPOINTS', 'http://127.0.0.1:1');
    vi.stubEnv('ETCD_BIN', '/nonexistent/etcd');
    await expect(startEtcd({ provider: 'local' })).rejects.toThrow(/ETCD_BIN=\/nonexistent\/etcd/);
  });

  it('rejects settings it cannot honour instead of guessing', async () => {
    vi.stubEnv('ZTAP_TEST_ETCD_PROVIDER', 'docker');
    await expect(startEtcd()).rejects.toThrow(
      /ZTAP_TEST_ETCD_PROVIDER=docker: expected one of container, local/,
    );
    vi.stubEnv('ZTAP_TEST_ETCD_ENDPOINTS', '127.0.0.1:2379');
    await expect(startEtcd()).rejects.toThrow(/"127.0.0.1:2379" is not an http\(s\):\/\/ URL/);
    vi.stubEnv('ZTAP_TEST_ETCD_ENDPOINTS', 'http://127.0.0.1:2379');
    await expect(startEtcd({ extraArgs: ['--quota-backend-bytes', '1024'] })).rejects.toThrow(
      /external etcd cannot take extraArgs/,
    );
    vi.stubEnv('ZTAP_TEST_ETCD_ENDPOINTS', '');
    vi.stubEnv('ZTAP_TEST_ETCD_PROVIDER', 'external');
    await expect(startEtcd()).rejects.toThrow(/needs ZTAP_TEST_ETCD_ENDPOINTS/);
  });
});
