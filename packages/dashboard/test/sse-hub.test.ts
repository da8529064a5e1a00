import { connect } from 'node:net';
import { systemClock } from '@ztap/cluster';
import { eventually, Recorder } from '@ztap/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { SseHub } from '../src/sse-hub.ts';
import { serveOnLoopback, serverSentEvents } from './http-server.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function hubOnLoopback(maxBufferedBytes: number) {
  const hub = new SseHub({ maxBufferedBytes, heartbeatMs: 60_000, clock: systemClock });
  const server = await serveOnLoopback((_request, response) => hub.attach(response, '{"kind":"snapshot"}'));
  cleanups.push(() => hub.close(), server.close);
  return { hub, url: server.url };
}

describe('SseHub', () => {
  it('sends every tab the snapshot, then the same deltas in order', async () => {
    const { hub, url } = await hubOnLoopback(1 << 20);
    const tabs = [1, 2].map(() => new Recorder(serverSentEvents(url)));
    await Promise.all(tabs.map((tab) => tab.first((e) => e.event === 'snapshot')));
    hub.broadcast('{"n":1}');
    hub.broadcast('{"n":2}');
    for (const tab of tabs) {
      const items = await tab.until((all) => all.length === 3);
      expect(items).toEqual([
        { event: 'snapshot', data: '{"kind":"snapshot"}' },
        { event: 'delta', data: '{"n":1}' },
        { event: 'delta', data: '{"n":2}' },
      ]);
    }
    expect(hub.stats).toMatchObject({ clients: 2, dropped: 0, sent: 6 });
  });

  it('disconnects a tab that stops reading instead of buffering for it without bound', async () => {
    const maxBufferedBytes = 64 * 1024;
    const { hub, url } = await hubOnLoopback(maxBufferedBytes);
    const healthy = new Recorder(serverSentEvents(url));
    await healthy.first((e) => e.event === 'snapshot');
    // A tab that asks for the stream and then never reads a byte.
    const { port } = new URL(url);
    const stalled = connect(Number(port), '127.0.0.1');
    cleanups.push(() => void stalled.destroy());
    stalled.pause();
    stalled.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await eventually(() => hub.stats.clients === 2, 5000, 'the stalled tab to connect');
    const payload = JSON.stringify({ filler: 'x'.repeat(256 * 1024) });
    let sent = 0;
    // Each delta waits until the healthy tab has read the previous one: only the stalled tab falls behind.
    while (hub.stats.dropped === 0 && sent < 400) {
      hub.broadcast(payload);
      sent++;
      await healthy.until((items) => items.length === sent + 1, 'the healthy tab to keep up');
    }
    expect(hub.stats.dropped).toBe(1);
    expect(hub.stats.clients).toBe(1);
    hub.broadcast('{"after":"drop"}');
    await healthy.first((e) => e.data === '{"after":"drop"}');
  });
});
