import { readFileSync } from 'node:fs';
import { CONTAINER_LABEL, type EtcdHandle, type EtcdServerTls } from '@ztap/cluster-testing';
import { Etcd3 } from 'etcd3';

const TIMEOUT_MS = 5_000;
const CLIENT_TIMEOUT_MS = 15_000;
/** etcd's client port inside the container. */
const CLIENT_PORT = 2379;

/** `promise`, or a rejection naming `what` after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * What the etcd at `endpoint` says about itself, through its own gRPC API (not the launcher's
 * bookkeeping): its server version and its members' names, sorted.
 */
async function askEtcd(endpoint: string, tls?: EtcdServerTls): Promise<{ version: string; names: string[] }> {
  const client = new Etcd3({
    hosts: [endpoint],
    dialTimeout: TIMEOUT_MS,
    ...(tls
      ? {
          credentials: {
            rootCertificate: readFileSync(tls.caFile),
            ...(tls.clientCert
              ? {
                  certChain: readFileSync(tls.clientCert.certFile),
                  privateKey: readFileSync(tls.clientCert.keyFile),
                }
              : {}),
          },
        }
      : {}),
  });
  try {
    const [status, members] = await within(
      Promise.all([client.maintenance.status(), client.cluster.memberList({})]),
      TIMEOUT_MS,
      `asking the etcd at ${endpoint}`,
    );
    return { version: status.version, names: members.members.map((member) => member.name).sort() };
  } finally {
    client.close();
  }
}

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
  const { getContainerRuntimeClient } = await import('testcontainers');
  const endpoint = new URL(handle.endpoints[0] as string);
  const client = await within(getContainerRuntimeClient(), CLIENT_TIMEOUT_MS, 'Testcontainers setup');
  const inspect = await within(
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
  const { version, names } = await askEtcd(handle.endpoints[0] as string);
  claim(
    sameNames(names, [info.name]),
    `the etcd at ${endpoint.host} lists members ${names.join(', ')}, not ${info.name}`,
  );
  claim(version === handle.version, `the etcd at ${endpoint.host} is ${version}, not ${handle.version}`);
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
  const { version, names } = await askEtcd(endpoint, handle.tls);
  const expected = members.map((member) => member.name);
  claim(
    sameNames(names, expected),
    `the etcd at ${endpoint} lists members ${names.join(', ')}, not ${expected.join(', ')}`,
  );
  claim(version === handle.version, `the etcd at ${endpoint} is ${version}, not ${handle.version}`);
  const pids = members.map((member) => member.pid).join(', ');
  return `local etcd process${members.length > 1 ? 'es' : ''} (pid ${pids}) run; the etcd ${version} at ${new URL(endpoint).host} lists members ${names.join(', ')}`;
}

async function confirmExternal(handle: EtcdHandle): Promise<string> {
  const versions = await Promise.all(
    handle.endpoints.map(async (endpoint) => (await askEtcd(endpoint)).version),
  );
  return `etcd answers at ${handle.endpoints.map((endpoint, index) => `${new URL(endpoint).host} (${versions[index]})`).join(', ')}; it is not ours to inspect further`;
}

/**
 * Checks that `handle` (from `@ztap/cluster-testing`) is what its `provider`, `version` and
 * `description` say, by asking the etcd at its endpoints and, for a container, the container engine
 * (not the launcher's own bookkeeping). Resolves to what it
 * found, one line for test output; throws when a claim does not hold.
 *
 * - container: the engine runs that container, with the kit's label and the image asked for, and
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
