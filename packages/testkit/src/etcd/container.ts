import type { ContainerRuntimeCheck } from './container-runtime.ts';
import type { EtcdHandle } from './types.ts';

/**
 * The image when `ZTAP_TEST_ETCD_IMAGE` is not set: upstream's release image (etcd publishes to
 * quay.io/coreos/etcd and gcr.io/etcd-development/etcd). Pinned, so a failure can be reproduced.
 */
export const DEFAULT_ETCD_IMAGE = 'quay.io/coreos/etcd:v3.7.1';
const CLIENT_PORT = 2379;
const PEER_PORT = 2380;
const DEFAULT_STARTUP_TIMEOUT_MS = 60_000;

/**
 * etcd's command in the container: what `EtcdContainer` runs (it starts with `etcd`, so the image needs
 * it on PATH and no ENTRYPOINT), plus the local launcher's fast raft timers, plus the caller's flags.
 */
function containerCommand(extraArgs: readonly string[]): string[] {
  return [
    'etcd',
    ['--name', 'ztap-etcd'],
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
 * Starts etcd in a container with Testcontainers (`runtime` must be an available engine). Removal when
 * the process dies without `stop()` is Testcontainers' Ryuk's job (unless `TESTCONTAINERS_RYUK_DISABLED`).
 */
export async function startEtcdContainer(
  runtime: Extract<ContainerRuntimeCheck, { available: true }>,
  options: { readonly extraArgs?: readonly string[]; readonly startupTimeoutMs?: number },
): Promise<EtcdHandle> {
  const image = process.env.ZTAP_TEST_ETCD_IMAGE?.trim() || DEFAULT_ETCD_IMAGE;
  // Loaded only here: Testcontainers is large, and most runs on machines without an engine never need it.
  const [{ EtcdContainer }, { Wait }] = await Promise.all([
    import('@testcontainers/etcd'),
    import('testcontainers'),
  ]);
  const container = await new EtcdContainer(image)
    .withCommand(containerCommand(options.extraArgs ?? []))
    // EtcdContainer waits for a log line that etcd 3.4 never prints; /health works for every version.
    .withWaitStrategy(Wait.forHttp('/health', CLIENT_PORT, { abortOnContainerExit: true }).forStatusCode(200))
    .withStartupTimeout(options.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS)
    .start();
  const endpoint = container.getClientEndpoint();
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= container.stop().then(() => undefined);
    return stopped;
  };
  return {
    endpoints: [endpoint],
    provider: 'container',
    description: `etcd container ${image} on ${new URL(endpoint).host} (${runtime.description})`,
    members: [],
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
