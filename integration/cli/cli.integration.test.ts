/**
 * The `ztap` command as an operator uses it: the built binary, spawned, against a real etcd.
 */

import { cutOffProxy } from '@ztap/cluster-testing';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, memberRecord, uniqueCluster, useEtcd, within } from '../support/etcd.ts';
import { agentArgs as argsOfAgent, ZtapProcess, ztap } from '../support/ztap.ts';

const etcd = useEtcd();
const running: ZtapProcess[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((process) => process.kill()));
});

/** Global options pointing at this test's etcd and its own cluster. */
const target = (cluster: string) => ['--endpoints', etcd.endpoints.join(','), '--cluster', cluster];
const fastNode = ['--heartbeat', '200ms', '--election-timeout', '2s', '--initial-leadership', '0'];

function start(args: string[]): ZtapProcess {
  const process = new ZtapProcess(args);
  running.push(process);
  return process;
}

/** `ztap agent` in `cluster` with fast timings and JSON lines. */
const agentArgs = (cluster: string, id: string, address: string, extra: string[] = []) =>
  argsOfAgent(target(cluster), id, address, [...fastNode, ...extra]);

function agent(cluster: string, id: string, extra: string[] = []): ZtapProcess {
  return start(agentArgs(cluster, id, `127.0.0.1:${9000 + running.length}`, extra));
}

describe('ztap cluster join / list / leave', () => {
  it('round-trips a node, in tables and in JSON', async () => {
    const cluster = uniqueCluster('cli-roundtrip');
    const joined = await ztap([
      ...target(cluster),
      'cluster',
      'join',
      'node-2',
      '192.168.1.2:9090',
      '--meta',
      'zone=eu-1',
      '--meta',
      'tier=a=b',
    ]);
    expect(joined).toMatchObject({ code: 0, stderr: '' });
    expect(joined.stdout).toBe(`node node-2 joined cluster ${cluster} at 192.168.1.2:9090\n`);

    const table = await ztap([...target(cluster), 'cluster', 'list']);
    expect(table.code).toBe(0);
    const [header, row] = table.stdout.trim().split('\n');
    expect(header?.split(/\s{2,}/)).toEqual([
      'ID',
      'ADDRESS',
      'STATE',
      'ROLE',
      'JOINED',
      'LAST SEEN',
      'METADATA',
    ]);
    expect(row?.split(/\s{2,}/)).toEqual([
      'node-2',
      '192.168.1.2:9090',
      'unknown',
      'follower',
      expect.stringMatching(/ago$/),
      expect.stringMatching(/ago$/),
      'zone=eu-1,tier=a=b',
    ]);

    const json = JSON.parse((await ztap([...target(cluster), '--json', 'cluster', 'list'])).stdout);
    expect(json).toMatchObject({
      cluster,
      prefix: `/ztap/clusters/${cluster}/`,
      leader: null,
      term: null,
      nodes: [
        {
          id: 'node-2',
          address: '192.168.1.2:9090',
          state: 'unknown',
          role: 'follower',
          metadata: { zone: 'eu-1', tier: 'a=b' },
        },
      ],
    });

    const twice = await ztap([...target(cluster), 'cluster', 'join', 'node-2', '192.168.1.2:9090']);
    expect(twice).toMatchObject({
      code: 1,
      stderr: 'ztap: node "node-2" is already a member of the cluster\n',
    });

    expect((await ztap([...target(cluster), 'cluster', 'leave', 'node-2'])).stdout).toBe(
      `node node-2 left cluster ${cluster}\n`,
    );
    const unknown = await ztap([...target(cluster), 'cluster', 'leave', 'node-2']);
    expect(unknown).toMatchObject({
      code: 1,
      stderr: 'ztap: node "node-2" is not a member of the cluster\n',
    });
    expect((await ztap([...target(cluster), 'cluster', 'list'])).stdout).toBe(
      `no nodes in cluster "${cluster}"\n`,
    );
  });
});

describe('ztap cluster status', () => {
  it('shows the leader, its term and the health of two running agents', async () => {
    const cluster = uniqueCluster('cli-status');
    const first = agent(cluster, 'a1');
    const led = await within(first.json<{ event: string; term: number }>((line) => line.event === 'leader'));
    const second = agent(cluster, 'a2');
    await within(second.json((line) => line.event === 'started'));

    const status = await ztap([...target(cluster), '--json', 'cluster', 'status']);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      cluster,
      leader: { id: 'a1', state: 'healthy', role: 'leader' },
      term: led.term,
      nodes: { total: 2, healthy: 2, unhealthy: 0, unknown: 0 },
    });
    const human = await ztap([...target(cluster), 'cluster', 'status']);
    expect(human.stdout).toContain(`leader   a1 (term ${led.term}, `);
    expect(human.stdout).toContain('nodes    2 (2 healthy, 0 unhealthy, 0 unknown)');
  });

  it('exits 1 with one line when the cluster has no leader', async () => {
    const status = await ztap([...target(uniqueCluster('cli-empty')), 'cluster', 'status']);
    expect(status.code).toBe(1);
    expect(status.stdout).toContain('leader   none');
    expect(status.stderr).toMatch(/^ztap: no leader in cluster "cli-empty-[\d-]+"\n$/);
  });
});

