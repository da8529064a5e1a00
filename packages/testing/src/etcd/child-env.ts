/**
 * The environment for an etcd process: ours minus every `ETCD_*` variable. etcd reads those as flags and
 * refuses to start when one names a flag we also pass ("conflicting environment variable ... is shadowed
 * by corresponding command-line flag"); `ETCD_BIN`, which only tells us where etcd is, would be reported
 * as unrecognized.
 */
export function etcdChildEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('ETCD_')));
}
