import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A clean environment for etcdctl: the v3 API and nothing of ours (no ETCD_* or ETCDCTL_* leaking in). */
const etcdctlEnv = () => ({ PATH: process.env.PATH ?? '', ETCDCTL_API: '3' });

const INSTALL_HINT = 'etcdctl is needed by these tests: apt-get install etcd-client (or put etcdctl on PATH)';

/** Runs `etcdctl --endpoints <endpoints> <args>` and returns its stdout; fails with a hint if missing. */
export async function etcdctl(endpoints: readonly string[], ...args: string[]): Promise<string> {
  try {
    const { stdout } = await run('etcdctl', [`--endpoints=${endpoints.join(',')}`, ...args], {
      env: etcdctlEnv(),
      timeout: 15_000,
    });
    return stdout;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(INSTALL_HINT);
    throw error;
  }
}

/** Revokes the lease of the only candidate of `cluster`, as an operator with etcdctl would. */
export async function revokeCandidateLease(endpoints: readonly string[], cluster: string): Promise<void> {
  const keys = await etcdctl(
    endpoints,
    'get',
    '--prefix',
    '--keys-only',
    `/ztap/clusters/${cluster}/election/`,
  );
  await etcdctl(endpoints, 'lease', 'revoke', keys.trim().split('/').at(-1) as string);
}

/**
 * `etcdctl elect -l <name>` observes an election and prints the leader's key and value, then keeps
 * watching; returns the first two lines and ends the process (by its PID).
 */
export function observeElection(
  endpoints: readonly string[],
  electionName: string,
): Promise<[string, string]> {
  return new Promise((resolve, reject) => {
    const child = spawn('etcdctl', [`--endpoints=${endpoints.join(',')}`, 'elect', '-l', electionName], {
      env: etcdctlEnv(),
    });
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`etcdctl elect -l printed no leader in 15 s (got ${JSON.stringify(output)})`));
    }, 15_000);
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(error.code === 'ENOENT' ? new Error(INSTALL_HINT) : error);
    });
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const lines = output.split('\n').filter(Boolean);
      if (lines.length >= 2) {
        clearTimeout(timer);
        child.kill('SIGTERM');
        resolve([lines[0] as string, lines[1] as string]);
      }
    });
  });
}
