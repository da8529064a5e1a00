import { describe, expect, it } from 'vitest';
import { type MultiRegionNodeOptions, resolveMultiRegionOptions } from '../src/options.ts';
import { wanTiming } from '../src/wan-timing.ts';

const base: MultiRegionNodeOptions = {
  nodeId: 'node-1',
  nodeAddress: '10.0.0.7:9090',
  region: 'eu-west',
  regional: { endpoints: ['http://127.0.0.1:2379'] },
  global: { endpoints: ['http://127.0.0.1:2479'] },
};

describe('multi-region options', () => {
  it('fills in prefixes per cluster, the global node id and the WAN timings', () => {
    const resolved = resolveMultiRegionOptions({ ...base, cluster: 'payments' });
    expect(resolved.globalNodeId).toBe('node-1@eu-west');
    expect(resolved.regionalPrefix).toBe('/ztap/clusters/payments/');
    expect(resolved.globalPrefix).toBe('/ztap/global/payments/');
    expect(resolved.replicaPrefix).toBe('/ztap/replicas/payments/');
    expect(resolved.global).toMatchObject({
      nodeId: 'node-1@eu-west',
      metadata: { region: 'eu-west' },
      electionTimeout: 5000,
      heartbeatInterval: 1000,
      stepDownMargin: 1000,
      initialLeadership: 0,
      prefix: '/ztap/global/payments/',
    });
    expect(resolved.regional).toMatchObject({ nodeId: 'node-1', prefix: '/ztap/clusters/payments/' });
    expect(resolved.handBackDelayMs).toBe(5000);
    expect(resolved.confirmIntervalMs).toBe(1000);
  });

  it('sizes the global heartbeat and margin from a global election timeout given alone', () => {
    const resolved = resolveMultiRegionOptions({
      ...base,
      global: { ...base.global, electionTimeout: 3000 },
    });
    expect(resolved.global).toMatchObject({
      electionTimeout: 3000,
      heartbeatInterval: 600,
      stepDownMargin: 600,
    });
    expect(resolved.handBackDelayMs).toBe(3000);
  });

  it.each([
    [{ region: 'EU' }, 'region'],
    [{ region: '-eu' }, 'region'],
    [{ homeRegion: 'eu_west' }, 'homeRegion'],
    [{ cluster: 'a/b' }, 'cluster'],
    [{ nodeId: 'n'.repeat(125) }, 'nodeId'],
    [{ replication: { confirmInterval: 10 } }, 'replication.confirmInterval'],
    [{ handBackDelay: -1 }, 'handBackDelay'],
    [{ replication: { prefix: '/ztap/clusters/default/replicas/' } }, 'regional.prefix'],
    [{ global: { endpoints: ['http://127.0.0.1:2479'], prefix: 'relative/' } }, 'global.prefix'],
  ] as [Partial<MultiRegionNodeOptions>, string][])('refuses %j, naming %s', (override, field) => {
    expect(() => resolveMultiRegionOptions({ ...base, ...override })).toThrow(
      expect.objectContaining({ code: 'ZTAP_VALIDATION', field }),
    );
  });
});

describe('WAN timings after etcd tuning guidance', () => {
  it('heartbeat about the round trip, election timeout at least ten of them, a lease that outlives a raft election', () => {
    const timing = wanTiming(150);
    expect(timing).toEqual({
      etcdHeartbeatIntervalMs: 150,
      etcdElectionTimeoutMs: 1500,
      electionTimeout: 5000,
      heartbeatInterval: 1000,
      stepDownMargin: 1000,
      requestTimeout: 2500,
      confirmIntervalMs: 1000,
    });
    for (const rtt of [20, 80, 150, 160, 300, 1000]) {
      const t = wanTiming(rtt);
      expect(t.etcdElectionTimeoutMs).toBeGreaterThanOrEqual(10 * rtt);
      expect(t.electionTimeout % 1000).toBe(0);
      expect(t.electionTimeout - t.stepDownMargin).toBeGreaterThanOrEqual(
        2 * t.etcdElectionTimeoutMs + 2 * rtt,
      );
      expect(t.stepDownMargin).toBeLessThan(t.electionTimeout - 2 * t.heartbeatInterval);
    }
  });

  it('refuses a round trip that is not one', () => {
    expect(() => wanTiming(0)).toThrow(expect.objectContaining({ field: 'rttMs' }));
  });
});
