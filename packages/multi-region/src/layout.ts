import { ValidationError } from '@ztap/cluster';

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/** Checks a key prefix and gives it its trailing `/` (so `a` never matches the keys of `ab`). */
export function checkPrefix(field: string, prefix: unknown): string {
  if (typeof prefix !== 'string' || prefix.length === 0 || prefix === '/' || !prefix.startsWith('/'))
    throw new ValidationError(field, 'must be a key prefix starting with "/" other than "/" itself');
  if (CONTROL_CHARACTERS.test(prefix))
    throw new ValidationError(field, 'must not contain control characters');
  return prefix.endsWith('/') ? prefix : `${prefix}/`;
}

/** The key prefixes a multi-region cluster named `cluster` uses unless told otherwise. */
export function defaultPrefixes(cluster: string): { regional: string; global: string; replica: string } {
  return {
    regional: `/ztap/clusters/${cluster}/`,
    global: `/ztap/global/${cluster}/`,
    replica: `/ztap/replicas/${cluster}/`,
  };
}

/**
 * What this package reads and writes in the global store, under the global election's prefix:
 * `policies/<name>` is the layout `EtcdPolicySync` writes (documented in docs/architecture.md, so
 * `ztap policy push --prefix <global prefix>` writes global policies too); `regions/<name>` is the
 * directory of regions that `ztap region status` reads.
 */
export class GlobalLayout {
  readonly prefix: string;
  readonly policiesPrefix: string;
  readonly regionsPrefix: string;

  constructor(prefix: string) {
    this.prefix = prefix;
    this.policiesPrefix = `${prefix}policies/`;
    this.regionsPrefix = `${prefix}regions/`;
  }

  regionKey(region: string): string {
    return `${this.regionsPrefix}${region}`;
  }
}

/**
 * What a region keeps of the global store, in its own etcd, apart from its cluster prefix (so the
 * elections' watch never carries it, and a region's own policies never collide with it):
 * `policies/<name>` holds each replicated policy, `checkpoint` how far replication has come.
 */
export class ReplicaLayout {
  readonly prefix: string;
  readonly policiesPrefix: string;
  readonly checkpointKey: string;

  constructor(prefix: string) {
    this.prefix = prefix;
    this.policiesPrefix = `${prefix}policies/`;
    this.checkpointKey = `${prefix}checkpoint`;
  }

  policyKey(name: string): string {
    return `${this.policiesPrefix}${name}`;
  }
}

/** The smallest key above every key with this prefix: etcd's `range_end` for a prefix. */
export function rangeEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix);
  for (let index = end.length - 1; index >= 0; index--) {
    if ((end[index] as number) < 0xff) {
      end[index] = (end[index] as number) + 1;
      return end.subarray(0, index + 1);
    }
  }
  return Buffer.from([0]);
}
