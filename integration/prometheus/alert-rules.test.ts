/**
 * The alerting rules in deploy/prometheus are valid and behave as their promtool unit tests say.
 * promtool is required: without it this fails with an install hint (it never skips).
 */
import { describe, expect, it } from 'vitest';
import { promtool } from './promtool.ts';
import { RULES_FILE, RULES_TEST_FILE, selectorsInRules } from './rules.ts';

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
