import { startEtcdContainer } from './container.ts';
import { checkContainerRuntime } from './container-runtime.ts';
import { EtcdUnavailableError } from './errors.ts';
import { startEtcdCluster } from './local-cluster.ts';
import type { EtcdHandle, EtcdProvider, StartEtcdOptions } from './types.ts';

const PROVIDERS: readonly EtcdProvider[] = ['container', 'local', 'external'];

/** The endpoints in `ZTAP_TEST_ETCD_ENDPOINTS` (comma-separated), or `undefined` when it is unset or blank. */
function endpointsFromEnv(env: NodeJS.ProcessEnv): string[] | undefined {
  const endpoints = (env.ZTAP_TEST_ETCD_ENDPOINTS ?? '')
    .split(',')
    .map((endpoint) => endpoint.trim())
    .filter((endpoint) => endpoint !== '');
  for (const endpoint of endpoints) {
    if (!URL.canParse(endpoint) || !/^https?:$/.test(new URL(endpoint).protocol)) {
      throw new Error(`ZTAP_TEST_ETCD_ENDPOINTS: ${JSON.stringify(endpoint)} is not an http(s):// URL`);
    }
  }
  return endpoints.length > 0 ? endpoints : undefined;
}

/** The provider named by `ZTAP_TEST_ETCD_PROVIDER`, or `undefined` when it is unset or blank. */
function providerFromEnv(env: NodeJS.ProcessEnv): EtcdProvider | undefined {
  const name = env.ZTAP_TEST_ETCD_PROVIDER?.trim();
  if (!name) return undefined;
  if (!(PROVIDERS as readonly string[]).includes(name)) {
    throw new Error(`ZTAP_TEST_ETCD_PROVIDER=${name}: expected one of ${PROVIDERS.join(', ')}`);
  }
  return name as EtcdProvider;
}

function externalEtcd(options: StartEtcdOptions): EtcdHandle {
  const endpoints = endpointsFromEnv(process.env);
  if (!endpoints) throw new EtcdUnavailableError('The external provider needs ZTAP_TEST_ETCD_ENDPOINTS.');
  if (options.extraArgs?.length) {
    // Running without them would quietly test something else (e.g. no quota to exhaust).
    throw new Error(
      `An external etcd cannot take extraArgs (${options.extraArgs.join(' ')}); start this test with provider 'local'.`,
    );
  }
  const stop = () => Promise.resolve();
  return {
    endpoints,
    provider: 'external',
    description: `external etcd at ${endpoints.join(', ')}`,
    members: [],
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

async function containerEtcd(options: StartEtcdOptions): Promise<EtcdHandle> {
  const runtime = await checkContainerRuntime();
  if (!runtime.available)
    throw new EtcdUnavailableError(`The container provider needs a container engine: ${runtime.reason}.`);
  return startEtcdContainer(runtime, options);
}

/**
 * Starts an etcd for a test, from wherever this machine has one, and resolves once it is healthy:
 *
 * 1. `options.provider`, if given;
 * 2. else `'external'` if `ZTAP_TEST_ETCD_ENDPOINTS` is set (comma-separated URLs; `stop()` does nothing);
 * 3. else `ZTAP_TEST_ETCD_PROVIDER` (`container` | `local` | `external`), if set;
 * 4. else a container (image `ZTAP_TEST_ETCD_IMAGE`) when a container engine answers within a few
 *    seconds, else a local `etcd` binary (`ETCD_BIN`, else `PATH`) on free loopback ports.
 *
 * `tls` (client port over TLS) needs provider `'local'`.
 *
 * A provider that was asked for but cannot work fails; so does finding no etcd at all, with an
 * {@link EtcdUnavailableError} whose message says how to install or point to one. It never returns
 * something that lets a test skip.
 */
export async function startEtcd(options: StartEtcdOptions = {}): Promise<EtcdHandle> {
  const env = process.env;
  const provider = options.provider ?? (endpointsFromEnv(env) ? 'external' : providerFromEnv(env));
  if (options.tls && provider !== 'local') {
    // Anything else would quietly run the test against plaintext, or wherever the environment points.
    throw new Error("TLS is supported for local etcd processes only: start this test with provider 'local'.");
  }
  const local = () => startEtcdCluster(1, options);
  switch (provider) {
    case 'external':
      return externalEtcd(options);
    case 'container':
      return containerEtcd(options);
    case 'local':
      return local();
    case undefined: {
      const runtime = await checkContainerRuntime();
      if (runtime.available) return startEtcdContainer(runtime, options);
      try {
        return await local();
      } catch (error) {
        if (!(error instanceof EtcdUnavailableError)) throw error;
        throw new EtcdUnavailableError(`No container engine (${runtime.reason}). ${error.reason}`);
      }
    }
  }
}
