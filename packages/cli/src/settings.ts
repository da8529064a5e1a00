/**
 * Where each global setting may come from besides its flag, in order of precedence: ztap's own
 * variable first, then the one etcdctl reads (etcdctl maps every flag to `ETCDCTL_<FLAG>`), so a shell
 * set up for etcdctl works as it is. The table in docs/cli.md says the same.
 */
export const ENVIRONMENT = Object.freeze({
  endpoints: ['ZTAP_ETCD_ENDPOINTS', 'ETCDCTL_ENDPOINTS'],
  cacert: ['ZTAP_ETCD_CACERT', 'ETCDCTL_CACERT'],
  cert: ['ZTAP_ETCD_CERT', 'ETCDCTL_CERT'],
  key: ['ZTAP_ETCD_KEY', 'ETCDCTL_KEY'],
  user: ['ZTAP_ETCD_USER', 'ETCDCTL_USER'],
  password: ['ZTAP_ETCD_PASSWORD', 'ETCDCTL_PASSWORD'],
  // etcdctl's --command-timeout bounds a short command as a whole, as --timeout does here.
  timeout: ['ZTAP_ETCD_TIMEOUT', 'ETCDCTL_COMMAND_TIMEOUT'],
  cluster: ['ZTAP_CLUSTER'],
  prefix: ['ZTAP_PREFIX'],
} as const);

/** A setting's text and where it came from, as the user would name it: `--timeout`, `ETCDCTL_USER`. */
export interface Setting {
  readonly value: string;
  readonly source: string;
}

/**
 * The flag if it was given, else the first of `variables` that is set and not empty (an empty
 * variable is how shells and compose files say "unset"), else undefined.
 */
export function setting(
  flag: { readonly name: string; readonly value: string | undefined },
  env: Readonly<Record<string, string | undefined>>,
  variables: readonly string[],
): Setting | undefined {
  if (flag.value !== undefined) return { value: flag.value, source: flag.name };
  for (const variable of variables) {
    const value = env[variable];
    if (value !== undefined && value !== '') return { value, source: variable };
  }
  return undefined;
}
