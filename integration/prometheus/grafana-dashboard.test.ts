/**
 * deploy/grafana/ztap-cluster.json is a Grafana dashboard whose every query is valid PromQL (checked
 * by promtool) over our metrics. That each of those metrics is exported by a running agent is
 * checked in exported-metrics.integration.test.ts.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  asRecordingRules,
  dashboardQueries,
  loadDashboard,
  metricsIn,
  type Panel,
  panelsOf,
  substituteVariables,
  variableQueries,
} from './grafana.ts';
import { promtool } from './promtool.ts';

const dashboard = loadDashboard();
const dataPanels = panelsOf(dashboard).filter((panel) => panel.type !== 'row');
const directories: string[] = [];
afterAll(async () => {
  for (const directory of directories) await rm(directory, { recursive: true, force: true });
});

describe('deploy/grafana/ztap-cluster.json', () => {
  it('is a current Grafana dashboard with a Prometheus data source variable that every query uses', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    const variables = Object.fromEntries(
      dashboard.templating.list.map((variable) => [variable.name, variable]),
    );
    expect(variables.datasource).toMatchObject({ type: 'datasource', query: 'prometheus' });
    expect(variables.cluster).toMatchObject({ type: 'query' });
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a template
    const byVariable = { type: 'prometheus', uid: '${datasource}' };
    for (const variable of Object.values(variables).filter((one) => one.type === 'query'))
      expect(variable.datasource, variable.name).toEqual(byVariable);
    for (const panel of dataPanels) {
      expect(panel.datasource, panel.title).toEqual(byVariable);
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) expect(target.datasource, panel.title).toEqual(byVariable);
    }
  });

  it('has unique panel ids and no panels on top of each other', () => {
    const panels = panelsOf(dashboard);
    expect(new Set(panels.map((panel) => panel.id)).size).toBe(panels.length);
    const overlap = (a: Panel, b: Panel) =>
      a.gridPos.x < b.gridPos.x + b.gridPos.w &&
      b.gridPos.x < a.gridPos.x + a.gridPos.w &&
      a.gridPos.y < b.gridPos.y + b.gridPos.h &&
      b.gridPos.y < a.gridPos.y + a.gridPos.h;
    for (const [index, a] of panels.entries()) {
      for (const b of panels.slice(index + 1)) expect(overlap(a, b), `${a.title} / ${b.title}`).toBe(false);
      expect(a.gridPos.x + a.gridPos.w, a.title).toBeLessThanOrEqual(24);
    }
  });

  it('shows leader and term, leadership changes, nodes by state, heartbeats, etcd errors, policies and drains', () => {
    const used = new Set(dashboardQueries(dashboard).flatMap((query) => metricsIn(query.expr)));
    expect([...used].sort()).toEqual([
      'ztap_cluster_drains_total',
      'ztap_cluster_etcd_errors_total',
      'ztap_cluster_heartbeat_failures_total',
      'ztap_cluster_heartbeat_latency_seconds',
      'ztap_cluster_is_leader',
      'ztap_cluster_leader_changes_total',
      'ztap_cluster_leader_elections_total',
      'ztap_cluster_leadership_losses_total',
      'ztap_cluster_node_joins_total',
      'ztap_cluster_nodes_total',
      'ztap_cluster_policy_sync_failures_total',
      'ztap_cluster_policy_version',
      'ztap_cluster_term',
      'ztap_cluster_watch_resyncs_total',
    ]);
    expect(variableQueries(dashboard).flatMap(metricsIn)).toEqual([
      'ztap_cluster_is_leader',
      'ztap_cluster_is_leader',
    ]);
  });

  it('substitutes template variables as Grafana does before checking', () => {
    expect(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a template
      substituteVariables('rate(x{cluster=~"$cluster", instance=~"${instance}"}[$__rate_interval])'),
    ).toBe('rate(x{cluster=~".*", instance=~".*"}[5m])');
  });

  it('passes promtool check rules with every query as a recording rule', async () => {
    const queries = dashboardQueries(dashboard);
    const directory = await mkdtemp(join(tmpdir(), 'ztap-grafana-'));
    directories.push(directory);
    const rules = join(directory, 'dashboard.rules.yml');
    await writeFile(rules, asRecordingRules(queries));
    expect(await promtool('check', 'rules', rules)).toContain(`SUCCESS: ${queries.length} rules found`);
  });

  it('fails promtool on a query with a typo, so the check above can fail', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'ztap-grafana-'));
    directories.push(directory);
    const rules = join(directory, 'broken.rules.yml');
    const [first] = dashboardQueries(dashboard);
    if (!first) throw new Error('the dashboard has no query');
    await writeFile(rules, asRecordingRules([{ ...first, expr: `sum by (cluster (${first.expr})` }]));
    await expect(promtool('check', 'rules', rules)).rejects.toThrow(/promtool check rules .* failed/);
  });
});
