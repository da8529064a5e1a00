/**
 * The dashboard in a real browser (Debian's Chromium, driven by playwright-core) against a real etcd
 * and real nodes: what an operator sees. Every wait is for the DOM to show something; nothing sleeps.
 * With ZTAP_DASHBOARD_SCREENSHOTS=<dir> (`pnpm dashboard:screenshots`), it saves the screenshots that
 * docs/dashboard.md shows.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { EtcdElection } from '@ztap/cluster-etcd';
import { EtcdClusterClient } from '@ztap/cluster-etcd';
import { type EtcdHandle, type EtcdMember, startEtcd } from '@ztap/cluster-testing';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DashboardProcess, launchChromium, testNode, waitForText } from '../support/dashboard.ts';
import { uniqueCluster } from '../support/etcd.ts';
import { ztap } from '../support/ztap.ts';

const SCREENSHOTS = process.env.ZTAP_DASHBOARD_SCREENSHOTS;
const TOKEN = 'browser-test-token-2f9c41d7';

async function screenshot(page: Page, name: string): Promise<void> {
  if (!SCREENSHOTS) return;
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: false });
}

describe('the dashboard in Chromium', { timeout: 60_000 }, () => {
  const cluster = uniqueCluster('dashboard');
  let etcd: EtcdHandle;
  let member: EtcdMember;
  let browser: Browser;
  let dashboard: DashboardProcess;
  let operator: EtcdClusterClient;
  const nodes = new Map<string, EtcdElection>();

  const startNode = async (id: string, options: Parameters<typeof testNode>[3] = {}) => {
    const node = testNode(etcd.endpoints, cluster, id, options);
    nodes.set(id, node);
    await node.start();
    return node;
  };

  beforeAll(async () => {
    // A local etcd process: the test freezes it with SIGSTOP.
    etcd = await startEtcd({ provider: 'local' });
    member = etcd.members[0] as EtcdMember;
    operator = new EtcdClusterClient({ endpoints: [...etcd.endpoints], cluster });
    const first = await startNode('node-a', { metadata: { zone: 'eu-west-1' } });
    await first.waitForLeadership();
    await startNode('node-b', { metadata: { zone: 'eu-west-2' } });
    await startNode('node-c', { metadata: { zone: 'us-east-1' } });
    await startNode('node-d', { metadata: { zone: 'us-east-1' }, healthCheck: () => false });
    await operator.registerNode({ id: 'node-e', address: '10.0.0.9:9090', metadata: { zone: 'ap-south-1' } });
    await operator.policies.push('access', 'rules:\n  - allow: payments\n  - allow: billing\n');
    await operator.policies.push(
      'access',
      'rules:\n  - allow: payments\n  - deny: billing\n  - allow: search\n',
    );
    await operator.policies.push('retention', 'days: 30\n');
    browser = await launchChromium();
    dashboard = new DashboardProcess(etcd.endpoints, cluster);
    await dashboard.url();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await dashboard?.stop();
    for (const node of nodes.values()) await node.stop().catch(() => {});
    await operator?.close();
    if (member?.paused) member.resume();
    await etcd?.stop();
  });

  it('shows the leader, the members and the leadership timeline', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(await dashboard.url());
    await waitForText(page, '#leader', 'node-a');
    await waitForText(page, '#connection', 'etcd connected');
    await waitForText(page, '#count-healthy', '3');
    await waitForText(page, '#count-unhealthy', '1');
    await waitForText(page, '#count-unknown', '1');
    await page.locator('#member-rows tr[data-id="node-e"]').waitFor();
    expect(await page.locator('#member-rows tr').count()).toBe(5);
    const leaderTerm = (await operator.getState()).term as number;
    await page.locator(`#timeline-rows tr[data-term="${leaderTerm}"]`).waitFor();
    await page.locator('#chart svg rect.segment').first().waitFor({ state: 'attached' });
    // A policy opens on what its latest write changed; the same version twice shows the whole document.
    await page.getByRole('button', { name: 'access' }).click();
    await page.locator('#policy-document .add').filter({ hasText: '+   - deny: billing' }).waitFor();
    await page.locator('#policy-document .remove').filter({ hasText: '-   - allow: billing' }).waitFor();
    await page
      .locator('#policies')
      .screenshot(SCREENSHOTS ? { path: join(SCREENSHOTS, 'dashboard-policies.png') } : {});
    await page.getByLabel('From').selectOption({ index: 0 });
    await waitForText(
      page,
      '#policy-document',
      /^rules:\n {2}- allow: payments\n {2}- deny: billing\n {2}- allow: search\n?$/,
    );
    // Zoom the chart to the last minute, where this test's leaderships are wide enough to read.
    await page.getByRole('button', { name: '1 min' }).click();
    await waitForText(page, '#window-title', 'last minute');
    await page.evaluate('window.scrollTo(0, 0)');
    await screenshot(page, 'dashboard-light');
    await page.emulateMedia({ colorScheme: 'dark' });
    await screenshot(page, 'dashboard-dark');
    await page.close();
  });

  it('shows a new leader and its timeline entry without a reload when the leader stops', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(await dashboard.url());
    await waitForText(page, '#leader', 'node-a');
    let navigations = 0;
    page.on('framenavigated', () => navigations++);
    const stopped = performance.now();
    await nodes.get('node-a')?.stop();
    await waitForText(page, '#leader', 'node-b');
    const state = await operator.getState();
    expect(state.leader?.id).toBe('node-b');
    await page.locator(`#timeline-rows tr[data-term="${state.term}"]`).waitFor();
    const shownMs = Math.round(performance.now() - stopped);
    // node-a's row says how its leadership ended: its lease was revoked with its member record.
    await page
      .locator('#timeline-rows tr')
      .filter({ hasText: 'node-a' })
      .filter({ hasText: 'lease revoked or expired' })
      .first()
      .waitFor();
    expect(navigations).toBe(0);
    console.info(`[dashboard] new leader on screen ${shownMs} ms after the old leader stopped`);
    await page.close();
  });

  it('is usable on a narrow screen and with the keyboard', async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await page.goto(await dashboard.url());
    await waitForText(page, '#leader', 'node-b');
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(page, 'dashboard-narrow');
    // Sort by state with the keyboard: focus the header button, press Enter.
    await page.locator('th[data-column="state"] button').focus();
    await page.keyboard.press('Enter');
    expect(await page.locator('th[data-column="state"]').getAttribute('aria-sort')).toBe('ascending');
    await page.keyboard.press('Enter');
    expect(await page.locator('th[data-column="state"]').getAttribute('aria-sort')).toBe('descending');
    await waitForText(page, '#member-rows tr:first-child td:nth-child(3)', 'unknown');
    // The filter has a label, so it is found by it.
    await page.getByLabel('Filter').fill('us-east');
    await waitForText(page, '#member-count', '(2 of 4)');
    await page.close();
  });

  it('says since when etcd is unreachable, keeps the last state marked stale, and recovers', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(await dashboard.url());
    await waitForText(page, '#leader', 'node-b');
    member.pause();
    try {
      await waitForText(
        page,
        '#banner',
        /^Disconnected from etcd since \d\d:\d\d:\d\d\. Showing the last known state \(stale\)\./,
        20_000,
      );
      await page.locator('main.stale').waitFor();
      await waitForText(page, '#leader', 'node-b');
      expect(await page.locator('#member-rows tr').count()).toBe(4);
      await page.getByRole('button', { name: '1 min' }).click();
      await screenshot(page, 'dashboard-disconnected');
    } finally {
      member.resume();
    }
    await waitForText(page, '#connection', 'etcd connected', 20_000);
    await page.locator('#banner').waitFor({ state: 'hidden' });
    expect(await page.locator('main.stale').count()).toBe(0);
    await page.close();
  });

  it('requires the token when it has one: a 401 page without it, the page through the printed link', async () => {
    // A bare --token without ZTAP_DASHBOARD_TOKEN makes one up and prints the link that carries it.
    const guarded = new DashboardProcess(etcd.endpoints, cluster, ['--token']);
    try {
      const link = await guarded.url();
      const token = new URL(link).searchParams.get('token') ?? '';
      expect(token.length).toBeGreaterThanOrEqual(16);
      const base = await guarded.base();
      const context = await browser.newContext();
      const page = await context.newPage();
      const denied = await page.goto(base);
      expect(denied?.status()).toBe(401);
      await waitForText(page, 'h1', 'This dashboard needs its token');
      await page.goto(link);
      expect(new URL(page.url()).search).toBe('');
      await page
        .locator('#leader')
        .filter({ hasText: /^node-/ })
        .waitFor();
      const [cookie] = await context.cookies();
      expect(cookie).toMatchObject({ name: 'ztap_dashboard_session', httpOnly: true, sameSite: 'Strict' });
      expect(cookie?.value).not.toContain(token);
      expect(await page.content()).not.toContain(token);
      await context.close();
    } finally {
      await guarded.stop();
    }
  });

  it('does not print a token it was given in ZTAP_DASHBOARD_TOKEN, and requires it', async () => {
    const guarded = new DashboardProcess(etcd.endpoints, cluster, [], { ZTAP_DASHBOARD_TOKEN: TOKEN });
    try {
      const url = await guarded.url();
      expect(url).not.toContain(TOKEN);
      expect((await fetch(url)).status).toBe(401);
      const snapshot = await fetch(`${url}api/snapshot`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(snapshot.status).toBe(200);
      expect(await snapshot.text()).not.toContain(TOKEN);
    } finally {
      await guarded.stop();
    }
  });

  it('refuses a token too short to keep anyone out, in one line', async () => {
    const result = await ztap(['--endpoints', etcd.endpoints.join(','), 'dashboard', '--token', 'short']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^ztap: --token must be at least 16 characters without spaces/);
    expect(result.stderr.split('\n').filter(Boolean)).toHaveLength(1);
  });

  it('refuses to listen beyond loopback without a token, in one line', async () => {
    const result = await ztap([
      '--endpoints',
      etcd.endpoints.join(','),
      'dashboard',
      '--listen',
      '0.0.0.0:0',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^ztap: --listen 0\.0\.0\.0:0: listening on 0\.0\.0\.0 would show the cluster to anyone who can reach this machine: add --token \(or ZTAP_DASHBOARD_TOKEN\) or listen on 127\.0\.0\.1\n$/,
    );
  });
});
