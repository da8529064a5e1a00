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
import { HEARTBEAT_LATENCY_BUCKETS, isNotLeaderError } from '@ztap/cluster';
import { InMemoryElection, InMemoryPolicySync, MemoryHub } from '@ztap/cluster-memory';
import { registerClusterInstruments } from '@ztap/cluster-otel';
import { ManualClock, startStubbornWork } from '@ztap/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  name: string;
  version: string;
};

let clock: ManualClock;
let hub: MemoryHub;
let elections: InMemoryElection[];
let exporter: InMemoryMetricExporter;
let reader: PeriodicExportingMetricReader;
let gaugeExporter: InMemoryMetricExporter;
let gaugeReader: PeriodicExportingMetricReader;
let meterProvider: MeterProvider;
beforeEach(() => {
  clock = new ManualClock();
  hub = new MemoryHub({ clock });
  elections = [];
  // Each exports only when flushed: the interval is longer than any test.
  exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  // The SDK keeps exporting an attribute set a callback no longer observes to cumulative readers
  // (opentelemetry-js#4096); a delta reader shows exactly what the callbacks observed.
  gaugeExporter = new InMemoryMetricExporter(AggregationTemporality.DELTA);
  gaugeReader = new PeriodicExportingMetricReader({
    exporter: gaugeExporter,
    exportIntervalMillis: 3_600_000,
  });
  meterProvider = new MeterProvider({ readers: [reader, gaugeReader] });
});
afterEach(async () => {
  await Promise.all(elections.map((election) => election.stop()));
  await meterProvider.shutdown();
});

const node = (nodeId: string, options: { drainTimeout?: number } = {}) => {
  const election = new InMemoryElection({
    nodeId,
    nodeAddress: '127.0.0.1:1',
    heartbeatInterval: 100,
    electionTimeout: 300,
    initialLeadership: 0,
    clock,
    hub,
    ...options,
  });
  elections.push(election);
  return election;
};

/** One export through `via`: every instrument of our meter by name. */
async function collect(
  via: { exporter: InMemoryMetricExporter; reader: PeriodicExportingMetricReader } = { exporter, reader },
): Promise<Map<string, MetricData>> {
  via.exporter.reset();
  await via.reader.forceFlush();
  const scopes = via.exporter.getMetrics().flatMap((resource) => resource.scopeMetrics);
  const ours = scopes.filter((scope) => scope.scope.name === manifest.name);
  return new Map(ours.flatMap((scope) => scope.metrics).map((metric) => [metric.descriptor.name, metric]));
}

/** What the gauges' callback observes in one collection, and nothing it observed before. */
async function observed(): Promise<Map<string, MetricData>> {
  const delta = { exporter: gaugeExporter, reader: gaugeReader };
  // A delta reader gets what every collection since its last one observed, the other reader's too.
  await collect(delta);
  return collect(delta);
}

/** The value of instrument `name` at exactly `attributes` (a sum or gauge), or undefined if not exported. */
function pointValue(
  collected: Map<string, MetricData>,
  name: string,
  attributes: Record<string, string> = {},
): number | undefined {
  const metric = collected.get(name);
  if (!metric || metric.dataPointType === DataPointType.HISTOGRAM) return undefined;
  const point = metric.dataPoints.find(
    (candidate) => JSON.stringify(candidate.attributes) === JSON.stringify(attributes),
  );
  return point?.value as number | undefined;
}

function histogramOf(collected: Map<string, MetricData>, name: string) {
  const metric = collected.get(name);
  if (metric?.dataPointType !== DataPointType.HISTOGRAM) throw new Error(`${name} is not a histogram`);
  const [point] = metric.dataPoints;
  if (!point) throw new Error(`${name} has no data point`);
  return point.value;
}

