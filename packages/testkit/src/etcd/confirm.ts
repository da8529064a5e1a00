import { readFileSync } from 'node:fs';
import { CLIENT_PORT, CONTAINER_LABEL } from './container.ts';
import { etcdVersion, listMemberNames } from './etcd-api.ts';
import { withTimeout } from './timing.ts';
import { probeTlsOf } from './tls.ts';
import type { EtcdHandle } from './types.ts';

const TIMEOUT_MS = 5_000;
const CLIENT_TIMEOUT_MS = 15_000;

function claim(holds: boolean, what: string): void {
  if (!holds) throw new Error(`the etcd handle is not what it says: ${what}`);
}

const sameNames = (a: readonly string[], b: readonly string[]) =>
  JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());

async function confirmContainer(handle: EtcdHandle): Promise<string> {
  const info = handle.container;
  claim(info !== undefined, 'a container handle names no container');
  if (!info) throw new Error('unreachable');
  claim(handle.endpoints.length === 1, `a container has one endpoint, not ${handle.endpoints.length}`);
  const endpoint = new URL(handle.endpoints[0] as string);
  const { getContainerRuntimeClient } = await import('testcontainers');
  const client = await withTimeout(getContainerRuntimeClient(), CLIENT_TIMEOUT_MS, 'Testcontainers setup');
  const inspect = await withTimeout(
    client.container.inspect(client.container.getById(info.id)),
    TIMEOUT_MS,
    `inspecting container ${info.id}`,
  );
  const id = info.id.slice(0, 12);
  claim(inspect.State.Running, `the engine says container ${id} is ${inspect.State.Status}`);
  claim(
    inspect.Config.Labels?.[CONTAINER_LABEL] === 'etcd',
    `container ${id} lacks the label ${CONTAINER_LABEL}=etcd`,
  );
  const image = inspect.Config.Image;
  claim(
    image === info.image || image.endsWith(`/${info.image}`),
    `container ${id} runs ${image}, not ${info.image}`,
  );
  const bindings = inspect.NetworkSettings.Ports[`${CLIENT_PORT}/tcp`] ?? [];
  claim(
    bindings.some((binding) => binding.HostPort === endpoint.port),
    `container ${id} does not publish ${CLIENT_PORT}/tcp on port ${endpoint.port} (${JSON.stringify(bindings)})`,
  );
  const names = await listMemberNames(endpoint.href, TIMEOUT_MS);
  claim(
    sameNames(names, [info.name]),
    `the etcd at ${endpoint.host} lists members ${names.join(', ')}, not ${info.name}`,
  );
  const version = await etcdVersion(endpoint.href, TIMEOUT_MS);
  const published = bindings.map((binding) => `${binding.HostIp || '*'}:${binding.HostPort}`).join(', ');
  return (
    `the engine runs container ${id} (${image}), publishing ${CLIENT_PORT}/tcp on ${published}; ` +
    `the etcd ${version} answering at ${endpoint.host} has one member, ${info.name}, named like the container`
  );
}

/** Whether `pid` runs (signal 0 checks without signalling). */
function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function confirmLocal(handle: EtcdHandle): Promise<string> {
  const { members } = handle;
  claim(members.length > 0, 'a local handle has no members');
  claim(
    sameNames(
      handle.endpoints,
      members.map((member) => member.clientUrl),
    ),
    `its endpoints ${handle.endpoints.join(', ')} are not its members' client URLs`,
  );
  for (const member of members) {
    claim(
      member.running && processRuns(member.pid),
      `member ${member.name} (pid ${member.pid}) does not run`,
    );
    if (process.platform === 'linux') {
      const cmdline = readFileSync(`/proc/${member.pid}/cmdline`, 'utf8').split('\0');
      claim(
        cmdline.includes(member.clientUrl),
        `pid ${member.pid} is not the etcd listening on ${member.clientUrl}: ${cmdline.join(' ')}`,
      );
    }
  }
  const endpoint = handle.endpoints[0] as string;
  const tls = probeTlsOf(handle.tls);
  const names = await listMemberNames(endpoint, TIMEOUT_MS, tls);
  const expected = members.map((member) => member.name);
  claim(
    sameNames(names, expected),
    `the etcd at ${endpoint} lists members ${names.join(', ')}, not ${expected.join(', ')}`,
  );
  const version = await etcdVersion(endpoint, TIMEOUT_MS, tls);
  const pids = members.map((member) => member.pid).join(', ');
  return `local etcd process${members.length > 1 ? 'es' : ''} (pid ${pids}) run; the etcd ${version} at ${new URL(endpoint).host} lists members ${names.join(', ')}`;
}

async function confirmExternal(handle: EtcdHandle): Promise<string> {
  const versions = await Promise.all(handle.endpoints.map((endpoint) => etcdVersion(endpoint, TIMEOUT_MS)));
  return `etcd answers at ${handle.endpoints.map((endpoint, index) => `${new URL(endpoint).host} (${versions[index]})`).join(', ')}; it is not ours to inspect further`;
}

/**
 * Checks that `handle` is what its `provider` and `description` say, by asking the etcd at its endpoints
 * and, for a container, the container engine (not the launcher's own bookkeeping). Resolves to what it
 * found, one line for test output; throws when a claim does not hold.
 *
 * - container: the engine runs that container, with the testkit's label and the image asked for, and
 *   publishes etcd's client port on the endpoint's port; the etcd there has exactly one member, named
 *   like the container (a fresh random name).
 * - local: every member's process runs with its client URL on its command line, and the etcd at the
 *   endpoints lists exactly those members.
 * - external: etcd answers at every endpoint.
 */
export async function confirmEtcdHandle(handle: EtcdHandle): Promise<string> {
  switch (handle.provider) {
    case 'container':
      return confirmContainer(handle);
    case 'local':
      return confirmLocal(handle);
    case 'external':
      return confirmExternal(handle);
  }
}
