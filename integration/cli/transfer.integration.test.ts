/**
 * `ztap cluster transfer` as an operator uses it: the built binary against running agents on a real
 * etcd. See docs/leadership-control.md.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { uniqueCluster, useEtcd, within } from '../support/etcd.ts';
import { agentArgs, ZtapProcess, ztap } from '../support/ztap.ts';

const etcd = useEtcd();
const running: ZtapProcess[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((process) => process.kill()));
});

const target = (cluster: string) => ['--endpoints', etcd.endpoints.join(','), '--cluster', cluster];
const fastNode = ['--heartbeat', '200ms', '--election-timeout', '2s', '--initial-leadership', '0'];

function agent(cluster: string, id: string, extra: string[] = []): ZtapProcess {
  const process = new ZtapProcess(
    agentArgs(target(cluster), id, `127.0.0.1:${9100 + running.length}`, [...fastNode, ...extra]),
  );
  running.push(process);
  return process;
}

/** Three agents started one after the other (their order in the queue); the first leads. */
async function threeAgents(cluster: string) {
  const first = agent(cluster, 'a1');
  const led = await within(first.json<{ event: string; term: number }>((line) => line.event === 'leader'));
  const others = [agent(cluster, 'a2'), agent(cluster, 'a3')];
  for (const other of others) await within(other.json((line) => line.event === 'started'));
  return { first, term: led.term, others: others as [ZtapProcess, ZtapProcess] };
}

describe('ztap cluster transfer', () => {
  it('hands leadership to the named agent behind another; exits 0 once it leads, with its term', async () => {
    const cluster = uniqueCluster('cli-transfer');
    const { first, term, others } = await threeAgents(cluster);
    const [, last] = others;

    const result = await ztap([
      ...target(cluster),
      '--json',
      'cluster',
      'transfer',
      'a3',
      '--if-term',
      String(term),
    ]);

    expect(result).toMatchObject({ code: 0, stderr: '' });
    const answer = JSON.parse(result.stdout) as { leader: string; term: number; cluster: string };
    expect(answer).toMatchObject({ leader: 'a3', cluster });
    expect(answer.term).toBeGreaterThan(term);
    const led = await within(last.json<{ event: string; term: number }>((line) => line.event === 'leader'));
    expect(led.term).toBe(answer.term);
    await within(first.json((line) => line.event === 'follower' && line.reason === 'transferred'));
    const status = await ztap([...target(cluster), '--json', 'cluster', 'status']);
    expect(JSON.parse(status.stdout)).toMatchObject({ leader: { id: 'a3' }, term: answer.term });
    // Nothing is left behind under the prefix but members and campaign keys.
    const keys = Object.keys(
      await etcd.client.getAll().prefix(`/ztap/clusters/${cluster}/transfer/`).strings(),
    );
    expect(keys).toEqual([]);
  });

  it('exits 1 with one line, and changes nothing, for a stale term, an unknown or unhealthy target', async () => {
    const cluster = uniqueCluster('cli-transfer-refused');
    const { term } = await threeAgents(cluster);
    const sick = agent(cluster, 'sick', ['--health-cmd', 'false']);
    await within(sick.json((line) => line.event === 'started'));

    expect(
      await ztap([...target(cluster), 'cluster', 'transfer', 'a2', '--if-term', String(term + 1000)]),
    ).toEqual({
      code: 1,
      stdout: '',
      stderr: `ztap: leadership could not be transferred to "a2": the term given is not the current leader’s; nothing was written: the leader's term is ${term}, not ${term + 1000}\n`,
    });
    expect(await ztap([...target(cluster), 'cluster', 'transfer', 'nobody'])).toMatchObject({
      code: 1,
      stderr: 'ztap: leadership could not be transferred to "nobody": no member has that id\n',
    });
    const unhealthy = await ztap([...target(cluster), 'cluster', 'transfer', 'sick']);
    expect(unhealthy.code).toBe(1);
    expect(unhealthy.stderr).toMatch(
      /^ztap: leadership could not be transferred to "sick": it is not healthy/,
    );
    const status = await ztap([...target(cluster), '--json', 'cluster', 'status']);
    expect(JSON.parse(status.stdout)).toMatchObject({ leader: { id: 'a1' }, term });
  });

  it("exits 1 with the leader's reason when the target does not lead in time, and cleans up its request", async () => {
    const cluster = uniqueCluster('cli-transfer-timeout');
    const prefix = `/ztap/clusters/${cluster}/`;
    const first = agent(cluster, 'a1');
    const led = await within(first.json<{ event: string; term: number }>((line) => line.event === 'leader'));
    // Ahead of the target, a candidate that knows nothing of transfers (etcdctl elect, a Go
    // service): it never steps aside, so the target cannot become first.
    const lease = etcd.client.lease(2);
    await lease.put(`${prefix}election/${BigInt(await lease.grant()).toString(16)}`).value('foreign');
    const last = agent(cluster, 'a2');
    await within(last.json((line) => line.event === 'started'));
    try {
      const result = await ztap([...target(cluster), 'cluster', 'transfer', 'a2', '--wait', '1s']);

      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        /^ztap: leadership could not be transferred to "a2": it did not lead in time: not within 1000 ms\n$/,
      );
      // The old leader had stepped down already: it went to the back of the queue.
      await within(first.json((line) => line.event === 'follower' && line.term === led.term));
      expect(Object.keys(await etcd.client.getAll().prefix(`${prefix}transfer/`).strings())).toEqual([]);
    } finally {
      await lease.revoke();
    }
  });

  it('rejects bad arguments with exit 2, naming the flag', async () => {
    const cluster = uniqueCluster('cli-transfer-usage');
    const bad = await ztap([...target(cluster), 'cluster', 'transfer', 'a2', '--if-term', 'latest']);
    expect(bad).toMatchObject({
      code: 2,
      stderr: 'ztap: --if-term must be a term, a whole number above 0 (got "latest")\n',
    });
    const wait = await ztap([...target(cluster), 'cluster', 'transfer', 'a2', '--wait', '10']);
    expect(wait.code).toBe(2);
    expect(wait.stderr).toContain('--wait must have a unit');
  });
});