describe('ztap cluster watch', () => {
  it('--json prints one object per line for a join and a leave', async () => {
    const cluster = uniqueCluster('cli-watch');
    await ztap([...target(cluster), 'cluster', 'join', 'existing', '127.0.0.1:1']);
    const watch = start([...target(cluster), '--json', 'cluster', 'watch']);
    // Its first line replays the existing member: from then on the watch is live.
    await within(watch.json<{ node: { id: string } }>((line) => line.node.id === 'existing'));
    await ztap([...target(cluster), 'cluster', 'join', 'w1', '10.0.0.1:9090', '--meta', 'zone=z']);
    await ztap([...target(cluster), 'cluster', 'leave', 'w1']);
    const joined = await within(
      watch.json<{ type: string; node: { id: string } }>(
        (l) => l.type === 'node_joined' && l.node.id === 'w1',
      ),
    );
    const left = await within(
      watch.json<{ type: string; node: { id: string } }>((l) => l.type === 'node_left' && l.node.id === 'w1'),
    );
    expect(joined).toMatchObject({
      type: 'node_joined',
      node: { id: 'w1', address: '10.0.0.1:9090', state: 'unknown', metadata: { zone: 'z' } },
    });
    expect(left).toMatchObject({ type: 'node_left', node: { id: 'w1' } });
    expect(watch.lines.items.every((line) => typeof JSON.parse(line).timestamp === 'string')).toBe(true);
    watch.signal('SIGINT');
    expect(await within(watch.exited)).toBe(0);
  });
});

describe('ztap agent', () => {
  // A lease TTL far beyond the test's bound: the successor can only lead in time if the leader
  // resigned and revoked its lease on the signal, not because the lease expired.
  const longLease = ['--election-timeout', '60s'];

  it.each(['SIGTERM', 'SIGHUP'] as const)(
    'serves /healthz, and %s on the leader hands over at once: it resigns and revokes its lease',
    async (signal) => {
      const cluster = uniqueCluster('cli-agent');
      const leader = agent(cluster, 'a1', ['--listen', '0', ...longLease]);
      await within(leader.json((line) => line.event === 'leader'));
      const listening = await within(
        leader.json<{ event: string; port: number }>((line) => line.event === 'listening'),
      );
      const health = await fetch(`http://127.0.0.1:${listening.port}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'ok', nodeId: 'a1', leader: 'a1', isLeader: true });

      const follower = agent(cluster, 'a2', longLease);
      await within(follower.json((line) => line.event === 'leader_elected' && line.leader === 'a1'));
      const sentAt = Date.now();
      leader.signal(signal);
      const took = await within(
        follower.json<{ event: string; time: string }>((line) => line.event === 'leader'),
        20_000,
        `a2 to lead well before a1's 60 s lease could expire (a1 must resign on ${signal})`,
      );
      console.info(
        `[cli] ${signal} on the leader agent: successor leads after ${Date.parse(took.time) - sentAt} ms`,
      );
      expect(await within(leader.exited)).toBe(0);
      expect(leader.lines.items.some((line) => JSON.parse(line).event === 'stopped')).toBe(true);
    },
  );
});

describe('ztap agent /healthz', () => {
  it('answers 503 with the reason when the node cannot reach etcd, and 200 again once it can', async () => {
    const link = await cutOffProxy(etcd);
    try {
      const cluster = uniqueCluster('cli-healthz');
      const isolated = start([
        '--endpoints',
        link.endpoints.join(','),
        '--cluster',
        cluster,
        '--json',
        'agent',
        '--id',
        'h1',
        '--address',
        '127.0.0.1:9001',
        '--listen',
        '0',
        ...fastNode,
        '--timeout',
        '500ms',
      ]);
      const { port } = await within(
        isolated.json<{ event: string; port: number }>((line) => line.event === 'listening'),
      );
      const health = async () => {
        const response = await fetch(`http://127.0.0.1:${port}/healthz`);
        return {
          status: response.status,
          body: (await response.json()) as { status: string; reason?: string },
        };
      };
      expect((await health()).status).toBe(200);
      link.cut();
      await eventually(async () => (await health()).status === 503, 15_000, '/healthz to report 503');
      expect((await health()).body).toMatchObject({
        status: 'unhealthy',
        reason: expect.stringContaining("etcd has not confirmed this node's heartbeats in time"),
      });
      link.heal();
      await eventually(async () => (await health()).status === 200, 15_000, '/healthz to recover');
    } finally {
      await link.close();
    }
  }, 40_000);
});

