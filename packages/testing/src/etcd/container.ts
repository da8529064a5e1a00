import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import type { Readable } from 'node:stream';
import { EtcdStartError, EtcdStopError } from '../errors.ts';
import type { ContainerRuntimeCheck } from './container-runtime.ts';
import { etcdVersion } from './etcd-api.ts';
import { abortable, withTimeout } from './timing.ts';
import type { EtcdHandle } from './types.ts';

/**
 * The image when `ZTAP_TEST_ETCD_IMAGE` is not set: upstream's release image (etcd publishes to
 * quay.io/coreos/etcd and gcr.io/etcd-development/etcd). Pinned, so a failure can be reproduced.
 */
export const DEFAULT_ETCD_IMAGE = 'quay.io/coreos/etcd:v3.7.1';
/**
 * A label on every container `startEtcd` starts (value `etcd`), so that cleanup can find exactly
 * those where Testcontainers' Ryuk does not run (e.g. on Podman):
 * `podman rm -f $(podman ps -aq --filter label=ztap.cluster-testing)`.
 */
export const CONTAINER_LABEL = 'ztap.cluster-testing';
export const CLIENT_PORT = 2379;
const PEER_PORT = 2380;
const DEFAULT_STARTUP_TIMEOUT_MS = 60_000;
/**
 * What pulling the image, creating and starting the container may take on top of the startup timeout
 * (which covers only the wait for etcd to be healthy): Testcontainers bounds neither.
 */
const PULL_AND_CREATE_ALLOWANCE_MS = 180_000;
const LOG_TAIL_LINES = 30;
/** What engines say when the image is neither there nor pullable (no registry, a typo, no access). */
const MISSING_IMAGE =
  /no such image|image not known|pull access denied|manifest unknown|failed to pull|error pulling/i;

/** The image to run: `ZTAP_TEST_ETCD_IMAGE` (name and tag), else {@link DEFAULT_ETCD_IMAGE}. */
export function etcdImage(env: NodeJS.ProcessEnv = process.env): string {
  return env.ZTAP_TEST_ETCD_IMAGE?.trim() || DEFAULT_ETCD_IMAGE;
}

/**
 * etcd's command in the container: `etcd` from PATH (so the image needs it there and no ENTRYPOINT, like
 * upstream's images), with the member name `name`, data in /tmp (writable in every image, whatever its
 * working dir and user), the local launcher's fast raft timers, and the caller's flags last, so they win.
 */
export function containerCommand(name: string, extraArgs: readonly string[]): string[] {
  return [
    'etcd',
    ['--name', name],
    ['--data-dir', `/tmp/${name}`],
    ['--listen-client-urls', `http://0.0.0.0:${CLIENT_PORT}`],
    ['--advertise-client-urls', `http://0.0.0.0:${CLIENT_PORT}`],
    ['--listen-peer-urls', `http://0.0.0.0:${PEER_PORT}`],
    ['--initial-advertise-peer-urls', `http://0.0.0.0:${PEER_PORT}`],
    ['--heartbeat-interval', '25'],
    ['--election-timeout', '250'],
    extraArgs,
  ].flat();
}

/**
 * The readiness check, which every etcd version passes once it has a leader and serves a quorum read:
 * `GET /health` answers 200 with `{"health":"true"}` (3.4) or `{"health":"true","reason":""}` (3.5 and
 * later). Not a log line: the one Testcontainers' etcd module waits for is never printed by 3.4.
 */
export function isHealthyBody(body: string): boolean {
  try {
    return (JSON.parse(body) as { health?: unknown }).health === 'true';
  } catch {
    return false;
  }
}

/** Whether the containers' ports are reached on this machine's loopback (then they are published only there). */
function isLoopback(host: string): boolean {
  return host === 'localhost' || (isIP(host) === 4 && host.startsWith('127.')) || host === '::1';
}

/** Removes the container called `name`, if there is one; errors are ignored (this is cleanup). */
async function removeContainer(name: string): Promise<void> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    const client = await withTimeout(getContainerRuntimeClient(), 10_000, 'Testcontainers setup');
    await withTimeout(
      client.container.dockerode.getContainer(name).remove({ force: true, v: true }),
      10_000,
      `container ${name} to be removed`,
    );
  } catch {
    // Not there (never created, or already removed), or the engine is gone.
  }
}

/** The last lines of what a container printed, kept while it starts, for the error when it does not. */
class LogTail {
  #lines: string[] = [];
  #pending = '';
  #stream: Readable | undefined;

