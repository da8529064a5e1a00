/**
 * `ztap agent --role member --view leader`: a fleet of the built binary, spawned, against a real
 * etcd. Members register, stay healthy and never lead, also when the only candidate is SIGKILLed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { uniqueCluster, useEtcd, within } from '../support/etcd.ts';
import { type ListeningAgent, listeningAgent, type ZtapProcess, ztap } from '../support/ztap.ts';

const etcd = useEtcd();
const running: ZtapProcess[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((process) => process.kill()));
});

const fastNode = ['--heartbeat', '200ms', '--election-timeout', '2s', '--initial-leadership', '0'];

type Agent = ListeningAgent;

const agent = (cluster: string, id: string, extra: string[] = []): Promise<Agent> =>
  within(
    listeningAgent(running, target(cluster), id, `127.0.0.1:${9200 + running.length}`, [
      ...fastNode,
      ...extra,
    ]),
  );

const target = (cluster: string) => ['--endpoints', etcd.endpoints.join(','), '--cluster', cluster];

interface HealthBody {
  readonly status: string;
  readonly role: string;
  readonly leader: string | null;
  readonly isLeader: boolean;
}

async function health(node: Agent): Promise<{ code: number; body: HealthBody }> {
  const response = await fetch(`${node.url}/healthz`);
  return { code: response.status, body: (await response.json()) as HealthBody };
}

/** Resolves once `node`'s log reports `leader` leading (or, for null, no leader). */
const logsLeader = (node: Agent, leader: string | null) =>
  within(
    node.process.json<{ event: string; leader?: string }>((line) =>
      leader === null
        ? line.event === 'leader_lost'
        : line.event === 'leader_elected' && line.leader === leader,
    ),
  );

const nodesOf = (listJson: string) =>
  (JSON.parse(listJson) as { nodes: { id: string; state: string }[] }).nodes;

const events = (node: Agent, event: string) =>
  node.process.lines.items.map((line) => JSON.parse(line)).filter((line) => line.event === event);

describe('ztap agent --role member', () => {
  it('members register and stay healthy, never lead, and see the candidate go when it is SIGKILLed', async () => {
    const cluster = uniqueCluster('cli-roles');
    const candidate = await agent(cluster, 'c1');
    await within(candidate.process.json((line) => line.event === 'leader'));
    // Members sort before the candidate, and join after it: as candidates either would lead after it.
    const narrow = await agent(cluster, 'a-narrow', ['--role', 'member', '--view', 'leader']);
    const full = await agent(cluster, 'b-full', ['--role', 'member']);
    await Promise.all([logsLeader(narrow, 'c1'), logsLeader(full, 'c1')]);
    expect(events(narrow, 'started')[0]).toMatchObject({ role: 'member', view: 'leader' });
    for (const member of [narrow, full]) {
      expect(await health(member)).toEqual({
        code: 200,
        body: expect.objectContaining({ status: 'ok', role: 'member', leader: 'c1', isLeader: false }),
      });
    }
    const listed = await ztap([...target(cluster), '--json', 'cluster', 'list']);
    expect(nodesOf(listed.stdout).map(({ id, state }) => `${id}:${state}`)).toEqual([
      'a-narrow:healthy',
      'b-full:healthy',
      'c1:healthy',
    ]);

    // /metrics: the narrow member keeps no member list, so it has no node count to report.
    const nodeSeries = async (node: Agent) => {
      const response = await fetch(`${node.url}/metrics`);
      expect(response.status).toBe(200);
      const text = await response.text();
      expect(text).toContain('ztap_cluster_is_leader{node=');
      return text.split('\n').filter((line) => line.startsWith('ztap_cluster_nodes_total{'));
    };
    expect(await nodeSeries(narrow)).toEqual([]);
    expect(await nodeSeries(full)).toContain('ztap_cluster_nodes_total{state="healthy"} 3');

    candidate.process.signal('SIGKILL');
    // The lease runs out (2 s): both members hear the leader go, and nobody takes over.
    await Promise.all([logsLeader(narrow, null), logsLeader(full, null)]);
    for (const member of [narrow, full]) {
      expect(await health(member)).toEqual({
        code: 200,
        body: expect.objectContaining({ status: 'ok', role: 'member', leader: null, isLeader: false }),
      });
    }
    const status = await ztap([...target(cluster), '--json', 'cluster', 'status']);
    expect(status.code).toBe(1); // no leader
    const after = await ztap([...target(cluster), '--json', 'cluster', 'list']);
    expect(nodesOf(after.stdout).map(({ id }) => id)).toEqual(['a-narrow', 'b-full']);
    expect([...events(narrow, 'leader'), ...events(full, 'leader')]).toEqual([]);

    // A new candidate is followed by both.
    await agent(cluster, 'c2');
    await Promise.all([logsLeader(narrow, 'c2'), logsLeader(full, 'c2')]);
  });
});