describe('one node id, one node', () => {
  const refusal = (id: string, holder: string) =>
    new RegExp(
      `^ztap: node id "${id}" is in use by a running node at ${holder.replaceAll('.', '\\.')} ` +
        '\\(since \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\\); pick another --id, or stop that node first\\n$',
    );

  it('a second agent with a running agent’s id exits 1 with one line; the first keeps leading at its address', async () => {
    const cluster = uniqueCluster('cli-dup');
    const first = start(agentArgs(cluster, 'node-1', '127.0.0.1:9101'));
    const led = await within(first.json<{ event: string; term: number }>((line) => line.event === 'leader'));

    const second = await ztap(agentArgs(cluster, 'node-1', '127.0.0.1:9102'));
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(refusal('node-1', '127.0.0.1:9101'));

    const list = JSON.parse((await ztap([...target(cluster), '--json', 'cluster', 'list'])).stdout);
    expect(list).toMatchObject({
      leader: 'node-1',
      term: led.term,
      nodes: [{ id: 'node-1', address: '127.0.0.1:9101', state: 'healthy', role: 'leader' }],
    });
    expect(first.lines.items.map((line) => JSON.parse(line).event)).not.toContain('follower');
  }, 20_000);

  it('ztap run with a running agent’s id exits 1 with the same line and never starts its command', async () => {
    const cluster = uniqueCluster('cli-dup-run');
    const first = start(agentArgs(cluster, 'node-1', '127.0.0.1:9103'));
    await within(first.json((line) => line.event === 'started'));
    const run = await ztap([
      ...target(cluster),
      'run',
      '--id',
      'node-1',
      ...fastNode,
      '--',
      'sh',
      '-c',
      'echo ran',
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(refusal('node-1', '127.0.0.1:9103'));
    expect(run.stdout).not.toContain('ran');
  }, 20_000);

  it('an agent SIGKILLed and restarted at once joins once its old lease has expired, and leads again', async () => {
    const cluster = uniqueCluster('cli-restart');
    const args = agentArgs(cluster, 'node-1', '127.0.0.1:9104');
    const crashed = start(args);
    await within(crashed.json((line) => line.event === 'leader'));
    const member = await etcd.client.kv.range({
      key: Buffer.from(`/ztap/clusters/${cluster}/members/node-1`),
    });
    const oldLease = String(member.kvs[0]?.lease);
    await crashed.kill();

    const restarted = start(args);
    await within(restarted.json((line) => line.event === 'started'));
    const old = await etcd.client.leaseClient.leaseTimeToLive({ ID: oldLease });
    expect(Number(old.TTL)).toBe(-1);
    await within(restarted.json((line) => line.event === 'leader'));
    const list = JSON.parse((await ztap([...target(cluster), '--json', 'cluster', 'list'])).stdout);
    expect(list).toMatchObject({ leader: 'node-1', nodes: [{ id: 'node-1', state: 'healthy' }] });
  }, 20_000);

  it('an agent whose record another live node takes logs why it is unhealthy, answers 503, and leads again once the id is free', async () => {
    const cluster = uniqueCluster('cli-taken');
    const first = start(agentArgs(cluster, 'node-1', '127.0.0.1:9105', ['--listen', '0']));
    await within(first.json((line) => line.event === 'leader'));
    const { port } = await within(
      first.json<{ event: string; port: number }>((line) => line.event === 'listening'),
    );
    const usurper = etcd.client.lease(2, { autoKeepAlive: true });
    await usurper.grant();
    const record = memberRecord({ address: '127.0.0.1:9106', joinedAt: new Date().toISOString() });
    await usurper.put(`/ztap/clusters/${cluster}/members/node-1`).value(record);

    const standingAside =
      /^node id "node-1" is in use by a running node at 127\.0\.0\.1:9106 \(since [\dT:-]+Z\): this node stands aside until the id is free$/;
    await within(
      first.json<{ event: string; reason: string }>(
        (line) => line.event === 'unhealthy' && standingAside.test(line.reason),
      ),
    );
    await within(first.json((line) => line.event === 'follower' && line.reason === 'lease_lost'));
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({
      status: 'unhealthy',
      reason: expect.stringMatching(standingAside),
    });

    await usurper.revoke();
    const leading = (lines: readonly string[]) => lines.filter((line) => JSON.parse(line).event === 'leader');
    await within(first.lines.until((lines) => leading(lines).length === 2, 'node-1 to lead again'));
    await within(first.json((line) => line.event === 'healthy'));
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  }, 20_000);
});
