import { registerClusterMetrics } from '@ztap/cluster-metrics';
import { ManualClock } from '@ztap/cluster-testing';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { close, createStatusServer, health, listen } from '../src/http-service/server.ts';
import { memoryNodes } from './support/memory.ts';

// The status server on the in-memory backend: real HTTP on a free loopback port, time by hand.
describe('http service', () => {
  const clock = new ManualClock();
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('is healthy only while it vouches for its membership, reaches its backend and is not shutting down', async () => {
    const [node] = memoryNodes(clock, ['node-a']);
    const draining = new AbortController();
    const check = () => health({ ...node, draining: draining.signal });
    expect(check()).toMatchObject({ status: 'unhealthy', reason: 'the election is not running' });

    await node.election.start();
    cleanup.push(() => node.election.stop());
    expect(check()).toEqual({ status: 'ok', nodeId: 'node-a', leader: 'node-a', term: 1, isLeader: true });

    node.state.backendError = new Error('etcd at http://10.0.0.5:2379 is unreachable');
    expect(check()).toMatchObject({
      status: 'unhealthy',
      reason: 'cannot reach the cluster backend: etcd at http://10.0.0.5:2379 is unreachable',
    });
    node.state.backendError = undefined;

    node.state.healthy = false;
    await clock.advance(100); // the next heartbeat runs the failing health check
    expect(check()).toMatchObject({
      status: 'unhealthy',
      reason: 'the health check fails: the health check returned false',
      isLeader: false,
    });
    node.state.healthy = true;
    await clock.advance(100);
    expect(check().status).toBe('ok');

    draining.abort();
    expect(check()).toMatchObject({ status: 'unhealthy', reason: 'shutting down' });
  });

  it('serves /healthz and /metrics, and closes with a keep-alive connection open', async () => {
    const [node] = memoryNodes(clock, ['node-a']);
    await node.election.start();
    cleanup.push(() => node.election.stop());
    const registry = new Registry();
    const metrics = registerClusterMetrics(node.election, { registry, policies: node.policies });
    cleanup.push(() => metrics.dispose());
    const server = createStatusServer({ ...node, registry });
    const url = await listen(server, 0, '127.0.0.1');

    const healthz = await fetch(`${url}/healthz`);
    expect(healthz.status).toBe(200);
    expect(await healthz.json()).toMatchObject({ status: 'ok', isLeader: true, term: 1 });
    node.state.backendError = new Error('unreachable');
    expect((await fetch(`${url}/healthz`)).status).toBe(503);

    const scrape = await fetch(`${url}/metrics`);
    expect(scrape.headers.get('content-type')).toBe(registry.contentType);
    const text = await scrape.text();
    expect(text).toMatch(/^ztap_cluster_is_leader\{node="node-a"\} 1$/m);
    expect(text).toMatch(/^ztap_cluster_nodes_total\{state="healthy"\} 1$/m);
    expect((await fetch(`${url}/other`)).status).toBe(404);

    await close(server); // fetch keeps its connection alive: close() must not wait for it
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});
