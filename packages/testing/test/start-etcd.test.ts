import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isValidationError } from '@ztap/cluster';
import { eventually } from '@ztap/testkit';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EtcdStartError, isNoEtcdError, NoEtcdError, startEtcd } from '../src/index.ts';
import { get, memberNames, processExists, put, quotaBackendBytes } from './etcd-helpers.ts';

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
    expect(etcd.version).toMatch(/^3\.\d+\.\d+$/);
    expect(etcd.description).toMatch(
      new RegExp(
        `^local etcd ${etcd.version.replaceAll('.', '\\.')} \\(/.*etcd\\) on ${new URL(member.clientUrl).host}$`,
      ),
    );

    await put(member.clientUrl, 'greeting', 'hello');
    expect(await get(member.clientUrl, 'greeting')).toBe('hello');

    const { pid, dir } = member;
    expect(processExists(pid)).toBe(true);
    expect(existsSync(join(dir, 'data', 'member'))).toBe(true);
    await etcd.stop();
    expect(processExists(pid)).toBe(false);
    expect(member.running).toBe(false);
    expect(existsSync(dir)).toBe(false);
    await etcd.stop(); // idempotent
  });

  it('`await using` stops it when the scope ends', async () => {
    let pid = 0;
    {
      await using etcd = await startEtcd({ provider: 'local' });
      pid = etcd.members[0]?.pid ?? 0;
      expect(processExists(pid)).toBe(true);
    }
    expect(processExists(pid)).toBe(false);
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

  it("fails with etcd's own words when etcd cannot start", async () => {
    const failure = startEtcd({ provider: 'local', extraArgs: ['--no-such-flag'] });
    await expect(failure).rejects.toBeInstanceOf(EtcdStartError);
    await expect(failure).rejects.toThrow(
      /etcd member etcd-1 exited with code \d+\n--- last lines of .*etcd\.log ---\n[\s\S]*no-such-flag/,
    );
  });

  it('fails with install hints when ETCD_BIN names no binary', async () => {
    vi.stubEnv('ETCD_BIN', '/nonexistent/etcd');
    vi.stubEnv('ZTAP_TEST_ETCD_PROVIDER', 'local');
    const failure = startEtcd();
    await expect(failure).rejects.toBeInstanceOf(NoEtcdError);
    await expect(failure).rejects.toThrow(/ETCD_BIN=\/nonexistent\/etcd is not an executable file/);
    await expect(failure).rejects.toThrow(/apt-get install etcd-server/);
    await expect(failure).rejects.toThrow(/ZTAP_TEST_ETCD_ENDPOINTS/);
    expect(isNoEtcdError(await failure.catch((error: unknown) => error))).toBe(true);
  });

  it('fails with install hints when PATH has no etcd', async () => {
    const emptyDir = await mkdtemp(join(tmpdir(), 'ztap-no-etcd-'));
    try {
      vi.stubEnv('ETCD_BIN', undefined);
      vi.stubEnv('PATH', emptyDir);
      await expect(startEtcd({ provider: 'local' })).rejects.toThrow(
        /no etcd on PATH\.\n.*Docker or Podman.*apt-get install etcd-server.*ETCD_BIN/s,
      );
    } finally {
      await rm(emptyDir, { recursive: true });
    }
  });
});

/** The pids of this process's children that run etcd (from /proc). */
function etcdChildren(): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').trim();
        const [, command = '', rest = ''] = /^\d+ \((.*)\) (.*)$/.exec(stat) ?? [];
        return command === 'etcd' && Number(rest.split(' ')[1]) === process.pid;
      } catch {
        return false; // it exited meanwhile
      }
    })
    .map(Number);
}

