/**
 * The alerting rules in deploy/prometheus are valid and behave as their promtool unit tests say.
 * promtool is required: without it this fails with an install hint (it never skips).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { RULES_FILE, RULES_TEST_FILE, selectorsInRules } from './rules.ts';

const run = promisify(execFile);
const INSTALL_HINT =
  'promtool is needed to test the alerting rules: apt-get install prometheus (Debian ships promtool in it), or put promtool on PATH';

async function promtool(...args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run('promtool', args, { timeout: 60_000 });
    return `${stdout}${stderr}`;
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (failure.code === 'ENOENT') throw new Error(INSTALL_HINT);
    throw new Error(`promtool ${args.join(' ')} failed:\n${failure.stdout ?? ''}${failure.stderr ?? ''}`);
  }
}

describe('deploy/prometheus/ztap-cluster.rules.yml', () => {
  it('passes promtool check rules', async () => {
    expect(await promtool('check', 'rules', RULES_FILE)).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('passes its promtool unit tests (each alert firing and not firing)', async () => {
    expect(await promtool('test', 'rules', RULES_TEST_FILE)).toContain('SUCCESS');
  });

  it('uses only metrics of ours, found by the selector parser the scrape test relies on', () => {
    const metrics = new Set(selectorsInRules().map((selector) => selector.metric));
    expect([...metrics].sort()).toEqual([
      'ztap_cluster_etcd_errors_total',
      'ztap_cluster_heartbeat_failures_total',
      'ztap_cluster_heartbeat_latency_seconds_bucket',
      'ztap_cluster_is_leader',
      'ztap_cluster_leader_changes_total',
      'ztap_cluster_leadership_losses_total',
      'ztap_cluster_nodes_total',
      'ztap_cluster_policy_sync_failures_total',
    ]);
  });
});
