import { startWanTopology, type WanTopology } from '@ztap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../src/eventually.ts';
import { get, isHealthy, memberNames, put } from './gateway.ts';

describe('startWanTopology', () => {
  let topology: WanTopology;
  beforeAll(async () => {
    topology = await startWanTopology({
      globalEtcdArgs: ['--heartbeat-interval', '160', '--election-timeout', '1600'],
    });
  }, 60_000);
  afterAll(async () => {
    await topology?.stop();
  });

  it('gives each region its own etcd and one member of a global etcd', async () => {
    expect(topology.regions.map((region) => region.name)).toEqual(['eu', 'us', 'ap']);
    expect(topology.delayMs('eu', 'us')).toBe(30);
    expect(topology.delayMs('ap', 'eu')).toBe(80);
    expect(topology.delayMs('us', 'us')).toBe(0);
    expect(topology.maxRttMs).toBe(160);
    for (const region of topology.regions) {
      expect(await memberNames(region.globalEndpoint)).toEqual(['etcd-1', 'etcd-2', 'etcd-3']);
      expect(region.etcd.endpoints).toHaveLength(1);
      expect(region.etcd.endpoints).not.toContain(region.globalEndpoint);
    }
  });

  it('knows which member opened every connection between members, also those opened while starting', () => {
    const links = topology.peerLinks();
    expect(links.length).toBeGreaterThanOrEqual(6);
    for (const link of links) {
      expect(link.from).toBeDefined();
      expect(link.from).not.toBe(link.to);
    }
    const pairs = new Set(links.map((link) => `${link.from}->${link.to}`));
    for (const from of ['eu', 'us', 'ap'])
      for (const to of ['eu', 'us', 'ap']) if (from !== to) expect(pairs).toContain(`${from}->${to}`);
  });

  it('isolates a region: its global member loses the others, which carry on; it catches up when it rejoins', async () => {
    const eu = topology.region('eu');
    const us = topology.region('us');
    topology.isolate('eu');
    try {
      await eventually(
        async () => !(await isHealthy(eu.globalEndpoint, 1_000)),
        20_000,
        'eu to lose its quorum',
      );
      await eventually(
        () =>
          put(us.globalEndpoint, 'written-while-eu-was-away', 'yes').then(
            () => true,
            () => false,
          ),
        20_000,
        'the other two members to accept a write',
      );
      // Its own region still reaches its regional etcd.
      await put(eu.etcd.endpoints[0] as string, 'regional', 'fine');
    } finally {
      topology.rejoin('eu');
    }
    await eu.globalMember.waitForHealth({ timeoutMs: 20_000 });
    expect(await get(eu.globalEndpoint, 'written-while-eu-was-away')).toBe('yes');
  }, 60_000);
});
