/**
 * `ztap policy …` and the agent's `/metrics`, as an operator uses them, against a real etcd.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { uniqueCluster, useEtcd, within } from '../support/etcd.ts';
import { ZtapProcess, ztap } from '../support/ztap.ts';

const etcd = useEtcd();
const running: ZtapProcess[] = [];
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ztap-policies-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((process) => process.kill()));
});

const target = (cluster: string) => ['--endpoints', etcd.endpoints.join(','), '--cluster', cluster];
const fastNode = ['--heartbeat', '200ms', '--election-timeout', '2s', '--initial-leadership', '0'];

async function yamlFile(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

function start(args: string[]): ZtapProcess {
  const process = new ZtapProcess(args);
  running.push(process);
  return process;
}

describe('ztap policy', () => {
  it('push / get / list / delete round trip, with versions', async () => {
    const cluster = uniqueCluster('cli-policy');
    const file = await yamlFile('web.yaml', '# web tier\nallow:\n  - port: 443\n');
    const pushed = await ztap([...target(cluster), '--json', 'policy', 'push', 'web', file]);
    expect(pushed.code).toBe(0);
    const { version } = JSON.parse(pushed.stdout) as { version: number };
    expect(JSON.parse(pushed.stdout)).toMatchObject({
      name: 'web',
      updatedBy: 'operator',
      version: expect.any(Number),
    });

    const got = await ztap([...target(cluster), 'policy', 'get', 'web']);
    expect(got).toMatchObject({ code: 0, stdout: '# web tier\nallow:\n  - port: 443\n' });
    const listed = JSON.parse((await ztap([...target(cluster), '--json', 'policy', 'list'])).stdout);
    expect(listed.policies).toEqual([expect.objectContaining({ name: 'web', version })]);
    const table = (await ztap([...target(cluster), 'policy', 'list'])).stdout.split('\n');
    expect(table[0]?.split(/\s{2,}/)).toEqual(['NAME', 'VERSION', 'UPDATED', 'BY']);

    expect((await ztap([...target(cluster), 'policy', 'delete', 'web'])).stdout).toBe('policy web deleted\n');
    const missing = await ztap([...target(cluster), 'policy', 'get', 'web']);
    expect(missing).toMatchObject({ code: 1, stderr: 'ztap: no policy "web" in this cluster\n' });
  });

  it('rejects invalid YAML, bad names and a bad --if-version before writing, with exit 2', async () => {
    const cluster = uniqueCluster('cli-policy-bad');
    const broken = await yamlFile('broken.yaml', 'allow: [443\n');
    const invalid = await ztap([...target(cluster), 'policy', 'push', 'web', broken]);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(/^ztap: .*broken\.yaml is not valid YAML \(line \d+, column \d+\): /);
    const good = await yamlFile('good.yaml', 'a: 1\n');
    expect((await ztap([...target(cluster), 'policy', 'push', 'Bad Name', good])).code).toBe(2);
    expect(
      (await ztap([...target(cluster), 'policy', 'push', 'web', good, '--if-version', 'latest'])).code,
    ).toBe(2);
    expect((await ztap([...target(cluster), 'policy', 'list'])).stdout).toBe('no policies\n');
  });

  it('pushing the document the policy already holds writes nothing and says so, exit 0', async () => {
    const cluster = uniqueCluster('cli-policy-same');
    const file = await yamlFile('same.yaml', '# web tier\nallow:\n  - port: 443\n');
    const first = await ztap([...target(cluster), '--json', 'policy', 'push', 'web', file]);
    const { version, changed } = JSON.parse(first.stdout) as { version: number; changed: boolean };
    expect(changed).toBe(true);
    const again = await ztap([...target(cluster), 'policy', 'push', 'web', file]);
    expect(again).toMatchObject({
      code: 0,
      stdout: `unchanged: policy web is already at version ${version}\n`,
      stderr: '',
    });
    const asJson = await ztap([...target(cluster), '-o', 'json', 'policy', 'push', 'web', file]);
    expect(JSON.parse(asJson.stdout)).toMatchObject({ name: 'web', version, changed: false });
    const got = JSON.parse((await ztap([...target(cluster), '--json', 'policy', 'get', 'web'])).stdout);
    expect(got.version).toBe(version);
  });

  it.each([
    [
      'bytes that are not UTF-8',
      'latin1.yaml',
      Buffer.concat([Buffer.from('allow:\n  - name: caf'), Buffer.from([0xe9]), Buffer.from('\n')]),
      /latin1\.yaml is not valid UTF-8 at byte offset 20 \(line 2\): 0xe9; save it as UTF-8\n$/,
    ],
    [
      'only a comment',
      'comments.yaml',
      Buffer.from('# to do: write the rules\n'),
      /comments\.yaml holds only comments: there is no policy document in it\n$/,
    ],
    [
      'two documents',
      'two.yaml',
      Buffer.from('allow: [443]\n---\ndeny: [22]\n'),
      /two\.yaml holds more than one YAML document \(a "---" line at line 2 starts another\): a policy is one document\n$/,
    ],
  ])(
    'refuses a file holding %s with one line that names it, and writes nothing',
    async (_case, file, bytes, message) => {
      const cluster = uniqueCluster('cli-policy-file');
      const path = join(dir, file);
      await writeFile(path, bytes);
      const pushed = await ztap([...target(cluster), 'policy', 'push', 'web', path]);
      expect(pushed.code).toBe(2);
      expect(pushed.stderr).toMatch(/^ztap: [^\n]*\n$/);
      expect(pushed.stderr).toMatch(message);
      expect(pushed.stderr).not.toMatch(/parseAllDocuments|YAML\.\w+\(/);
      expect((await ztap([...target(cluster), 'policy', 'list'])).stdout).toBe('no policies\n');
    },
  );

  it('two concurrent pushes with the same --if-version: exactly one wins', async () => {
    const cluster = uniqueCluster('cli-policy-cas');
    const base = await yamlFile('base.yaml', 'owner: nobody\n');
    const { version } = JSON.parse(
      (await ztap([...target(cluster), '--json', 'policy', 'push', 'web', base])).stdout,
    ) as { version: number };
    const mine = await yamlFile('mine.yaml', 'owner: alice\n');
    const theirs = await yamlFile('theirs.yaml', 'owner: bob\n');
    const results = await Promise.all(
      [mine, theirs].map((file) =>
        ztap([...target(cluster), 'policy', 'push', 'web', file, '--if-version', String(version)]),
      ),
    );
    expect(results.map((result) => result.code).sort()).toEqual([0, 1]);
    const loser = results.find((result) => result.code === 1);
    expect(loser?.stderr).toMatch(
      /^ztap: policy "web" is at version \d+, not \d+: someone else changed it; read it again and retry\n$/,
    );
    const winner = results.findIndex((result) => result.code === 0);
    expect((await ztap([...target(cluster), 'policy', 'get', 'web'])).stdout).toBe(
      winner === 0 ? 'owner: alice\n' : 'owner: bob\n',
    );
  });

  it('watch --json prints a snapshot, then each change', async () => {
    const cluster = uniqueCluster('cli-policy-watch');
    const file = await yamlFile('w.yaml', 'a: 1\n');
    await ztap([...target(cluster), 'policy', 'push', 'first', file]);
    const watch = start([...target(cluster), '--json', 'policy', 'watch']);
    const snapshot = await within(
      watch.json<{ type: string; policies: { name: string }[] }>((line) => line.type === 'snapshot'),
    );
    expect(snapshot.policies.map((policy) => policy.name)).toEqual(['first']);
    await ztap([...target(cluster), 'policy', 'push', 'second', file]);
    await ztap([...target(cluster), 'policy', 'delete', 'first']);
    await within(
      watch.json<{ type: string; policy?: { name: string } }>(
        (line) => line.type === 'updated' && line.policy?.name === 'second',
      ),
    );
    await within(
      watch.json<{ type: string; name?: string }>((line) => line.type === 'deleted' && line.name === 'first'),
    );
  });
});

describe('ztap agent /metrics', () => {
  it('serves the cluster metrics over HTTP, and they move with joins and failovers', async () => {
    const cluster = uniqueCluster('cli-metrics');
    const scrape = async (port: number) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const sample = (text: string, name: string) =>
      Number(
        text
          .split('\n')
          .find((line) => line.startsWith(`${name} `))
          ?.split(' ')[1],
      );

    const leader = start([
      ...target(cluster),
      '--json',
      'agent',
      '--id',
      'a1',
      '--address',
      '127.0.0.1:9001',
      ...fastNode,
    ]);
    await within(leader.json((line) => line.event === 'leader'));
    const observer = start([
      ...target(cluster),
      '--json',
      'agent',
      '--id',
      'a2',
      '--address',
      '127.0.0.1:9002',
      '--listen',
      '0',
      ...fastNode,
    ]);
    const { port } = await within(
      observer.json<{ event: string; port: number }>((line) => line.event === 'listening'),
    );
    await within(observer.json((line) => line.event === 'leader_elected' && line.leader === 'a1'));

    const before = await scrape(port);
    for (const [name, type] of [
      ['ztap_cluster_nodes_total', 'gauge'],
      ['ztap_cluster_leader_elections_total', 'counter'],
      ['ztap_cluster_node_joins_total', 'counter'],
      ['ztap_cluster_heartbeat_latency_seconds', 'histogram'],
      ['ztap_cluster_is_leader', 'gauge'],
      ['ztap_cluster_term', 'gauge'],
      ['ztap_cluster_leadership_losses_total', 'counter'],
      ['ztap_cluster_watch_resyncs_total', 'counter'],
      ['ztap_cluster_etcd_errors_total', 'counter'],
      ['ztap_cluster_policy_version', 'gauge'],
      ['ztap_cluster_policy_sync_failures_total', 'counter'],
    ]) {
      expect(before, name).toContain(`# TYPE ${name} ${type}`);
    }
    expect(sample(before, 'ztap_cluster_is_leader{node="a2"}')).toBe(0);

    await ztap([...target(cluster), 'cluster', 'join', 'extra', '10.0.0.9:9090']);
    leader.signal('SIGTERM');
    await within(observer.json((line) => line.event === 'leader'));
    const after = await scrape(port);
    expect(sample(after, 'ztap_cluster_node_joins_total')).toBe(
      sample(before, 'ztap_cluster_node_joins_total') + 1,
    );
    expect(sample(after, 'ztap_cluster_leader_elections_total')).toBe(
      sample(before, 'ztap_cluster_leader_elections_total') + 1,
    );
    expect(sample(after, 'ztap_cluster_is_leader{node="a2"}')).toBe(1);
    expect(sample(after, 'ztap_cluster_heartbeat_latency_seconds_count')).toBeGreaterThan(0);
  });
});
