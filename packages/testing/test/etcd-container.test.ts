import { eventually } from '@ztap/testkit';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { containerCommand, DEFAULT_ETCD_IMAGE, etcdImage, isHealthyBody } from '../src/etcd/container.ts';
import { checkContainerRuntime } from '../src/etcd/container-runtime.ts';
import { CONTAINER_LABEL, EtcdStartError, NoEtcdError, startEtcd } from '../src/index.ts';
import { get, memberNames, put, quotaBackendBytes } from './etcd-helpers.ts';

// Each test states the environment it needs; the settings of whoever runs the tests must not leak in
// (the container engine's, DOCKER_HOST and ZTAP_TEST_ETCD_IMAGE, are what these tests are about).
beforeEach(() => {
  vi.stubEnv('ZTAP_TEST_ETCD_ENDPOINTS', '');
  vi.stubEnv('ZTAP_TEST_ETCD_PROVIDER', '');
});
afterEach(() => {
  vi.unstubAllEnvs();
});

describe('the container provider, whatever the image', () => {
  it('takes etcd healthy by /health, as etcd 3.4 and 3.5+ report it, and nothing else', () => {
    expect(isHealthyBody('{"health":"true"}')).toBe(true); // 3.4
    expect(isHealthyBody('{"health":"true","reason":""}')).toBe(true); // 3.5 and later
    expect(isHealthyBody('{"health":"false"}')).toBe(false);
    expect(isHealthyBody('{"health":"false","reason":"RAFT NO LEADER"}')).toBe(false);
    expect(isHealthyBody('')).toBe(false);
    expect(isHealthyBody('<html>')).toBe(false);
  });

  it("runs `etcd` from PATH with the member name, flags every version knows, and the caller's flags last", () => {
    const command = containerCommand('ztap-etcd-x', ['--quota-backend-bytes', '1024']);
    expect(command[0]).toBe('etcd');
    expect(command.slice(1, 5)).toEqual(['--name', 'ztap-etcd-x', '--data-dir', '/tmp/ztap-etcd-x']);
    expect(command).toContain('--listen-client-urls');
    expect(command.slice(-2)).toEqual(['--quota-backend-bytes', '1024']);
  });

  it('uses ZTAP_TEST_ETCD_IMAGE, else the pinned upstream image', () => {
    vi.stubEnv('ZTAP_TEST_ETCD_IMAGE', ' localhost/ztap-etcd:3.4.23 ');
    expect(etcdImage()).toBe('localhost/ztap-etcd:3.4.23');
    vi.stubEnv('ZTAP_TEST_ETCD_IMAGE', '');
    expect(etcdImage()).toBe(DEFAULT_ETCD_IMAGE);
    expect(DEFAULT_ETCD_IMAGE).toMatch(/^quay\.io\/coreos\/etcd:v3\.\d+\.\d+$/);
  });
});

// Whether this machine has a container engine decides what the tests below can prove: with one, that the
// container provider works; without one, that it fails clearly. Neither case skips. CI says it requires the
// engine (ZTAP_TEST_ETCD_PROVIDER=container), so there a missing engine fails instead.
const runtime = await checkContainerRuntime();
const engineRequired = process.env.ZTAP_TEST_ETCD_PROVIDER?.trim() === 'container';

/** The containers labelled as ours that the engine knows, running or not. */
async function labelledContainers(): Promise<{ id: string; state: string }[]> {
  const { getContainerRuntimeClient } = await import('testcontainers');
  const client = await getContainerRuntimeClient();
  const containers = await client.container.dockerode.listContainers({
    all: true,
    filters: { label: [`${CONTAINER_LABEL}=etcd`] },
  });
  return containers.map((container) => ({ id: container.Id, state: container.State }));
}

