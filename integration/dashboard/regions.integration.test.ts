/**
 * `ztap dashboard --global-endpoints`: the Regions section fed from the global store and each
 * region's etcd. Small on purpose: one etcd holds the global store and two regions (each under its
 * own prefixes, as the region directory records them), nodes run in this process. The page is
 * checked in Chromium too (ZTAP_DASHBOARD_SCREENSHOTS=<dir> saves dashboard-regions.png there).
 */

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { WireRegion, WireSnapshot } from '@ztap/cluster-dashboard';
import { MultiRegionNode } from '@ztap/cluster-multi-region';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DashboardProcess, launchChromium, waitForText } from '../support/dashboard.ts';
import { eventually, uniqueCluster, useEtcd } from '../support/etcd.ts';
import { ztap } from '../support/ztap.ts';

const SCREENSHOTS = process.env.ZTAP_DASHBOARD_SCREENSHOTS;

async function screenshot(page: Page, name: string): Promise<void> {
  if (!SCREENSHOTS) return;
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: false });
}

describe('ztap dashboard --global-endpoints: the Regions section', { timeout: 90_000 }, () => {
  const etcd = useEtcd();
  const cluster = uniqueCluster('dash-regions');
  const nodes = new Map<string, MultiRegionNode>();
  let dashboard: DashboardProcess;

  /** eu under the default prefixes (the dashboard's own cluster view), us under its own. */
  const node = (region: 'eu' | 'us', nodeId: string) =>
    new MultiRegionNode({
      nodeId,
      nodeAddress: '127.0.0.1:9090',
      region,
      cluster,
      regional: {
        endpoints: etcd.endpoints,
        ...(region === 'us' ? { prefix: `/ztap/us/clusters/${cluster}/` } : {}),
        heartbeatInterval: 200,
        electionTimeout: 2000,
        initialLeadership: 0,
      },
      global: { endpoints: etcd.endpoints, electionTimeout: 3000 },
      replication: {
        confirmInterval: 500,
        ...(region === 'us' ? { prefix: `/ztap/us/replicas/${cluster}/` } : {}),
      },
    });

  const snapshot = async (): Promise<WireSnapshot> =>
    (await (await fetch(`${await dashboard.base()}api/snapshot`)).json()) as WireSnapshot;
  const regionNamed = (view: WireSnapshot, name: string): WireRegion | undefined =>
    view.regions?.regions.find((region) => region.name === name);

  beforeAll(async () => {
    for (const [region, id] of [
      ['eu', 'eu-1'],
      ['us', 'us-1'],
      ['us', 'us-2'],
    ] as const)
      nodes.set(id, node(region, id));
    await Promise.all([...nodes.values()].map((one) => one.start()));
    dashboard = new DashboardProcess(etcd.endpoints, cluster, [
      '--global-endpoints',
      etcd.endpoints.join(','),
      '--region',
      'ap=http://127.0.0.1:1',
    ]);
    await dashboard.url();
  }, 60_000);

  afterAll(async () => {
    await dashboard?.stop();
    await Promise.all([...nodes.values()].map((one) => one.stop()));
  });

  it('shows every region with its leader, term, lag and reachability, and the global leader', async () => {
    let view = await snapshot();
    await eventually(
      async () => {
        view = await snapshot();
        const eu = regionNamed(view, 'eu');
        const us = regionNamed(view, 'us');
        return (
          view.leader !== null &&
          view.regions?.globalLeader !== undefined &&
          eu?.replicationLagMs !== undefined &&
          us?.replicationLagMs !== undefined
        );
      },
      30_000,
      'both regions replicating, a global leader and the cluster view, on the dashboard',
    );
    const regions = view.regions;
    expect(regions?.globalState).toBe('connected');
    expect([`eu-1@eu`, `us-1@us`, `us-2@us`]).toContain(regions?.globalLeader);
    expect(regions?.globalLeader?.endsWith(`@${regions.globalRegion}`)).toBe(true);
    expect(regions?.globalTerm).toBeGreaterThan(0);
    expect(regions?.regions.map((region) => region.name)).toEqual(['ap', 'eu', 'us']);
    expect(regionNamed(view, 'eu')).toMatchObject({ leader: 'eu-1', state: 'connected' });
    expect(regionNamed(view, 'eu')?.term).toBeGreaterThan(0);
    expect(['us-1', 'us-2']).toContain(regionNamed(view, 'us')?.leader);
    expect(regionNamed(view, 'us')?.state).toBe('connected');
    // Given by --region and unreachable: shown, with why.
    expect(regionNamed(view, 'ap')).toMatchObject({ state: 'disconnected' });
    expect(regionNamed(view, 'ap')?.reason).toMatch(/127\.0\.0\.1:1/);
    // The cluster view beside it is eu's (the default prefixes of --cluster).
    expect(view.leader?.id).toBe('eu-1');
  });

  it('the page shows the Regions section: the global leader, and a row per region', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(await dashboard.url());
      await page.locator('#regions').waitFor({ state: 'visible' });
      await waitForText(
        page,
        '#global-leader',
        /^Global leader: (eu-1@eu in region eu|us-\d@us in region us), global term \d+$/,
      );
      const rows = page.locator('#region-rows tr');
      await rows.filter({ hasText: /^eu/ }).filter({ hasText: 'eu-1' }).waitFor();
      expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.firstElementChild?.textContent))).toEqual([
        'ap',
        'eu',
        'us',
      ]);
      const cells = async (name: string) =>
        rows
          .filter({ has: page.locator('td:first-child', { hasText: new RegExp(`^${name}$`) }) })
          .locator('td')
          .allTextContents();
      const [, euLeader, euTerm, euLag, euReachable] = await cells('eu');
      expect(euLeader).toBe('eu-1');
      expect(euTerm).toMatch(/^\d+$/);
      expect(euLag).toMatch(/^\d+\.\d+s$|^\d+m? ?\d*s$/);
      expect(euReachable).toBe('yes');
      const [, apLeader, , , apReachable, apDetail] = await cells('ap');
      expect([apLeader, apReachable]).toEqual(['unknown', 'no']);
      expect(apDetail).toMatch(/127\.0\.0\.1:1/);
      await page.locator('#regions').scrollIntoViewIfNeeded();
      await screenshot(page, 'dashboard-regions');
    } finally {
      await browser.close();
    }
  });

  it('follows a regional leader change live', async () => {
    const before = regionNamed(await snapshot(), 'us');
    const leader = before?.leader as string;
    await nodes.get(leader)?.stop();
    const successor = leader === 'us-1' ? 'us-2' : 'us-1';
    await eventually(
      async () => {
        const us = regionNamed(await snapshot(), 'us');
        return us?.leader === successor && (us.term ?? 0) > (before?.term ?? 0);
      },
      30_000,
      `${successor} shown as us's leader`,
    );
  });

  it('refuses bad region flags with a one-line usage error', async () => {
    for (const [flags, expected] of [
      [['--region', 'EU=http://127.0.0.1:2379'], /--region .*lowercase/],
      [['--region', 'eu'], /--region must be NAME=URL/],
      [['--global-prefix', 'global/'], /--global-prefix must be a key prefix starting with "\/"/],
      [['--region', 'eu=http://127.0.0.1:2379'], /--global-endpoints \(or ZTAP_GLOBAL_ENDPOINTS\) must name/],
    ] as const) {
      const result = await ztap(['dashboard', '--listen', '127.0.0.1:0', ...flags]);
      expect(result.code, `${flags.join(' ')}: ${result.stderr}`).toBe(2);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(expected);
    }
  });
});
