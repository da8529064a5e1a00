/**
 * The alerting rules cannot rot: every metric (and label value) they select is exported by a running
 * `ztap agent` from its first scrape on.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { uniqueCluster, useEtcd, within } from '../support/etcd.ts';
import { ZtapProcess } from '../support/ztap.ts';
import { samplesOf } from './exposition.ts';
import { selectorsInRules } from './rules.ts';

const etcd = useEtcd();
const running: ZtapProcess[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((process) => process.kill()));
});

describe('the metrics the alerting rules use', () => {
  it('are all exported by a running agent, every label value they match included', async () => {
    const agent = new ZtapProcess([
      '--endpoints',
      etcd.endpoints.join(','),
      '--cluster',
      uniqueCluster('rules-metrics'),
      '--json',
      'agent',
      '--id',
      'm1',
      '--address',
      '127.0.0.1:9000',
      '--listen',
      '0',
      '--initial-leadership',
      '0',
    ]);
    running.push(agent);
    const { port } = await within(
      agent.json<{ event: string; port: number }>((line) => line.event === 'listening'),
    );
    const samples = samplesOf(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());

    const selectors = selectorsInRules();
    expect(selectors.length).toBeGreaterThan(0);
    for (const { metric, matchers } of selectors) {
      const series = samples.filter((sample) => sample.name === metric);
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
