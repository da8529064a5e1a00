/**
 * The dashboard's server side against a real etcd: the timeline reconstructed from etcd's history,
 * one watch however many tabs are open, policy history, and never a write (checked with a read-only
 * etcd user and with etcd's own request counters).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createDashboard,
  type Dashboard,
  type WirePolicyDiff,
  type WirePolicyDocument,
  type WireSnapshot,
} from '@ztap/cluster-dashboard';
import { EtcdClusterClient, type EtcdElection } from '@ztap/cluster-etcd';
import type { EtcdHandle } from '@ztap/cluster-testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testNode } from '../support/dashboard.ts';
import { eventually, uniqueCluster, useEtcd } from '../support/etcd.ts';
import { etcdWork, writesBetween } from '../support/etcd-metrics.ts';
import { RBAC_USERS, startRbacEtcd } from '../support/special-etcd.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(dashboard: Dashboard): Promise<string> {
  const server: Server = createServer(dashboard.handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

function startNodes(
  endpoints: readonly string[],
  cluster: string,
  ids: string[],
  extra = {},
): EtcdElection[] {
  const nodes = ids.map((id) => testNode(endpoints, cluster, id, extra));
  cleanups.push(() => Promise.all(nodes.map((node) => node.stop().catch(() => {}))));
  return nodes;
}

const historyDone = (dashboard: Dashboard) =>
  eventually(() => dashboard.snapshot().history.state === 'done', 20_000, 'the history to be read');

describe('the dashboard on etcd', { timeout: 60_000 }, () => {
  const etcd = useEtcd();

  it('reconstructs leader changes that happened before it started, with terms and how they ended', async () => {
    const cluster = uniqueCluster('history');
    const [a, b, c] = startNodes(etcd.endpoints, cluster, ['a', 'b', 'c']) as [
      EtcdElection,
      EtcdElection,
      EtcdElection,
    ];
    const operator = new EtcdClusterClient({ endpoints: etcd.endpoints, cluster });
    cleanups.push(() => operator.close());
    await a.start();
    const first = await a.waitForLeadership();
    await b.start();
    await c.start();
    await a.resign(); // a withdraws but stays a member; b is next in line
    await eventually(async () => (await operator.getState()).leader?.id === 'b', 10_000, 'b to lead');
    const second = (await operator.getState()).term as number;
    await b.stop(); // b's lease is revoked: its campaign key and member record go together
    await eventually(async () => (await operator.getState()).term !== second, 10_000, 'a third leader');
    const third = await operator.getState();

    const dashboard = createDashboard({
      connection: { endpoints: etcd.endpoints, cluster, requestTimeout: 2000 },
    });
    cleanups.push(() => dashboard.close());
    await historyDone(dashboard);
    const timeline = dashboard.snapshot().timeline;
    expect(timeline.map((l) => [l.term, l.nodeId, l.endReason])).toEqual([
      [first.term, 'a', 'withdrew'],
      [second, 'b', 'lease_ended'],
      [third.term, third.leader?.id, undefined],
    ]);
    // Reconstructed times are estimates and say so; the order of revisions is exact.
    expect(timeline[0]?.start.accuracy).toBe('estimated');
    expect(timeline[0]?.end?.revision).toBe(timeline[1]?.start.revision);
    expect(dashboard.snapshot().leader).toEqual({ id: third.leader?.id, term: third.term });
  });

  it('keeps one etcd watch however many tabs are open, and streams a failover to all of them', async () => {
    const cluster = uniqueCluster('tabs');
    const [a, b] = startNodes(etcd.endpoints, cluster, ['a', 'b']) as [EtcdElection, EtcdElection];
    await a.start();
    await a.waitForLeadership();
    await b.start();
    const endpoint = etcd.endpoints[0] as string;
    const withoutDashboard = await etcdWork(endpoint);
    const dashboard = createDashboard({ connection: { endpoints: etcd.endpoints, cluster } });
    cleanups.push(() => dashboard.close());
    await historyDone(dashboard);
    await eventually(() => dashboard.snapshot().leader?.id === 'a', 10_000, 'the dashboard to see a lead');
    const url = await serve(dashboard);
    const withDashboard = await etcdWork(endpoint);
    expect(withDashboard.watchers - withoutDashboard.watchers).toBe(1);

    const tabs = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const response = await fetch(`${url}events`);
        return { response, text: '', reader: (response.body as ReadableStream<Uint8Array>).getReader() };
      }),
    );
    cleanups.push(() => Promise.all(tabs.map((tab) => tab.reader.cancel())));
    await eventually(() => dashboard.stats.clients === 20, 10_000, '20 tabs');
    expect((await etcdWork(endpoint)).watchers).toBe(withDashboard.watchers);

    await a.stop();
    const decoder = new TextDecoder();
    for (const tab of tabs) {
      while (!/"kind":"leader","leader":\{"id":"b"/.test(tab.text)) {
        const { value, done } = await tab.reader.read();
        if (done) throw new Error('a tab’s stream ended before the new leader arrived');
        tab.text += decoder.decode(value, { stream: true });
      }
    }
    expect(dashboard.stats.dropped).toBe(0);
  });

  it('serves a policy’s versions still in etcd’s history and the diff between two of them', async () => {
    const cluster = uniqueCluster('policies');
    const operator = new EtcdClusterClient({ endpoints: etcd.endpoints, cluster });
    cleanups.push(() => operator.close());
    const v1 = await operator.policies.push('limits', 'rate: 10\nburst: 20\n');
    const v2 = await operator.policies.push('limits', 'rate: 15\nburst: 20\n');
    const dashboard = createDashboard({ connection: { endpoints: etcd.endpoints, cluster } });
    cleanups.push(() => dashboard.close());
    const url = await serve(dashboard);
    const versions = (await (await fetch(`${url}api/policies/limits/versions`)).json()) as {
      version: number;
    }[];
    expect(versions.map((v) => v.version)).toEqual([v2.version, v1.version]);
    const diff = (await (
      await fetch(`${url}api/policies/limits/diff?from=${v1.version}&to=${v2.version}`)
    ).json()) as WirePolicyDiff;
    expect(diff.lines).toEqual([
      { op: 'remove', text: 'rate: 10' },
      { op: 'add', text: 'rate: 15' },
      { op: 'same', text: 'burst: 20' },
    ]);
    const old = (await (
      await fetch(`${url}api/policies/limits?version=${v1.version}`)
    ).json()) as WirePolicyDocument;
    expect(old.document).toBe('rate: 10\nburst: 20\n');
  });
});

describe('the dashboard with a read-only etcd user', { timeout: 60_000 }, () => {
  let etcd: EtcdHandle;
  const cluster = 'rbac';
  const { root, viewer } = RBAC_USERS;

  beforeAll(async () => {
    etcd = await startRbacEtcd();
  }, 60_000);
  afterAll(async () => {
    await etcd?.stop();
  });

  it('shows the cluster, its history and its policies, and etcd counts no write from it', async () => {
    const endpoint = etcd.endpoints[0] as string;
    const [a, b] = startNodes(etcd.endpoints, cluster, ['a', 'b'], { auth: root }) as [
      EtcdElection,
      EtcdElection,
    ];
    await a.start();
    await a.waitForLeadership();
    await b.start();
    const operator = new EtcdClusterClient({ endpoints: etcd.endpoints, cluster, auth: root });
    cleanups.push(() => operator.close());
    await operator.policies.push('access', 'allow: [a]\n');
    await operator.policies.push('access', 'allow: [a, b]\n');
    await a.resign();
    await eventually(async () => (await operator.getState()).leader?.id === 'b', 10_000, 'b to lead');
    // From here on nothing else writes (keepalives are a stream, not counted as unary requests).
    const before = await etcdWork(endpoint);

    const dashboard = createDashboard({
      connection: {
        endpoints: etcd.endpoints,
        cluster,
        auth: { username: viewer.username, password: viewer.password },
      },
      lastSeenIntervalMs: 200,
    });
    cleanups.push(() => dashboard.close());
    await historyDone(dashboard);
    await eventually(() => dashboard.snapshot().leader?.id === 'b', 10_000, 'the dashboard to see b lead');
    const url = await serve(dashboard);
    const snapshotText = await (await fetch(`${url}api/snapshot`)).text();
    const snapshot = JSON.parse(snapshotText) as WireSnapshot;
    expect(snapshot.members.map((m) => m.id)).toEqual(['a', 'b']);
    expect(snapshot.timeline.map((l) => [l.nodeId, l.endReason ?? 'leading'])).toEqual([
      ['a', 'withdrew'],
      ['b', 'leading'],
    ]);
    expect(snapshot.policies.map((p) => p.name)).toEqual(['access']);
    const diff = await fetch(
      `${url}api/policies/access/diff?from=${(snapshot.policies[0]?.version as number) - 1}&to=${snapshot.policies[0]?.version}`,
    );
    expect(diff.status).toBe(200);
    // Let the lease-time refresh run a few times too.
    const refreshed = dashboard.stats.sent;
    await eventually(
      async () => {
        const tab = await fetch(`${url}events`);
        await tab.body?.cancel();
        return dashboard.stats.sent > refreshed + 2;
      },
      10_000,
      'the dashboard to send a few events',
    );
    const after = await etcdWork(endpoint);
    expect(writesBetween(before, after)).toEqual({
      Put: 0,
      Txn: 0,
      DeleteRange: 0,
      LeaseGrant: 0,
      LeaseRevoke: 0,
      Compact: 0,
    });
    // No credential of the dashboard's reaches a tab.
    for (const secret of [viewer.password, root.password]) expect(snapshotText).not.toContain(secret);
  });
});