describe('startEtcd and its signal', () => {
  it('rejects with the reason at once when the signal is already aborted', async () => {
    const reason = new Error('test over');
    await expect(startEtcd({ provider: 'local', signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
  });

  it('rejects with the reason when aborted while etcd starts, and leaves no etcd running', async () => {
    const before = etcdChildren();
    const abort = new AbortController();
    const reason = new Error('test over');
    const starting = startEtcd({ provider: 'local', signal: abort.signal });
    await eventually(
      () => etcdChildren().length > before.length,
      10_000,
      'the etcd process to be spawned',
      1,
    );
    abort.abort(reason);
    await expect(starting).rejects.toBe(reason);
    expect(etcdChildren()).toEqual(before);
  });
});

describe('startEtcd provider selection', () => {
  it('uses an etcd someone else runs (ZTAP_TEST_ETCD_ENDPOINTS, ahead of ZTAP_TEST_ETCD_PROVIDER): it serves, and stop() leaves it running', async () => {
    await using theirs = await startEtcd({ provider: 'local' });
    vi.stubEnv('ZTAP_TEST_ETCD_ENDPOINTS', ` ${theirs.endpoints.join(' , ')} ,`);
    vi.stubEnv('ZTAP_TEST_ETCD_PROVIDER', 'local');
    vi.stubEnv('ETCD_BIN', '/nonexistent/etcd'); // the local provider would fail
    const etcd = await startEtcd();
    expect(etcd.provider).toBe('external');
    expect(etcd.endpoints).toEqual(theirs.endpoints);
    expect(etcd.version).toBe(theirs.version);
    expect(etcd.description).toBe(`external etcd ${theirs.version} at ${theirs.endpoints.join(', ')}`);
    expect(etcd.members).toEqual([]);
    await put(etcd.endpoints[0] as string, 'greeting', 'hello');
    expect(await get(theirs.endpoints[0] as string, 'greeting')).toBe('hello');
    await etcd.stop();
    expect(theirs.members[0]?.running).toBe(true);
  });

  it('fails at once, naming the endpoint, when ZTAP_TEST_ETCD_ENDPOINTS names an etcd that does not answer', async () => {
    vi.stubEnv('ZTAP_TEST_ETCD_ENDPOINTS', 'http://127.0.0.1:1');
    const failure = startEtcd();
    await expect(failure).rejects.toBeInstanceOf(EtcdStartError);
    await expect(failure).rejects.toThrow(
      /^ZTAP_TEST_ETCD_ENDPOINTS names an etcd that does not answer: http:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/,
    );
  });

  it('lets options.provider override the environment', async () => {
    vi.stubEnv('ZTAP_TEST_ETCD_ENDPOINTS', 'http://127.0.0.1:1');
    vi.stubEnv('ETCD_BIN', '/nonexistent/etcd');
    await expect(startEtcd({ provider: 'local' })).rejects.toThrow(/ETCD_BIN=\/nonexistent\/etcd/);
  });

  it('rejects settings it cannot honour, naming the setting and the rule, instead of guessing', async () => {
    const reason = (promise: Promise<unknown>) =>
      promise.then(
        () => 'started',
        (error: unknown) => error,
      );
    vi.stubEnv('ZTAP_TEST_ETCD_PROVIDER', 'docker');
    const badProvider = await reason(startEtcd());
    expect(isValidationError(badProvider) && badProvider.field).toBe('ZTAP_TEST_ETCD_PROVIDER');
    expect(badProvider).toHaveProperty(
      'message',
      'ZTAP_TEST_ETCD_PROVIDER must be one of container, local, external (got "docker")',
    );
    vi.stubEnv('ZTAP_TEST_ETCD_ENDPOINTS', '127.0.0.1:2379');
    await expect(startEtcd()).rejects.toThrow(
      'ZTAP_TEST_ETCD_ENDPOINTS must be comma-separated http:// or https:// URLs; "127.0.0.1:2379" is not one',
    );
    vi.stubEnv('ZTAP_TEST_ETCD_ENDPOINTS', 'http://127.0.0.1:2379');
    await expect(startEtcd({ extraArgs: ['--quota-backend-bytes', '1024'] })).rejects.toThrow(
      /^extraArgs cannot be given to an external etcd \(--quota-backend-bytes 1024\); start this etcd with provider 'local'$/,
    );
    vi.stubEnv('ZTAP_TEST_ETCD_ENDPOINTS', '');
    vi.stubEnv('ZTAP_TEST_ETCD_PROVIDER', 'external');
    await expect(startEtcd()).rejects.toThrow(/needs ZTAP_TEST_ETCD_ENDPOINTS/);
    vi.stubEnv('ZTAP_TEST_ETCD_PROVIDER', '');
    const badOption = await reason(startEtcd({ provider: 'docker' as 'local' }));
    expect(isValidationError(badOption) && badOption.field).toBe('provider');
    await expect(startEtcd({ provider: 'local', startupTimeoutMs: 0 })).rejects.toThrow(
      'startupTimeoutMs must be a whole number of milliseconds above 0 (got 0)',
    );
  });
});
