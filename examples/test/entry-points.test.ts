import { createEtcdClient } from '@ztap/cluster-etcd';
import { type EtcdHandle, startEtcd } from '@ztap/cluster-testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExampleProcess, eventually, freePort } from './support/child.ts';

// Every example's main.ts, run as users run it, against one local etcd on loopback: each in its own
// cluster, all at once (each waits out the 3 s a new node must wait before it may lead).
describe.concurrent('example entry points on etcd', () => {
  let etcd: EtcdHandle;
  beforeAll(async () => {
    etcd = await startEtcd({ provider: 'local' });
  });
  afterAll(() => etcd?.stop());

  async function run<T>(
    entryPoint: string,
    env: Record<string, string>,
    body: (example: ExampleProcess) => Promise<T>,
  ): Promise<T> {
    const example = new ExampleProcess(entryPoint, {
      ZTAP_ETCD_ENDPOINTS: etcd.endpoints.join(','),
      ZTAP_CLUSTER: `examples-${entryPoint.split('/')[0]}-${process.pid}`,
      ...env,
    });
    try {
      return await body(example);
    } finally {
      await example.kill();
    }
  }

  it('scheduled-job: the leader runs the job with fenced writes; SIGTERM aborts the run and exits 0', async () => {
    await run(
      'scheduled-job/main.ts',
      { NODE_ID: 'job-1', JOB_INTERVAL_MS: '200', JOB_WORK_MS: '1500' },
      async (example) => {
        const done = await example.waitFor(/^\[job-1\] run 1 done \(term \d+\): 1 of 1 nodes healthy at /);
        await example.waitFor(/^\[job-1\] run 2 started/);
        expect(await example.stop('SIGTERM')).toEqual({ code: 0, signal: null });
        expect(example.stdout.slice(-3)).toEqual([
          '[job-1] SIGTERM: shutting down',
          '[job-1] run 2 aborted: shutting down (SIGTERM)',
          '[job-1] stopped',
        ]);
        // The result of run 1 is in etcd; run 2 wrote nothing.
        const client = createEtcdClient({ endpoints: etcd.endpoints, requestTimeout: 2000 });
        try {
          const key = `/ztap/clusters/examples-scheduled-job-${process.pid}/results/cluster-report`;
          expect(await client.get(key).string()).toBe(done.replace(/^.*?: /, ''));
        } finally {
          client.close();
        }
      },
    );
  }, 30_000);

  it('policy-follower: follows what its leader publishes; SIGINT exits 0', async () => {
    await run(
      'policy-follower/main.ts',
      { NODE_ID: 'follower-1', PUBLISH_INTERVAL_MS: '200' },
      async (example) => {
        await example.waitFor(/^\[follower-1\] snapshot: 0 policies, 0 changed$/);
        await example.waitFor(/^\[follower-1\] policy rate-limit added at version \d+ by follower-1$/);
        await example.waitFor(/^\[follower-1\] policy rate-limit updated to version \d+ by follower-1$/);
        expect(await example.stop('SIGINT')).toEqual({ code: 0, signal: null });
        expect(example.stdout.at(-1)).toBe('[follower-1] stopped, following 1 policies');
      },
    );
  }, 30_000);

  it('http-service: /healthz and /metrics follow the election; SIGTERM exits 0', async () => {
    const port = await freePort();
    await run('http-service/main.ts', { NODE_ID: 'web-1', PORT: String(port) }, async (example) => {
      await example.waitFor(/^\[web-1\] joined /);
      const url = `http://127.0.0.1:${port}`;
      const leading = await eventually(async () => {
        const body = (await (await fetch(`${url}/healthz`)).json()) as { isLeader: boolean };
        return body.isLeader ? body : undefined;
      });
      expect(leading).toMatchObject({ status: 'ok', nodeId: 'web-1', leader: 'web-1' });
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toMatch(/^ztap_cluster_is_leader\{node="web-1"\} 1$/m);
      expect(metrics).toMatch(/^process_cpu_user_seconds_total /m);
      expect(await example.stop('SIGTERM')).toEqual({ code: 0, signal: null });
      expect(example.stdout.at(-1)).toBe('[web-1] stopped');
    });
  }, 30_000);

  it('service: serves, reports while it leads; SIGTERM exits 0', async () => {
    const port = await freePort();
    await run(
      'service/main.ts',
      { NODE_ID: 'svc-1', PORT: String(port), REPORT_INTERVAL_MS: '200' },
      async (example) => {
        await example.waitFor(/^\[svc-1\] run 2 done \(term \d+\): nodes healthy: 1\/1, policies: 0$/);
        const healthz = await fetch(`http://127.0.0.1:${port}/healthz`);
        expect(await healthz.json()).toMatchObject({ status: 'ok', isLeader: true });
        expect(await example.stop('SIGTERM')).toEqual({ code: 0, signal: null });
        expect(example.stdout.at(-1)).toBe('[svc-1] stopped');
      },
    );
  }, 30_000);

  it('exits 1 with one line saying why when etcd cannot be reached', async () => {
    const example = new ExampleProcess('scheduled-job/main.ts', {
      NODE_ID: 'job-2',
      ZTAP_ETCD_ENDPOINTS: 'http://127.0.0.1:1',
    });
    expect(await example.exited).toEqual({ code: 1, signal: null });
    expect(example.stderr.filter(Boolean)).toEqual([
      expect.stringMatching(/^\[job-2\] etcd at http:\/\/127\.0\.0\.1:1 is unreachable/),
    ]);
  }, 30_000);
});