if (runtime.available || engineRequired) {
  describe(`startEtcd in a container (${etcdImage()})`, { timeout: 60_000 }, () => {
    beforeEach(() => {
      if (!runtime.available) throw new Error(`ZTAP_TEST_ETCD_PROVIDER=container, but ${runtime.reason}`);
    });

    it('starts etcd that serves a put/get, named like its container; stop() removes the container', async () => {
      const etcd = await startEtcd({ provider: 'container' });
      try {
        expect(etcd.provider).toBe('container');
        expect(etcd.members).toEqual([]);
        expect(etcd.endpoints).toHaveLength(1);
        const endpoint = new URL(etcd.endpoints[0] as string);
        expect(endpoint.hostname).toBe('127.0.0.1');
        const container = etcd.container;
        if (!container) throw new Error('a container handle names its container');
        expect(container.image).toBe(etcdImage());
        expect(etcd.version).toMatch(/^3\.\d+\.\d+$/);
        expect(etcd.description).toMatch(
          new RegExp(
            `^etcd ${etcd.version.replaceAll('.', '\\.')} in container ${container.id.slice(0, 12)} \\(.+\\) on 127\\.0\\.0\\.1:${endpoint.port}, `,
          ),
        );
        console.info(`[cluster-testing] ${etcd.description}`);

        await put(endpoint.href, 'greeting', 'hello');
        expect(await get(endpoint.href, 'greeting')).toBe('hello');
        expect(await memberNames(endpoint.href)).toEqual([container.name]);
        expect(await labelledContainers()).toContainEqual({ id: container.id, state: 'running' });

        await etcd.stop();
        expect((await labelledContainers()).map(({ id }) => id)).not.toContain(container.id);
      } finally {
        await etcd.stop(); // idempotent
      }
    });

    it('is what startEtcd picks on its own when an engine answers: the path users with Docker take', async () => {
      await using etcd = await startEtcd();
      expect(etcd.provider).toBe('container');
      expect(await memberNames(etcd.endpoints[0] as string)).toEqual([etcd.container?.name]);
    });

    it('publishes etcd only on loopback', async () => {
      await using etcd = await startEtcd({ provider: 'container' });
      const { getContainerRuntimeClient } = await import('testcontainers');
      const client = await getContainerRuntimeClient();
      const inspect = await client.container.inspect(client.container.getById(etcd.container?.id ?? ''));
      const bindings = Object.values(inspect.NetworkSettings.Ports).flat();
      expect(bindings.length).toBeGreaterThan(0);
      for (const binding of bindings) expect(binding?.HostIp).toBe('127.0.0.1');
    });

    it('passes extraArgs to etcd in the container', async () => {
      const quota = 16 * 1024 * 1024;
      await using etcd = await startEtcd({
        provider: 'container',
        extraArgs: ['--quota-backend-bytes', String(quota)],
      });
      expect(await quotaBackendBytes(etcd.endpoints[0] as string)).toBe(quota);
    });

    it('rejects with the reason when aborted while the container starts, and leaves no container behind', async () => {
      const before = (await labelledContainers()).map(({ id }) => id);
      const isNew = ({ id }: { id: string }) => !before.includes(id);
      const abort = new AbortController();
      const reason = new Error('test over');
      // etcd listening only inside the container never answers the health check: the start waits.
      const starting = startEtcd({
        provider: 'container',
        extraArgs: ['--listen-client-urls', 'http://127.0.0.1:2379'],
        signal: abort.signal,
      });
      starting.catch(() => {});
      await eventually(async () => (await labelledContainers()).some(isNew), 30_000, 'the container', 50);
      abort.abort(reason);
      await expect(starting).rejects.toBe(reason);
      await eventually(async () => !(await labelledContainers()).some(isNew), 30_000, 'its removal', 100);
    });

    it('says which image is missing and how to name another when the engine has no such image', async () => {
      vi.stubEnv('ZTAP_TEST_ETCD_IMAGE', 'localhost/ztap-no-such-etcd:0');
      const failure = startEtcd({ provider: 'container' });
      await expect(failure).rejects.toBeInstanceOf(EtcdStartError);
      await expect(failure).rejects.toThrow(
        /from localhost\/ztap-no-such-etcd:0 did not start[\s\S]*\nIs localhost\/ztap-no-such-etcd:0 available to this engine\? ZTAP_TEST_ETCD_IMAGE names another image/,
      );
    });

    it("fails fast with etcd's own words when etcd cannot start, and leaves no container behind", async () => {
      const before = (await labelledContainers()).map(({ id }) => id);
      const failure = startEtcd({
        provider: 'container',
        extraArgs: ['--no-such-flag'],
        startupTimeoutMs: 20_000,
      });
      await expect(failure).rejects.toBeInstanceOf(EtcdStartError);
      await expect(failure).rejects.toThrow(
        /did not start and become healthy[\s\S]*flag provided but not defined: -no-such-flag/,
      );
      // It saw etcd exit: no waiting out the 20 s bound.
      await expect(failure).rejects.not.toThrow(/timed out|timeout/i);
      expect((await labelledContainers()).filter(({ id }) => !before.includes(id))).toEqual([]);
    });
  });
} else {
  describe('startEtcd in a container, on a machine without a container engine', () => {
    it(`fails with the reason and how to get an etcd (${runtime.reason})`, async () => {
      const failure = startEtcd({ provider: 'container' });
      await expect(failure).rejects.toBeInstanceOf(NoEtcdError);
      await expect(failure).rejects.toThrow(/The container provider needs a container engine/);
      await expect(failure).rejects.toThrow(/Docker or Podman/);
    });
  });
}
