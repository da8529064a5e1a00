import { Recorder } from '@ztap/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { createDashboardOn, type Dashboard } from '../src/dashboard.ts';
import { CONTENT_SECURITY_POLICY } from '../src/http-handler.ts';
import type { WireDelta, WirePolicyDiff, WireSnapshot } from '../src/wire.ts';
import { serveOnLoopback, serverSentEvents } from './http-server.ts';
import { change, policy, ScriptedSource } from './scripted-source.ts';

const TOKEN = 'correct-horse-battery-staple';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(options: { token?: string; basePath?: string } = {}) {
  const source = new ScriptedSource();
  const dashboard: Dashboard = createDashboardOn(source, { ...options, lastSeenIntervalMs: 0 });
  const server = await serveOnLoopback(dashboard.handler);
  cleanups.push(() => dashboard.close(), server.close);
  return { source, dashboard, url: server.url };
}

describe('the dashboard handler', () => {
  it('serves the page with a strict Content-Security-Policy and nothing from other origins', async () => {
    const { url } = await start();
    const response = await fetch(`${url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'none'");
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const page = await response.text();
    expect(page).toContain('<script type="module" src="assets/app.js">');
    // Every resource the page names is one of ours (relative), never another origin.
    expect(page).not.toMatch(/(?:src|href)="(?:https?:)?\/\//);
    const script = await fetch(`${url}/assets/app.js`);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await script.text()).toContain("new EventSource('events')");
  });

  it('answers unknown paths with 404 and anything but GET with 405 (it is read-only)', async () => {
    const { url } = await start();
    expect((await fetch(`${url}/assets/../../package.json`)).status).toBe(404);
    expect((await fetch(`${url}/assets/missing.js`)).status).toBe(404);
    expect((await fetch(`${url}/nope`)).status).toBe(404);
    expect((await fetch(`${url}/`, { method: 'POST' })).status).toBe(405);
  });

  it('lives under its base path', async () => {
    const { url } = await start({ basePath: '/ops/dashboard' });
    const bare = await fetch(`${url}/ops/dashboard`, { redirect: 'manual' });
    expect(bare.status).toBe(308);
    expect(bare.headers.get('location')).toBe('/ops/dashboard/');
    expect((await fetch(`${url}/ops/dashboard/`)).status).toBe(200);
    expect((await fetch(`${url}/`)).status).toBe(404);
  });

  it('streams a snapshot, then deltas, to every tab', async () => {
    const { source, url } = await start();
    source.initialChanges = [change('node_joined', 'a')];
    const tabs = [1, 2, 3].map(() => new Recorder(serverSentEvents(`${url}/events`)));
    const snapshots = await Promise.all(tabs.map((tab) => tab.first((e) => e.event === 'snapshot')));
    for (const snapshot of snapshots)
      expect((JSON.parse(snapshot.data) as WireSnapshot).kind).toBe('snapshot');
    source.clusterChanges.publish(change('node_joined', 'b'));
    for (const tab of tabs) {
      const event = await tab.first(
        (e) =>
          e.event === 'delta' &&
          (JSON.parse(e.data) as WireDelta).kind === 'members' &&
          e.data.includes('"b"'),
      );
      expect(JSON.parse(event.data)).toMatchObject({ kind: 'members', upserts: [{ id: 'b' }] });
    }
  });

  it('serves a policy’s versions, a version’s document and the diff between two versions', async () => {
    const { source, url } = await start();
    source.pushPolicy(policy('access', 5, 'rules:\n  - allow: a\n'));
    source.pushPolicy(policy('access', 9, 'rules:\n  - allow: a\n  - deny: b\n'));
    const versions = await (await fetch(`${url}/api/policies/access/versions`)).json();
    expect(versions.map((v: { version: number }) => v.version)).toEqual([9, 5]);
    const document = await (await fetch(`${url}/api/policies/access?version=5`)).json();
    expect(document).toMatchObject({ name: 'access', version: 5, document: 'rules:\n  - allow: a\n' });
    const diff = (await (
      await fetch(`${url}/api/policies/access/diff?from=5&to=9`)
    ).json()) as WirePolicyDiff;
    expect(diff.lines).toEqual([
      { op: 'same', text: 'rules:' },
      { op: 'same', text: '  - allow: a' },
      { op: 'add', text: '  - deny: b' },
    ]);
  });

  it('says which parameter is wrong, and when a version is not in history', async () => {
    const { source, url } = await start();
    source.pushPolicy(policy('access', 5));
    const bad = await fetch(`${url}/api/policies/access/diff?from=x&to=5`);
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatch(/^from must be a policy version/);
    const gone = await fetch(`${url}/api/policies/access?version=3`);
    expect(gone.status).toBe(400);
    expect((await gone.json()).error).toMatch(/has no version 3 in etcd's history/);
    const name = await fetch(`${url}/api/policies/Bad%20Name/versions`);
    expect(name.status).toBe(400);
    expect((await name.json()).error).toMatch(/^policy name must be/);
  });
});

describe('the token rule', () => {
  it('refuses every request without the token, with a 401 page that does not reveal it', async () => {
    const { url } = await start({ token: TOKEN });
    for (const path of ['/', '/events', '/api/snapshot', '/assets/app.js', '/api/policies/a/versions']) {
      const response = await fetch(`${url}${path}`);
      expect(response.status, path).toBe(401);
      expect(await response.text()).not.toContain(TOKEN);
    }
    expect(
      (await fetch(`${url}/`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status,
    ).toBe(401);
    expect((await fetch(`${url}/?token=wrong-token-wrong-token`)).status).toBe(401);
  });

  it('accepts a bearer token', async () => {
    const { url } = await start({ token: TOKEN });
    const response = await fetch(`${url}/api/snapshot`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(200);
    expect(await response.text()).not.toContain(TOKEN);
  });

  it('turns a one-time ?token= link into an HttpOnly, SameSite=Strict cookie that is not the token', async () => {
    const { url } = await start({ token: TOKEN });
    const link = await fetch(`${url}/?token=${TOKEN}&x=1`, { redirect: 'manual' });
    expect(link.status).toBe(303);
    expect(link.headers.get('location')).toBe('/?x=1');
    const cookie = link.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^ztap_dashboard_session=[\w-]+; Path=\/; HttpOnly; SameSite=Strict$/);
    expect(cookie).not.toContain(TOKEN);
    const session = cookie.split(';')[0] as string;
    const page = await fetch(`${url}/?x=1`, { headers: { cookie: session } });
    expect(page.status).toBe(200);
    expect(await page.text()).not.toContain(TOKEN);
    expect((await fetch(`${url}/`, { headers: { cookie: `${session}x` } })).status).toBe(401);
  });

  it('rejects a short token when the dashboard is created', () => {
    expect(() => createDashboardOn(new ScriptedSource(), { token: 'short' })).toThrow(
      /^token must be at least 16 characters/,
    );
  });
});
