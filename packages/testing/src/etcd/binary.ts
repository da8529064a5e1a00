import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { EtcdStartError, NoEtcdError } from '../errors.ts';
import { etcdChildEnv } from './child-env.ts';

/** An etcd binary and the version it reports. */
export interface EtcdBinary {
  readonly path: string;
  /** e.g. `3.4.23`. */
  readonly version: string;
}

const isExecutableFile = async (path: string): Promise<boolean> => {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
};

const versions = new Map<string, Promise<string>>();

/** The version `etcd --version` prints (cached per path). */
function etcdVersion(path: string): Promise<string> {
  let version = versions.get(path);
  if (!version) {
    version = (async () => {
      let stdout: string;
      try {
        ({ stdout } = await promisify(execFile)(path, ['--version'], {
          env: etcdChildEnv(process.env),
          timeout: 10_000,
        }));
      } catch (error) {
        throw new EtcdStartError(`${path} --version failed: ${error}`, {}, { cause: error });
      }
      const match = /etcd Version:\s*(\S+)/.exec(stdout);
      if (!match?.[1])
        throw new EtcdStartError(`${path} --version printed no etcd version: ${JSON.stringify(stdout)}`);
      return match[1];
    })();
    version.catch(() => versions.delete(path));
    versions.set(path, version);
  }
  return version;
}

/**
 * The etcd binary to run: `ETCD_BIN` if set (it must then be an executable file: a wrong explicit
 * setting fails rather than quietly using another etcd), else the first `etcd` on `PATH`. Throws an
 * {@link NoEtcdError} when there is none.
 */
export async function resolveEtcdBinary(env: NodeJS.ProcessEnv = process.env): Promise<EtcdBinary> {
  const explicit = env.ETCD_BIN?.trim();
  let path: string | undefined;
  if (explicit) {
    if (!(await isExecutableFile(explicit))) {
      throw new NoEtcdError(`ETCD_BIN=${explicit} is not an executable file.`);
    }
    path = explicit;
  } else {
    for (const dir of (env.PATH ?? '').split(delimiter)) {
      if (dir && (await isExecutableFile(join(dir, 'etcd')))) {
        path = join(dir, 'etcd');
        break;
      }
    }
    if (!path) throw new NoEtcdError('No etcd binary: ETCD_BIN is not set and there is no etcd on PATH.');
  }
  return { path, version: await etcdVersion(path) };
}
