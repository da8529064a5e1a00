import { readFileSync } from 'node:fs';
import { metrics } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  type MetricData,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { HEARTBEAT_LATENCY_BUCKETS, type LeaderElection } from '@ztap/cluster';
import * as memory from '@ztap/cluster-memory';
import { ManualClock } from '@ztap/cluster-testing';
import { describeMetricsConformance } from '@ztap/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerClusterInstruments } from '../src/index.ts';

const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  name: string;
  version: string;
};

/** A MeterProvider whose every collection a test triggers, read through the SDK's in-memory exporter. */
class TestMeters {
  // Each exports only when flushed: the interval is longer than any test.
  readonly #cumulative = TestMeters.#reader(AggregationTemporality.CUMULATIVE);
  // The SDK keeps exporting an attribute set a callback no longer observes to cumulative readers
  // (opentelemetry-js#4096); a delta reader shows what the callbacks observe.
  readonly #delta = TestMeters.#reader(AggregationTemporality.DELTA);
  readonly provider = new MeterProvider({ readers: [this.#cumulative.reader, this.#delta.reader] });

  static #reader(temporality: AggregationTemporality) {
    const exporter = new InMemoryMetricExporter(temporality);
    return {
      exporter,
      reader: new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 }),
    };
  }

  /** One cumulative collection: every instrument of our meter by name, and the scopes exported. */
  async collect(via = this.#cumulative) {
    via.exporter.reset();
    await via.reader.forceFlush();
    const scopes = via.exporter.getMetrics().flatMap((resource) => resource.scopeMetrics);
    const ours = scopes.filter((scope) => scope.scope.name === manifest.name);
    const instruments = new Map(
      ours.flatMap((scope) => scope.metrics).map((metric) => [metric.descriptor.name, metric]),
    );
    return { scopes: scopes.map((scope) => scope.scope), instruments };
  }

  /** What the gauges' callback observes in one collection, and nothing it observed before. */
  async observed(): Promise<Map<string, MetricData>> {
    // A delta reader gets what every collection since its last one observed, the other reader's too.
    await this.collect(this.#delta);
    return (await this.collect(this.#delta)).instruments;
  }

  /**
   * A sample in Prometheus terms, as the Prometheus exporter would name it: the instrument
   * `ztap.cluster.<name>` (counters without `_total`), a histogram's `_count`.
   */
  async sample(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
    const [, rest = '', suffix] = /^ztap_cluster_(\w+?)(_total|_count)?$/.exec(name) ?? [];
    const candidates = [`ztap.cluster.${rest}${suffix ?? ''}`, `ztap.cluster.${rest}`];
    const { instruments } = await this.collect();
    const instrument = candidates.map((candidate) => instruments.get(candidate)).find(Boolean);
    if (!instrument) return undefined;
    if (instrument.dataPointType === DataPointType.HISTOGRAM) return instrument.dataPoints[0]?.value.count;
    const points =
      instrument.dataPointType === DataPointType.GAUGE
        ? ((await this.observed()).get(instrument.descriptor.name)?.dataPoints ?? [])
        : instrument.dataPoints;
    const wanted = JSON.stringify(Object.entries(labels).sort());
    const point = points.find((one) => JSON.stringify(Object.entries(one.attributes).sort()) === wanted);
    return point?.value as number | undefined;
  }
}

describeMetricsConformance('OpenTelemetry', memory, (election, options) => {
  const meters = new TestMeters();
  const instruments = registerClusterInstruments(election, { meterProvider: meters.provider, ...options });
  return {
    sample: (name, labels) => meters.sample(name, labels),
    instrumentPolicySync: (policies) => instruments.instrumentPolicySync(policies),
    dispose: async () => {
      await instruments.dispose();
      await meters.provider.shutdown();
    },
  };
});

describe('registerClusterInstruments', () => {
  let clock: ManualClock;
  let elections: LeaderElection[];
  let meters: TestMeters;
  beforeEach(() => {
    clock = new ManualClock();
    elections = [];
    meters = new TestMeters();
  });
  afterEach(async () => {
    await Promise.all(elections.map((election) => election.stop()));
    await meters.provider.shutdown();
  });
  const hub = () => new memory.MemoryHub({ clock });
  const node = (nodeId: string, on = hub()) => {
    const election = new memory.InMemoryElection({
      nodeId,
      nodeAddress: '127.0.0.1:1',
      heartbeatInterval: 100,
      electionTimeout: 300,
      initialLeadership: 0,
      clock,
      hub: on,
    });
    elections.push(election);
    return election;
  };

  it("creates its instruments on the given provider, under this package's name and version", async () => {
    const a = node('a');
    const instruments = registerClusterInstruments(a, { meterProvider: meters.provider });
    await a.start();
    await clock.advance(100); // the histogram has a point from its first heartbeat on
    const { scopes, instruments: collected } = await meters.collect();
    expect(scopes).toEqual([
      expect.objectContaining({ name: '@ztap/cluster-otel', version: manifest.version }),
    ]);
    const kinds = Object.fromEntries(
      [...collected].map(([name, metric]) => [
        name,
        [DataPointType[metric.dataPointType], metric.descriptor.unit],
      ]),
    );
    expect(kinds).toEqual({
      'ztap.cluster.nodes_total': ['GAUGE', '{node}'],
      'ztap.cluster.is_leader': ['GAUGE', ''],
      'ztap.cluster.term': ['GAUGE', ''],
      'ztap.cluster.leader_elections': ['SUM', '{election}'],
      'ztap.cluster.leader_changes': ['SUM', '{change}'],
      'ztap.cluster.node_joins': ['SUM', '{node}'],
      'ztap.cluster.heartbeat_latency_seconds': ['HISTOGRAM', 's'],
      'ztap.cluster.heartbeat_failures': ['SUM', '{heartbeat}'],
      'ztap.cluster.leadership_losses': ['SUM', '{leadership}'],
      'ztap.cluster.watch_resyncs': ['SUM', '{resync}'],
      'ztap.cluster.etcd_errors': ['SUM', '{error}'],
      'ztap.cluster.policy_sync_failures': ['SUM', '{write}'],
      'ztap.cluster.drains': ['SUM', '{drain}'],
    });
    const heartbeats = collected.get('ztap.cluster.heartbeat_latency_seconds');
    if (heartbeats?.dataPointType !== DataPointType.HISTOGRAM) throw new Error('no heartbeat histogram');
    expect(heartbeats.dataPoints[0]?.value.buckets.boundaries).toEqual(HEARTBEAT_LATENCY_BUCKETS);
    await instruments.dispose();
  });

  it('uses the global MeterProvider when given none', async () => {
    metrics.setGlobalMeterProvider(meters.provider);
    try {
      const instruments = registerClusterInstruments(node('a'));
      expect(await meters.sample('ztap_cluster_is_leader', { node: 'a' })).toBe(0);
      await instruments.dispose();
    } finally {
      metrics.disable();
    }
  });

  it('stops observing and counting once disposed (twice is fine); the counters keep their totals', async () => {
    const shared = hub();
    const a = node('a', shared);
    const instruments = registerClusterInstruments(a, { meterProvider: meters.provider });
    await a.start();
    expect(await meters.sample('ztap_cluster_node_joins_total')).toBe(1);
    await instruments[Symbol.asyncDispose]();
    await instruments.dispose();
    await node('b', shared).start();
    await clock.advance(250);
    expect(await meters.sample('ztap_cluster_node_joins_total')).toBe(1);
    expect(await meters.sample('ztap_cluster_is_leader', { node: 'a' })).toBeUndefined();
  });
});
