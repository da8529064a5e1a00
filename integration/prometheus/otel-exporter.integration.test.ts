/**
 * One election on a real etcd, measured twice: by @ztap/cluster-metrics (prom-client) and by
 * @ztap/cluster-otel through OpenTelemetry's Prometheus exporter, scraped over HTTP on loopback. Both
 * expositions must carry the same metric names, types and label sets, so one dashboard and one set of
 * alert rules serve either stack.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { EtcdElection, EtcdPolicySync } from '@ztap/cluster-etcd';
import { registerClusterMetrics } from '@ztap/cluster-metrics';
import { registerClusterInstruments } from '@ztap/cluster-otel';
import { eventually, type Sample, samplesOf, typesOf } from '@ztap/testkit';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { testNodeOptions, uniqueCluster, useEtcd } from '../support/etcd.ts';

const etcd = useEtcd();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Serves the exporter's /metrics on a free loopback port. */
async function serve(exporter: PrometheusExporter): Promise<string> {
  const server: Server = createServer((request, response) =>
    exporter.getMetricsRequestHandler(request, response),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
}

/** Our samples, each as `name{label="value",...}` without the OpenTelemetry scope labels, sorted. */
function seriesOf(samples: readonly Sample[]): string[] {
  return samples
    .filter((sample) => sample.name.startsWith('ztap_'))
    .map(({ name, labels }) => {
      const own = Object.entries(labels)
        .filter(([label]) => !label.startsWith('otel_scope_'))
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([label, value]) => `${label}="${value}"`);
      return `${name}{${own.join(',')}}`;
    })
    .sort();
}

const valueIn = (samples: readonly Sample[], series: string) =>
  samples.find((sample) => seriesOf([sample])[0] === series)?.value;

describe('@ztap/cluster-otel through the OpenTelemetry Prometheus exporter', () => {
  it('exports what @ztap/cluster-metrics exports: the same names, types and label sets', async () => {
    const election = new EtcdElection(testNodeOptions(etcd, 'otel-1', uniqueCluster('otel')));
    const policies = new EtcdPolicySync(election);
    const registry = new Registry();
    const promMetrics = registerClusterMetrics(election, { registry, policies });
    const exporter = new PrometheusExporter({ preventServerStart: true });
    const meterProvider = new MeterProvider({ readers: [exporter] });
    const instruments = registerClusterInstruments(election, { meterProvider, policies });
    cleanups.push(async () => {
      await promMetrics.dispose();
      await instruments.dispose();
      await election.stop();
      await meterProvider.shutdown();
    });
    const url = await serve(exporter);

    await election.start();
    const { term } = await election.waitForLeadership();
    // A confirmed heartbeat (the histogram has points from then on) and a policy version to observe.
    await new Promise<void>((resolve) => {
      const heartbeats = election.telemetry.onHeartbeat((heartbeat) => {
        if (!heartbeat.ok) return;
        heartbeats.dispose();
        resolve();
      });
    });
    const web = await policies.syncPolicy('web', 'allow: [80]\n');
    const scrape = async () => (await fetch(url)).text();
    await eventually(
      async () => (await scrape()).includes('ztap_cluster_policy_version{policy="web"'),
      10_000,
      'the policy version in the OpenTelemetry scrape',
    );

    const otelText = await scrape();
    const promText = await registry.metrics();
    const ours = (types: Map<string, string>) =>
      new Map([...types].filter(([name]) => name.startsWith('ztap_')));
    expect(ours(typesOf(otelText))).toEqual(ours(typesOf(promText)));
    const otel = samplesOf(otelText);
    const prom = samplesOf(promText);
    expect(seriesOf(otel)).toEqual(seriesOf(prom));

    // The values that cannot move between the two scrapes agree too.
    for (const series of [
      'ztap_cluster_is_leader{node="otel-1"}',
      'ztap_cluster_term{}',
      'ztap_cluster_nodes_total{state="healthy"}',
      'ztap_cluster_node_joins_total{}',
      'ztap_cluster_leader_elections_total{}',
      'ztap_cluster_policy_version{policy="web"}',
    ]) {
      expect(valueIn(otel, series), series).toBe(valueIn(prom, series));
    }
    expect(valueIn(otel, 'ztap_cluster_term{}')).toBe(term);
    expect(valueIn(otel, 'ztap_cluster_policy_version{policy="web"}')).toBe(web.version);
    // Every series names the instrumentation scope: this package, at its version.
    const scoped = otel.filter((sample) => sample.name.startsWith('ztap_'));
    expect(new Set(scoped.map((sample) => sample.labels.otel_scope_name))).toEqual(
      new Set(['@ztap/cluster-otel']),
    );
  });
});