  consume = (stream: Readable): void => {
    this.#stream = stream;
    stream.on('data', (chunk: string | Buffer) => {
      const lines = (this.#pending + chunk.toString()).split('\n');
      this.#pending = lines.pop() ?? '';
      this.#lines.push(...lines);
      this.#lines.splice(0, Math.max(0, this.#lines.length - LOG_TAIL_LINES));
    });
    stream.on('error', () => {}); // only diagnostics
  };

  text(): string {
    return [...this.#lines, this.#pending].join('\n').trim();
  }

  close(): void {
    this.#stream?.destroy();
  }
}

/**
 * Starts etcd in a container with Testcontainers (`runtime` must be an available engine) and resolves once
 * it reports healthy. Every container carries the label {@link CONTAINER_LABEL}; its published ports are
 * bound to loopback only when the engine's ports are reached through loopback. Removal when the process
 * dies without `stop()` is Testcontainers' Ryuk's job, or (with `TESTCONTAINERS_RYUK_DISABLED`, e.g. on
 * Podman) whoever removes containers by that label.
 */
export async function startEtcdContainer(
  runtime: Extract<ContainerRuntimeCheck, { available: true }>,
  options: {
    readonly extraArgs?: readonly string[];
    readonly startupTimeoutMs?: number;
    readonly signal?: AbortSignal | undefined;
  },
): Promise<EtcdHandle> {
  const image = etcdImage();
  const startupTimeoutMs = options.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS;
  // Loaded only here: Testcontainers is large, and most runs on machines without an engine never need it.
  const { GenericContainer, Wait } = await import('testcontainers');
  /** A container with its ports published on loopback only (Testcontainers has no option for that). */
  class LoopbackContainer extends GenericContainer {
    publishOnLoopbackOnly(): this {
      const binding = [{ HostIp: '127.0.0.1', HostPort: '0' }];
      this.hostConfig.PortBindings = { [`${CLIENT_PORT}/tcp`]: binding, [`${PEER_PORT}/tcp`]: binding };
      return this;
    }
  }
  // Container and etcd member share a fresh name: whoever checks can match the container to what answers.
  const name = `ztap-etcd-${randomBytes(6).toString('hex')}`;
  const logs = new LogTail();
  let definition = new LoopbackContainer(image)
    .withName(name)
    .withLabels({ [CONTAINER_LABEL]: 'etcd' })
    .withExposedPorts(CLIENT_PORT, PEER_PORT)
    .withCommand(containerCommand(name, options.extraArgs ?? []))
    .withWaitStrategy(
      Wait.forHttp('/health', CLIENT_PORT, { abortOnContainerExit: true })
        .forStatusCode(200)
        .forResponsePredicate(isHealthyBody),
    )
    .withStartupTimeout(startupTimeoutMs)
    .withLogConsumer(logs.consume);
  if (isLoopback(runtime.host)) definition = definition.publishOnLoopbackOnly();
  const starting = definition.start();
  let container: Awaited<typeof starting>;
  try {
    container = await abortable(
      withTimeout(
        starting,
        startupTimeoutMs + PULL_AND_CREATE_ALLOWANCE_MS,
        `an etcd container from ${image} to start`,
      ),
      options.signal,
    );
  } catch (error) {
    // Testcontainers removes a container that fails its readiness check, but not one that was created
    // and then failed to start (e.g. the runtime refused it), nor one it is still starting after our
    // bound: remove it by its name, now and should it start later.
    starting.then((late) => late.stop()).catch(() => {});
    await removeContainer(name);
    if (options.signal?.aborted && error === options.signal.reason) throw error;
    const message = error instanceof Error ? error.message : String(error);
    const output = logs.text();
    // Testcontainers quotes the container's output when it saw it exit; otherwise add it here (when
    // there is any: a container that was never created printed nothing).
    const lastLine = output.split('\n').at(-1)?.trim() ?? '';
    const quoted = lastLine !== '' && message.includes(lastLine);
    const hint = MISSING_IMAGE.test(message)
      ? `\nIs ${image} available to this engine? ZTAP_TEST_ETCD_IMAGE names another image (a mirror, or one you built).`
      : '';
    throw new EtcdStartError(
      `etcd in a container from ${image} did not start and become healthy: ${message}${hint}`,
      quoted || output === '' ? { logTail: output } : { logTail: output, logName: `container ${name}` },
      { cause: error },
    );
  } finally {
    logs.close();
  }
  const endpoint = `http://${container.getHost()}:${container.getMappedPort(CLIENT_PORT)}`;
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= container.stop().then(
      () => undefined,
      (error: unknown) => {
        throw new EtcdStopError(`could not remove etcd container ${name}: ${error}`, { cause: error });
      },
    );
    return stopped;
  };
  let version: string;
  try {
    version = await etcdVersion(endpoint, 5_000);
  } catch (error) {
    await stop();
    throw new EtcdStartError(
      `etcd in container ${name} is healthy but did not tell its version`,
      {},
      {
        cause: error,
      },
    );
  }
  const id = container.getId();
  return {
    endpoints: [endpoint],
    provider: 'container',
    version,
    description: `etcd ${version} in container ${id.slice(0, 12)} (${image}) on ${new URL(endpoint).host}, ${runtime.description}`,
    members: [],
    container: { id, name, image },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
