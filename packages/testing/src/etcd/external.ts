import { ValidationError } from '@ztap/cluster';
import { EtcdStartError, NoEtcdError } from '../errors.ts';
import { etcdVersion } from './etcd-api.ts';
import type { EtcdHandle, StartEtcdOptions } from './types.ts';

const PROBE_TIMEOUT_MS = 5_000;

/** Its version, or why it does not answer as an etcd. */
async function probe(endpoint: string): Promise<{ version: string } | { failure: string }> {
  try {
    return { version: await etcdVersion(endpoint, PROBE_TIMEOUT_MS) };
  } catch (error) {
    return { failure: `${endpoint}: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/**
 * The `'external'` provider: an etcd someone else runs at `endpoints`. Every plain-HTTP endpoint must
 * answer as an etcd within a few seconds, so a wrong address fails here rather than deep in a test;
 * `https://` endpoints are not probed (that needs the client's certificates), and their version is
 * `unknown`. `stop()` leaves it running.
 */
export async function externalEtcd(
  endpoints: readonly string[] | undefined,
  options: StartEtcdOptions,
): Promise<EtcdHandle> {
  if (!endpoints) throw new NoEtcdError('The external provider needs ZTAP_TEST_ETCD_ENDPOINTS.');
  if (options.extraArgs?.length) {
    // Running without them would quietly test something else (e.g. no quota to exhaust).
    throw new ValidationError(
      'extraArgs',
      `cannot be given to an external etcd (${options.extraArgs.join(' ')}); start this etcd with provider 'local'`,
    );
  }
  const plain = endpoints.filter((endpoint) => endpoint.startsWith('http:'));
  const probes = await Promise.all(plain.map(probe));
  const failures = probes.flatMap((result) => ('failure' in result ? [result.failure] : []));
  if (failures.length > 0) {
    throw new EtcdStartError(
      `ZTAP_TEST_ETCD_ENDPOINTS names an etcd that does not answer: ${failures.join('; ')}`,
    );
  }
  const version = probes.find((result) => 'version' in result)?.version ?? 'unknown';
  const stop = () => Promise.resolve();
  return {
    endpoints: [...endpoints],
    provider: 'external',
    version,
    description: `external etcd ${version} at ${endpoints.join(', ')}`,
    members: [],
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