describe('registerClusterInstruments', () => {
  it("creates the instruments on the given provider, under this package's name and version", async () => {
    const a = node('a');
    const instruments = registerClusterInstruments(a, { meterProvider });
    await a.start();
    await clock.advance(100); // the histogram has a point from its first heartbeat on
    exporter.reset();
    await reader.forceFlush();
    const scopes = exporter.getMetrics().flatMap((resource) => resource.scopeMetrics);
    expect(scopes.map((scope) => scope.scope)).toEqual([
      expect.objectContaining({ name: '@ztap/cluster-otel', version: manifest.version }),
    ]);
    const collected = await collect();
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
    await instruments.dispose();
  });

  it('uses the global MeterProvider when given none', async () => {
    metrics.setGlobalMeterProvider(meterProvider);
    try {
      const instruments = registerClusterInstruments(node('a'));
      expect(pointValue(await collect(), 'ztap.cluster.is_leader', { node: 'a' })).toBe(0);
      await instruments.dispose();
    } finally {
      metrics.disable();
    }
  });

  it('moves with the cluster: joins, elections, leadership, term, heartbeats, losses', async () => {
    const a = node('a');
    const instruments = registerClusterInstruments(a, { meterProvider });
    await a.start();
    const b = node('b');
    await b.start();
    await clock.advance(250);
    let collected = await collect();
    expect(pointValue(collected, 'ztap.cluster.is_leader', { node: 'a' })).toBe(1);
    expect(pointValue(collected, 'ztap.cluster.term')).toBe(a.term);
    expect(pointValue(collected, 'ztap.cluster.nodes_total', { state: 'healthy' })).toBe(2);
    expect(pointValue(collected, 'ztap.cluster.nodes_total', { state: 'unhealthy' })).toBe(0);
    expect(pointValue(collected, 'ztap.cluster.node_joins')).toBe(2);
    expect(pointValue(collected, 'ztap.cluster.leader_elections')).toBe(1);
    const heartbeats = histogramOf(collected, 'ztap.cluster.heartbeat_latency_seconds');
    expect(heartbeats.count).toBeGreaterThanOrEqual(2);
    expect(heartbeats.buckets.boundaries).toEqual(HEARTBEAT_LATENCY_BUCKETS);

    await a.resign();
    await clock.advance(10);
    collected = await collect();
    expect(pointValue(collected, 'ztap.cluster.is_leader', { node: 'a' })).toBe(0);
    expect(pointValue(collected, 'ztap.cluster.term')).toBe(b.term);
    expect(pointValue(collected, 'ztap.cluster.leader_elections')).toBe(2);
    expect(pointValue(collected, 'ztap.cluster.leadership_losses', { reason: 'resigned' })).toBe(1);
    await instruments.dispose();
  });

  it('observes no term while there is no leader', async () => {
    const a = node('a');
    const instruments = registerClusterInstruments(a, { meterProvider });
    expect((await observed()).get('ztap.cluster.term')).toBeUndefined();
    await a.start();
    expect(pointValue(await observed(), 'ztap.cluster.term')).toBe(a.term);
    await a.stop();
    const collected = await observed();
    expect(collected.get('ztap.cluster.term')).toBeUndefined();
    expect(pointValue(collected, 'ztap.cluster.is_leader', { node: 'a' })).toBe(0);
    await instruments.dispose();
  });

  it('exports every attribute value of every counter with attributes at 0 from the start', async () => {
    const instruments = registerClusterInstruments(node('a'), { meterProvider });
    const collected = await collect();
    const expected = {
      'ztap.cluster.leadership_losses': [
        'reason',
        ['resigned', 'stopped', 'superseded', 'unhealthy', 'lease_lost', 'deadline'],
      ],
      'ztap.cluster.etcd_errors': ['kind', ['unavailable', 'nospace', 'permission', 'auth', 'request']],
      'ztap.cluster.heartbeat_failures': ['kind', ['timeout', 'stream', 'lease_lost']],
      'ztap.cluster.policy_sync_failures': [
        'reason',
        ['not_leader', 'fenced', 'conflict', 'invalid', 'backend'],
      ],
      'ztap.cluster.drains': ['outcome', ['settled', 'timeout', 'deadline', 'lease_lost']],
    } as const;
    for (const [name, [attribute, values]] of Object.entries(expected)) {
      for (const value of values)
        expect(pointValue(collected, name, { [attribute]: value }), `${name} ${value}`).toBe(0);
    }
    await instruments.dispose();
  });

  it('counts every change of leader this node sees, "no leader" included', async () => {
    const observer = node('z');
    const instruments = registerClusterInstruments(observer, { meterProvider });
    await observer.start(); // z leads alone: 1
    const a = node('a');
    await a.start(); // a has the lower id: 2
    await a.stop(); // z again: 3
    const changes = async () => pointValue(await collect(), 'ztap.cluster.leader_changes');
    expect(await changes()).toBe(3);
    await observer.deregisterNode('z'); // z's record is gone: no leader (4) until it joins again (5)
    expect(await changes()).toBe(4);
    await clock.advance(100);
    expect(await changes()).toBe(5);
    await instruments.dispose();
  });

  it('counts heartbeat failures by kind, and records only confirmed heartbeats as latencies', async () => {
    const a = node('a');
    const instruments = registerClusterInstruments(a, { meterProvider });
    await a.start();
    await clock.advance(100);
    await a.deregisterNode('a'); // the next heartbeat finds no record: it failed
    await clock.advance(100);
    const collected = await collect();
    expect(pointValue(collected, 'ztap.cluster.heartbeat_failures', { kind: 'lease_lost' })).toBe(1);
    expect(pointValue(collected, 'ztap.cluster.heartbeat_failures', { kind: 'timeout' })).toBe(0);
    expect(histogramOf(collected, 'ztap.cluster.heartbeat_latency_seconds').count).toBe(1);
    await instruments.dispose();
  });

  it('counts step-downs that waited for leader work, by outcome', async () => {
    const a = node('a', { drainTimeout: 50 });
    const instruments = registerClusterInstruments(a, { meterProvider });
    await a.start();
    const work = await startStubbornWork(a); // the drain gives up after drainTimeout
    const resigned = a.resign();
    await clock.advance(50);
    await resigned;
    await work.finish();
    const collected = await collect();
    expect(pointValue(collected, 'ztap.cluster.drains', { outcome: 'timeout' })).toBe(1);
    expect(pointValue(collected, 'ztap.cluster.drains', { outcome: 'settled' })).toBe(0);
    await instruments.dispose();
  });

  it('observes policy versions and counts failed policy writes by reason', async () => {
    const leader = node('a');
    const follower = node('b');
    await leader.start();
    await follower.start();
    const leaderPolicies = new InMemoryPolicySync(leader);
    const instruments = registerClusterInstruments(follower, {
      meterProvider,
      policies: new InMemoryPolicySync(follower),
    });
    const web = await leaderPolicies.syncPolicy('web', 'allow: [80]\n');
    await clock.advance(10);
    expect(pointValue(await collect(), 'ztap.cluster.policy_version', { policy: 'web' })).toBe(web.version);

    const instrumented = instruments.instrumentPolicySync(new InMemoryPolicySync(follower));
    await expect(instrumented.syncPolicy('web', 'x: 1\n')).rejects.toSatisfy(isNotLeaderError);
    await expect(
      instruments.instrumentPolicySync(leaderPolicies).syncPolicy('web', 'not: [yaml\n'),
    ).rejects.toThrow('not valid YAML');
    const collected = await collect();
    expect(pointValue(collected, 'ztap.cluster.policy_sync_failures', { reason: 'not_leader' })).toBe(1);
    expect(pointValue(collected, 'ztap.cluster.policy_sync_failures', { reason: 'invalid' })).toBe(1);
    expect(pointValue(collected, 'ztap.cluster.policy_sync_failures', { reason: 'fenced' })).toBe(0);

    await leaderPolicies.deletePolicy('web');
    await clock.advance(10);
    expect((await observed()).get('ztap.cluster.policy_version')).toBeUndefined();
    await instruments.dispose();
  });

  it('stops observing and counting once disposed (twice is fine)', async () => {
    const a = node('a');
    const instruments = registerClusterInstruments(a, { meterProvider });
    await a.start();
    expect(pointValue(await collect(), 'ztap.cluster.node_joins')).toBe(1);
    await instruments[Symbol.asyncDispose]();
    await instruments.dispose();
    await node('b').start();
    await clock.advance(250);
    expect(pointValue(await collect(), 'ztap.cluster.node_joins')).toBe(1);
    expect((await observed()).get('ztap.cluster.is_leader')).toBeUndefined();
  });
});
