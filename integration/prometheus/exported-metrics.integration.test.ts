/**
 * The alerting rules and the Grafana dashboard cannot rot: every metric (and label value) they select
 * is exported by a running `ztap agent` (of a cluster with a policy, so there is a version to export).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Sample, samplesOf } from '@ztap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, uniqueCluster, useEtcd, within } from '../support/etcd.ts';
import { ZtapProcess, ztap } from '../support/ztap.ts';
import { dashboardQueries, loadDashboard, metricsIn, variableQueries } from './grafana.ts';
import { selectorsInRules } from './rules.ts';

const etcd = useEtcd();
let agent: ZtapProcess | undefined;
/** The agent's first scrape. */
let samples: Sample[];

let directory: string | undefined;

beforeAll(async () => {
  const target = ['--endpoints', etcd.endpoints.join(','), '--cluster', uniqueCluster('exported-metrics')];
  directory = await mkdtemp(join(tmpdir(), 'ztap-exported-'));
  const policy = join(directory, 'web.yaml');
  await writeFile(policy, 'allow: [443]\n');
  const pushed = await ztap([...target, 'policy', 'push', 'web', policy]);
  if (pushed.code !== 0) throw new Error(`ztap policy push failed: ${pushed.stderr}`);
  agent = new ZtapProcess([
    ...target,
    '--json',
    'agent',
    ...['--id', 'm1', '--address', '127.0.0.1:9000', '--listen', '0', '--initial-leadership', '0'],
  ]);
  const { port } = await within(
    agent.json<{ event: string; port: number }>((line) => line.event === 'listening'),
  );
  const scrape = async () => samplesOf(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
  samples = await scrape();
  // The policy versions come from a subscription that may answer after the first scrape.
  await eventually(async () => {
    samples = await scrape();
    return samples.some((sample) => sample.name === 'ztap_cluster_policy_version');
  });
});
afterAll(async () => {
  await agent?.kill();
  if (directory) await rm(directory, { recursive: true, force: true });
});

const exported = (metric: string) => samples.filter((sample) => sample.name === metric);

describe('the metrics the alerting rules use', () => {
  it('are all exported by a running agent, every label value they match included', () => {
    const selectors = selectorsInRules();
    expect(selectors.length).toBeGreaterThan(0);
    for (const { metric, matchers } of selectors) {
      const series = exported(metric);
      expect(series.length, `${metric} is exported`).toBeGreaterThan(0);
      for (const { label, op, value } of matchers) {
        // Labels the scrape adds (cluster, instance) are not the exporter's to provide.
        if (!series.some((sample) => label in sample.labels)) continue;
        const wanted = op === '=' ? [value] : value.split('|');
        for (const labelValue of wanted) {
          expect(
            series.some((sample) => sample.labels[label] === labelValue),
            `${metric}{${label}="${labelValue}"} is exported`,
          ).toBe(true);
        }
      }
    }
  });
});

describe('the metrics the Grafana dashboard uses', () => {
  it('are all exported by a running agent, in every panel and template variable', () => {
    const dashboard = loadDashboard();
    const uses = [
      ...dashboardQueries(dashboard).map(({ panel, expr }) => ({ where: `panel "${panel.title}"`, expr })),
      ...variableQueries(dashboard).map((expr) => ({ where: 'a template variable', expr })),
    ];
    expect(uses.length).toBeGreaterThan(0);
    for (const { where, expr } of uses) {
      for (const metric of metricsIn(expr)) {
        // A histogram is exported as its _bucket, _sum and _count series.
        const series = [...exported(metric), ...exported(`${metric}_bucket`)];
        expect(series.length, `${metric} (${where}) is exported`).toBeGreaterThan(0);
      }
    }
  });
});
