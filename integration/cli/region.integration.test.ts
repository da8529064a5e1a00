/**
 * `ztap agent --region` and `ztap region status`: the built binary, spawned, on a loopback WAN
 * (three regional etcds and a global etcd with a member in each region).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../support/etcd.ts';
import { uniqueCluster, useWanTopology } from '../support/multi-region.ts';
import { ZtapProcess, ztap } from '../support/ztap.ts';

const shared = useWanTopology();
const agents: ZtapProcess[] = [];
afterEach(async () => {
  await Promise.all(agents.splice(0).map((agent) => agent.kill()));
});

function regionAgent(region: string, cluster: string, extra: string[] = []): ZtapProcess {
  const where = shared.topology.region(region);
  const agent = new ZtapProcess([
    'agent',
    '--id',
    `${region}-1`,
    '--address',
    '127.0.0.1:9090',
    '--endpoints',
    where.etcd.endpoints.join(','),
    '--cluster',
    cluster,
    '--election-timeout',
    '2s',
    '--heartbeat',
    '500ms',
    '--initial-leadership',
    '0s',
    '--region',
    region,
    '--global-endpoints',
    where.globalEndpoint,
    '--global-election-timeout',
    '3s',
    '--json',
    ...extra,
  ]);
  agents.push(agent);
  return agent;
}

type LogLine = { event: string; region?: string; reason?: string; globalTerm?: number };

describe('ztap agent --region and ztap region status', () => {
  it('one agent leads globally; region status shows it and every region; SIGTERM hands over to another region', async () => {
    const cluster = uniqueCluster('cli-region');
    const running = ['eu', 'us', 'ap'].map((region) => ({ region, agent: regionAgent(region, cluster) }));
    const first = await Promise.any(
      running.map(({ region, agent }) =>
        agent
          .json<LogLine>((line) => line.event === 'global_leader')
          .then((line) => ({ region, agent, line })),
      ),
    );
    for (const { agent } of running) await agent.json<LogLine>((line) => line.event === 'started');

    const args = [
      'region',
      'status',
      '--global-endpoints',
      shared.topology.region('us').globalEndpoint,
      '--cluster',
      cluster,
      '--json',
    ];
    // Each regional leader registers its region in the global store; until all have, fewer rows.
    let status = await ztap(args);
    await eventually(
      async () => {
        status = await ztap(args);
        return (
          status.code === 0 && (JSON.parse(status.stdout) as { regions: unknown[] }).regions.length === 3
        );
      },
      20_000,
      'every region in the directory',
    );
    expect(status.code, status.stderr).toBe(0);
    const parsed = JSON.parse(status.stdout) as {
      global: { leader: { region: string; term: number } };
      regions: { name: string; reachable: boolean; leader: { nodeId: string } }[];
    };
    expect(parsed.global.leader).toMatchObject({ region: first.region, term: first.line.globalTerm });
    expect(parsed.regions.map((region) => [region.name, region.reachable, region.leader.nodeId])).toEqual([
      ['ap', true, 'ap-1'],
      ['eu', true, 'eu-1'],
      ['us', true, 'us-1'],
    ]);
    const human = await ztap([
      'region',
      'status',
      '--global-endpoints',
      shared.topology.region('eu').globalEndpoint,
      '--cluster',
      cluster,
    ]);
    expect(human.stdout).toMatch(
      new RegExp(
        `^global leader  ${first.region} \\(${first.region}-1@${first.region}, global term \\d+\\)$`,
        'm',
      ),
    );
    expect(human.stdout).toMatch(/^REGION +REACHABLE +LEADER +TERM +HEALTHY +LAG +REPLICATED TO +POLICIES$/m);

    const others = running.filter(({ agent }) => agent !== first.agent);
    const successor = Promise.any(
      others.map(({ agent }) => agent.json<LogLine>((line) => line.event === 'global_leader')),
    );
    first.agent.signal('SIGTERM');
    expect(await first.agent.exited).toBe(0);
    const ended = await first.agent.json<LogLine>((line) => line.event === 'global_follower');
    expect(ended.reason).toBe('stopped');
    const next = await successor;
    expect(next.region).not.toBe(first.region);
  });

  it('refuses --region without the global etcd, naming the flag (exit 2)', async () => {
    const result = await ztap([
      'agent',
      '--id',
      'n1',
      '--address',
      '127.0.0.1:1',
      '--endpoints',
      shared.topology.region('eu').etcd.endpoints.join(','),
      '--region',
      'eu',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(
      'ztap: --global-endpoints (or ZTAP_GLOBAL_ENDPOINTS) must name the global etcd',
    );
  });

  it('exits 1 naming the region whose etcd does not answer', async () => {
    const result = await ztap([
      'region',
      'status',
      '--global-endpoints',
      shared.topology.region('eu').globalEndpoint,
      '--cluster',
      uniqueCluster('cli-region-down'),
      '--region',
      'gone=http://127.0.0.1:1',
      '--timeout',
      '4s',
    ]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /^gone +no +- +- +- +- +- +- +etcd at http:\/\/127\.0\.0\.1:1 is unreachable/m,
    );
    expect(result.stderr.trim()).toBe('ztap: cannot read region gone');
  });
});
