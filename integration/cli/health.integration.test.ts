/**
 * `ztap agent`'s /healthz, /metrics and log tell the truth: the built binary, spawned, against a real
 * etcd (a local process where the test freezes it with SIGSTOP).
 */

import { startEtcd } from '@ztap/cluster-testing';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, uniqueCluster, useEtcd, within } from '../support/etcd.ts';
import { type ListeningAgent, listeningAgent, type ZtapProcess } from '../support/ztap.ts';

const etcd = useEtcd();
const running: ZtapProcess[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((process) => process.kill()));
});

const fastNode = ['--heartbeat', '200ms', '--election-timeout', '2s', '--initial-leadership', '0'];
const DEADLINE_REASON = "etcd has not confirmed this node's heartbeats in time";

type Listening = ListeningAgent;

/** An agent with --listen on a free port, once it serves. */
function agent(
  endpoints: readonly string[],
  cluster: string,
  id: string,
  extra: string[] = [],
): Promise<Listening> {
  const connection = ['--endpoints', endpoints.join(','), '--cluster', cluster];
  const address = `127.0.0.1:${9100 + running.length}`;
  return within(listeningAgent(running, connection, id, address, [...fastNode, ...extra]));
}

interface Health {
  readonly status: number;
  readonly body: { status: string; reason?: string; isLeader: boolean };
}

async function health(node: Listening): Promise<Health> {
  const response = await fetch(`${node.url}/healthz`);
  return { status: response.status, body: (await response.json()) as Health['body'] };
}

/** The sum of all samples of `name` in the agent's /metrics. */
async function metric(node: Listening, name: string): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name} `) || line.startsWith(`${name}{`))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

const events = (node: Listening, event: string) =>
  node.process.lines.items.map((line) => JSON.parse(line)).filter((line) => line.event === event);

describe('ztap agent /healthz while etcd is frozen', () => {
  it('answers 503 from the step-down deadline on, for the leader and a follower alike, and counts the failed heartbeats', async () => {
    const frozen = await startEtcd({ provider: 'local' });
    try {
      const member = frozen.members[0];
      if (!member) throw new Error('a local etcd has a member');
      const cluster = uniqueCluster('cli-frozen');
      const leader = await agent(frozen.endpoints, cluster, 'f1');
      await within(leader.process.json((line) => line.event === 'leader'));
      const follower = await agent(frozen.endpoints, cluster, 'f2');
      await within(follower.process.json((line) => line.event === 'leader_elected' && line.leader === 'f1'));
      expect((await health(leader)).status).toBe(200);
      expect((await health(follower)).status).toBe(200);
      expect(await metric(leader, 'ztap_cluster_heartbeat_failures_total')).toBe(0);

      member.pause();
      try {
        // The leader steps down at its deadline; by then its /healthz must already say why.
        await within(
          leader.process.json((line) => line.event === 'follower' && line.reason === 'deadline'),
          20_000,
          "the leader's step-down at its deadline",
        );
        const deposed = await health(leader);
        expect(deposed.status).toBe(503);
        expect(deposed.body).toMatchObject({ status: 'unhealthy', isLeader: false });
        expect(deposed.body.reason).toContain(DEADLINE_REASON);

        // The follower has the same deadline on its own lease.
        await eventually(async () => (await health(follower)).status === 503, 15_000, "the follower's 503");
        expect((await health(follower)).body.reason).toContain(DEADLINE_REASON);
        for (const node of [leader, follower]) {
          const logged = await within(
            node.process.json<{ event: string; reason: string }>((line) => line.event === 'unhealthy'),
          );
          expect(logged.reason).toContain(DEADLINE_REASON);
        }
        // Keepalives that etcd never answers are failed heartbeats, counted.
        await eventually(
          async () => (await metric(follower, 'ztap_cluster_heartbeat_failures_total')) > 0,
          15_000,
          'failed heartbeats to be counted',
        );
      } finally {
        member.resume();
      }

      for (const node of [leader, follower]) {
        await eventually(async () => (await health(node)).status === 200, 30_000, '/healthz to recover');
        await within(node.process.json((line) => line.event === 'healthy'));
        expect(
          events(node, 'unhealthy').filter((line) => line.reason.includes(DEADLINE_REASON)),
        ).toHaveLength(1);
      }
      expect(await metric(leader, 'ztap_cluster_heartbeat_failures_total')).toBeGreaterThan(0);
    } finally {
      await frozen.stop();
    }
  }, 90_000);
});

describe('ztap agent --health-cmd', () => {
  it('explains a failing command: exit status and stderr, in /healthz and once in the log', async () => {
    // A heartbeat of 1 s is also the command's deadline: ample for /bin/sh on a busy machine.
    const sick = await agent(etcd.endpoints, uniqueCluster('cli-health-cmd'), 'sick', [
      '--heartbeat',
      '1s',
      '--election-timeout',
      '3s',
      '--health-cmd',
      'echo broken >&2; exit 3',
    ]);
    const reason = 'the health check fails: health command exited with status 3: broken';
    const answer = await health(sick);
    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({ status: 'unhealthy', reason, isLeader: false });
    expect((await within(sick.process.json((line) => line.event === 'unhealthy'))).reason).toBe(reason);

    // Several heartbeats (each runs the command again) later: a line per change of reason, not per run.
    const heartbeats = await metric(sick, 'ztap_cluster_heartbeat_latency_seconds_count');
    await eventually(
      async () => (await metric(sick, 'ztap_cluster_heartbeat_latency_seconds_count')) >= heartbeats + 4,
      20_000,
      'four more heartbeats',
    );
    const reasons = events(sick, 'unhealthy').map((line) => line.reason);
    expect(reasons.filter((logged, index) => logged === reasons[index - 1])).toEqual([]);
    expect(reasons).toEqual([reason]);
    expect((await health(sick)).body.reason).toBe(reason);
  });
});

describe('ztap agent HTTP endpoints', () => {
  it('answer GET and HEAD; other methods get 405 with Allow, other paths 404', async () => {
    const node = await agent(etcd.endpoints, uniqueCluster('cli-http'), 'h1');
    for (const path of ['/healthz', '/metrics']) {
      for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
        const response = await fetch(`${node.url}${path}`, { method });
        expect(response.status, `${method} ${path}`).toBe(405);
        expect(response.headers.get('allow')).toBe('GET, HEAD');
        expect(await response.json()).toEqual({
          error: `method ${method} not allowed on ${path}: use GET, HEAD`,
        });
      }
      const head = await fetch(`${node.url}${path}`, { method: 'HEAD' });
      expect(head.status, `HEAD ${path}`).toBe(200);
      expect(await head.text()).toBe('');
      expect(Number(head.headers.get('content-length'))).toBeGreaterThan(0);
    }
    expect((await fetch(`${node.url}/healthz?verbose=1`)).status).toBe(200);
    expect((await fetch(`${node.url}/nope`)).status).toBe(404);
    expect((await fetch(`${node.url}/nope`, { method: 'POST' })).status).toBe(404);
  });
});
