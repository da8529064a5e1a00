import type { NodeMetadata } from '@ztap/cluster';
import { DEFAULT_ENDPOINTS } from '@ztap/cluster-etcd';
import { UsageError } from './errors.ts';

/** The options every command shares (see `ztap --help`); unset unless given as flags. */
export interface GlobalOptions {
  readonly endpoints?: string;
  readonly cluster?: string;
  readonly prefix?: string;
  readonly cacert?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly user?: string;
  readonly timeout?: string;
  readonly output?: string;
  readonly json?: boolean;
  readonly color?: boolean;
}

/** etcdctl's default endpoint, and the library's. */
export const DEFAULT_ENDPOINT = DEFAULT_ENDPOINTS[0] as string;
export const DEFAULT_TIMEOUT = '5s';

/** Repeated `--meta key=value` into metadata; the value may contain `=`. */
export function parseMetadata(pairs: readonly string[]): NodeMetadata {
  const entries: [string, string][] = [];
  for (const pair of pairs) {
    const separator = pair.indexOf('=');
    if (separator <= 0) throw new UsageError(`--meta must be key=value (got ${JSON.stringify(pair)})`);
    entries.push([pair.slice(0, separator), pair.slice(separator + 1)]);
  }
  // fromEntries keeps a "__proto__" key as a key (an assignment would set the prototype instead).
  return Object.fromEntries(entries);
}

export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
