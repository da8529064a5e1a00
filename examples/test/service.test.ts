import type { PolicySync } from '@ztap/cluster';
import { ManualClock } from '@ztap/cluster-testing';
import { afterEach, describe, expect, it } from 'vitest';
import { type Service, startService } from '../src/service/app.ts';
import { logLines, type MemoryNode, memoryNodes } from './support/memory.ts';

// The pattern to copy: service/app.ts, exactly as main.ts runs it on etcd, here on the in-memory
// backend: three instances on one hub, time driven by a manual clock, HTTP on free loopback ports.
describe('service on the in-memory backend', () => {
  const clock = new ManualClock();
  const running: Service[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((service) => service.stop()));
  });

  async function start(node: MemoryNode) {
    const { lines, log } = logLines();
    const service = await startService(node, { port: 0, reportIntervalMs: 1000, clock, log });
    running.push(service);
    const healthz = async () => (await fetch(`${service.url}/healthz`)).json();
    return { ...node, service, lines, healthz };
  }

  it('serves every instance, follows policies everywhere, and reports from the leader until it stops', async () => {
    const nodes = memoryNodes(clock, ['node-a', 'node-b', 'node-c']);
    const [a, b, c] = [await start(nodes[0]), await start(nodes[1]), await start(nodes[2])];
    await clock.advance(0);
    // node-a led the moment it started, and reported at once, before the others had joined.
    expect(await a.store.get('cluster-report')).toBe('nodes healthy: 1/1, policies: 0');
    for (const node of [a, b, c])
      expect(await node.healthz()).toMatchObject({ status: 'ok', leader: 'node-a' });

    await a.policies.syncPolicy('web', 'allow: [443]\n'); // only the leader may
    await clock.advance(1000);
    for (const node of [a, b, c]) expect(node.service.policies.get('web')?.document).toBe('allow: [443]\n');
    expect(await a.store.get('cluster-report')).toBe('nodes healthy: 3/3, policies: 1');

    await a.service.stop(); // SIGTERM in main.ts: resign, leave, close
    await expect(a.service.done).resolves.toBeUndefined();
    expect(a.lines.at(-1)).toBe('run 2 done (term 1): nodes healthy: 3/3, policies: 1');
    await clock.advance(0);
    expect(await b.healthz()).toMatchObject({ status: 'ok', leader: 'node-b', isLeader: true, term: 2 });
    expect(await b.store.get('cluster-report')).toBe('nodes healthy: 2/2, policies: 1');
    await expect(fetch(`${a.service.url}/healthz`)).rejects.toThrow(); // its server is closed
  });

  it('stops itself, and says why, when a part of it fails', async () => {
    const [node] = memoryNodes(clock, ['node-a']);
    const broken: PolicySync = Object.create(node.policies, {
      subscribePolicies: {
        value: () => ({
          [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('policy backend gone')) }),
        }),
      },
    });
    const { service, lines } = await start({ ...node, policies: broken });
    await expect(service.done).rejects.toThrow('policy backend gone');
    expect(lines).toContain('failed: policy backend gone');
    expect(node.election.isLeader()).toBe(false);
    expect(node.election.getNodes()).toEqual([]); // stopped: left the cluster
  });
});
