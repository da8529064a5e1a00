import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const INSTALL_HINT =
  'promtool is needed to test the alerting rules and the dashboard: apt-get install prometheus (Debian ships promtool in it), or put promtool on PATH';

/**
 * Runs `promtool <args>`; resolves with what it printed, rejects with it when it fails. promtool is
 * required: without it this fails with an install hint (the tests never skip).
 */
export async function promtool(...args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run('promtool', args, { timeout: 60_000 });
    return `${stdout}${stderr}`;
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (failure.code === 'ENOENT') throw new Error(INSTALL_HINT);
    throw new Error(`promtool ${args.join(' ')} failed:\n${failure.stdout ?? ''}${failure.stderr ?? ''}`);
  }
}
