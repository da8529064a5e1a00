import { ValidationError } from '@ztap/cluster';
import { NoEtcdError } from '../errors.ts';
import { startEtcdContainer } from './container.ts';
import { checkContainerRuntime } from './container-runtime.ts';
import { externalEtcd } from './external.ts';
import { startLocalEtcd } from './local-cluster.ts';
import { abortable } from './timing.ts';
import type { EtcdHandle, EtcdProvider, StartEtcdOptions } from './types.ts';

const PROVIDERS: readonly EtcdProvider[] = ['container', 'local', 'external'];

/** The endpoints in `ZTAP_TEST_ETCD_ENDPOINTS` (comma-separated), or `undefined` when it is unset or blank. */
export function endpointsFromEnv(env: NodeJS.ProcessEnv): string[] | undefined {
  const endpoints = (env.ZTAP_TEST_ETCD_ENDPOINTS ?? '')
    .split(',')
    .map((endpoint) => endpoint.trim())
    .filter((endpoint) => endpoint !== '');
  for (const endpoint of endpoints) {
    if (!URL.canParse(endpoint) || !/^https?:$/.test(new URL(endpoint).protocol)) {
      throw new ValidationError(
        'ZTAP_TEST_ETCD_ENDPOINTS',
        `must be comma-separated http:// or https:// URLs; ${JSON.stringify(endpoint)} is not one`,
      );
    }
  }
  return endpoints.length > 0 ? endpoints : undefined;
}

/** The provider named by `ZTAP_TEST_ETCD_PROVIDER`, or `undefined` when it is unset or blank. */
function providerFromEnv(env: NodeJS.ProcessEnv): EtcdProvider | undefined {
  const name = env.ZTAP_TEST_ETCD_PROVIDER?.trim();
  if (!name) return undefined;
  if (!(PROVIDERS as readonly string[]).includes(name)) {
    throw new ValidationError(
      'ZTAP_TEST_ETCD_PROVIDER',
      `must be one of ${PROVIDERS.join(', ')} (got ${JSON.stringify(name)})`,
    );
  }
  return name as EtcdProvider;
}

function checkOptions(options: StartEtcdOptions): void {
  if (options.provider !== undefined && !PROVIDERS.includes(options.provider)) {
    throw new ValidationError(
      'provider',
      `must be one of ${PROVIDERS.join(', ')} (got ${JSON.stringify(options.provider)})`,
    );
  }
  const { startupTimeoutMs } = options;
  if (startupTimeoutMs !== undefined && !(Number.isInteger(startupTimeoutMs) && startupTimeoutMs > 0)) {
    throw new ValidationError(
      'startupTimeoutMs',
      `must be a whole number of milliseconds above 0 (got ${startupTimeoutMs})`,
    );
  }
}

async function containerEtcd(options: StartEtcdOptions): Promise<EtcdHandle> {
  const runtime = await abortable(checkContainerRuntime(), options.signal);
  if (!runtime.available)
    throw new NoEtcdError(`The container provider needs a container engine: ${runtime.reason}.`);
  return startEtcdContainer(runtime, options);
}

/**
 * Starts an etcd for a test, from wherever this machine has one, and resolves once it is healthy:
 *
 * 1. `options.provider`, if given;
 * 2. else `'external'` if `ZTAP_TEST_ETCD_ENDPOINTS` is set (comma-separated URLs of an etcd someone
 *    else runs; it must answer; `stop()` leaves it running);
 * 3. else `ZTAP_TEST_ETCD_PROVIDER` (`container` | `local` | `external`), if set;
 * 4. else a **container** when a container engine (Docker, or Podman's Docker API) answers within a few
 *    seconds — image `ZTAP_TEST_ETCD_IMAGE`, else {@link DEFAULT_ETCD_IMAGE} — else a **local** `etcd`
 *    binary (`ETCD_BIN`, else `PATH`) on free loopback ports.
 *
 * A provider that was asked for but cannot work fails; so does finding no etcd at all, with a
 * {@link NoEtcdError} whose message says how to install or point to one. It never returns something
 * that lets a test skip. An etcd that is there but does not become healthy fails with an
 * {@link EtcdStartError} quoting etcd's last words. Bad options and environment variables fail with a
 * `ValidationError` naming them.
 *
 * Works with any test runner: `await using etcd = await startEtcd()` stops it when the scope ends.
 * Whatever happens, what it started is gone when the process ends: local processes and their data
 * by this process's exit handler and a watchdog, containers by Testcontainers' Ryuk (or, where Ryuk
 * is disabled, by removing containers labelled {@link CONTAINER_LABEL}).
 *
 * @example
 * ```ts
 * await using etcd = await startEtcd();
 * const election = new EtcdElection({ nodeId: 'a', nodeAddress: '127.0.0.1:1', endpoints: [...etcd.endpoints] });
 * ```
 */
export async function startEtcd(options: StartEtcdOptions = {}): Promise<EtcdHandle> {
  checkOptions(options);
  options.signal?.throwIfAborted();
  const env = process.env;
  const provider = options.provider ?? (endpointsFromEnv(env) ? 'external' : providerFromEnv(env));
  if (options.tls && provider !== 'local') {
    // Anything else would quietly run the test against plaintext, or wherever the environment points.
    throw new ValidationError(
      'tls',
      "is supported for local etcd processes only: start this etcd with provider 'local'",
    );
  }
  const local = () => startLocalEtcd(1, options);
  switch (provider) {
    case 'external':
      return abortable(externalEtcd(endpointsFromEnv(env), options), options.signal);
    case 'container':
      return containerEtcd(options);
    case 'local':
      return local();
    case undefined: {
      const runtime = await abortable(checkContainerRuntime(), options.signal);
      if (runtime.available) return startEtcdContainer(runtime, options);
      try {
        return await local();
      } catch (error) {
        if (!(error instanceof NoEtcdError)) throw error;
        throw new NoEtcdError(`No container engine (${runtime.reason}). ${error.reason}`, { cause: error });
      }
    }
  }
}
