/**
 * `ztap` behaves like the tools operators know (etcdctl, kubectl): durations need units, --timeout
 * bounds a whole command, etcdctl's environment works, `-o json|yaml|table`, help shows the global
 * options, and mistakes point at the right help. The built binary, spawned, against a real etcd.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { uniqueCluster, useEtcd, within } from '../support/etcd.ts';
import { expectOneLine } from '../support/expect-ztap.ts';
import { ZtapProcess, ztap } from '../support/ztap.ts';

const etcd = useEtcd();
const running: ZtapProcess[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((process) => process.kill()));
});

const target = (cluster: string) => ['--endpoints', etcd.endpoints.join(','), '--cluster', cluster];

describe('durations', () => {
  it.each([
    [['--timeout', '5', 'cluster', 'list'], '--timeout'],
    [['agent', '--id', 'n1', '--address', '127.0.0.1:1', '--election-timeout', '5'], '--election-timeout'],
    [['run', '--id', 'n1', '--grace', '30', '--', 'true'], '--grace'],
  ])('a bare number is refused, asking for a unit: ztap %j', async (args, option) => {
    expectOneLine(
      await ztap(args),
      2,
      new RegExp(`^ztap: ${option} must have a unit, e.g. 5s or 500ms \\(got "\\d+"\\)\\n$`),
    );
  });
});

describe('--timeout bounds the whole command', () => {
  // Accepts connections and never answers: the worst case, where no error ever comes back.
  let silent: Server;
  const sockets: Socket[] = [];
  let endpoint: string;
  beforeAll(async () => {
    silent = createServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  it.each([
    [['cluster', 'status'], {}, '1s \\(--timeout\\)'],
    [['cluster', 'join', 'n1', '10.0.0.1:9090'], {}, '1s \\(--timeout\\)'],
    [['policy', 'list'], {}, '1s \\(--timeout\\)'],
    [['cluster', 'list'], { ZTAP_ETCD_TIMEOUT: '1s' }, '1s \\(ZTAP_ETCD_TIMEOUT\\)'],
    [['cluster', 'list'], { ETCDCTL_COMMAND_TIMEOUT: '1s' }, '1s \\(ETCDCTL_COMMAND_TIMEOUT\\)'],
  ])(
    'against a server that never answers, ztap %j %j ends with one line naming it and the timeout',
    async (args, env, timeout) => {
      const withFlag = Object.keys(env).length === 0 ? ['--timeout', '1s'] : [];
      const result = await ztap(['--endpoints', endpoint, ...withFlag, ...args], env);
      expectOneLine(
        result,
        1,
        new RegExp(
          `^ztap: etcd at ${endpoint} did not answer within ${timeout} — is etcd running, and are the endpoints right\\?\\n$`,
        ),
      );
    },
  );
});

describe('endpoints', () => {
  it('one with a trailing slash works; one with a path is refused, naming it', async () => {
    const cluster = uniqueCluster('cli-slash');
    const withSlash = etcd.endpoints.map((endpoint) => `${endpoint}/`).join(',');
    const joined = await ztap([
      '--endpoints',
      withSlash,
      '--cluster',
      cluster,
      'cluster',
      'join',
      'n1',
      '10.0.0.1:1',
    ]);
    expect(joined).toMatchObject({ code: 0, stderr: '' });
    const listed = await ztap([
      '--endpoints',
      withSlash,
      '--cluster',
      cluster,
      '-o',
      'json',
      'cluster',
      'list',
    ]);
    expect(JSON.parse(listed.stdout).nodes.map((node: { id: string }) => node.id)).toEqual(['n1']);
    const withPath = `${etcd.endpoints[0]}/v3`;
    expectOneLine(
      await ztap(['--endpoints', withPath, 'cluster', 'list']),
      2,
      /^ztap: --endpoints must be scheme:\/\/host:port, without a path \(got "http:\/\/127\.0\.0\.1:\d+\/v3"\)\n$/,
    );
  });
});

describe("etcdctl's environment", () => {
  it('ETCDCTL_ENDPOINTS alone is enough; ZTAP_ETCD_ENDPOINTS wins over it, and a flag over both', async () => {
    const cluster = uniqueCluster('cli-env');
    const etcdctlOnly = { ETCDCTL_ENDPOINTS: etcd.endpoints.join(',') };
    expect(
      await ztap(['--cluster', cluster, 'cluster', 'join', 'e1', '10.0.0.1:1'], etcdctlOnly),
    ).toMatchObject({
      code: 0,
    });
    const nowhere = 'http://127.0.0.1:1';
    const listed = await ztap(['--cluster', cluster, '--json', 'cluster', 'list'], {
      ...etcdctlOnly,
      ZTAP_ETCD_ENDPOINTS: nowhere,
    });
    expectOneLine(listed, 1, /^ztap: etcd at http:\/\/127\.0\.0\.1:1 is unreachable/);
    const flagWins = await ztap(
      ['--endpoints', etcd.endpoints.join(','), '--cluster', cluster, '--json', 'cluster', 'list'],
      { ZTAP_ETCD_ENDPOINTS: nowhere, ETCDCTL_ENDPOINTS: nowhere },
    );
    expect(JSON.parse(flagWins.stdout).nodes.map((node: { id: string }) => node.id)).toEqual(['e1']);
  });

  it('ZTAP_CLUSTER and ZTAP_PREFIX choose the keys; --cluster with --prefix, or a prefix without "/", is refused', async () => {
    const cluster = uniqueCluster('cli-place');
    const at = ['--endpoints', etcd.endpoints.join(',')];
    await ztap([...at, 'cluster', 'join', 'p1', '10.0.0.1:1'], { ZTAP_CLUSTER: cluster });
    const viaPrefix = await ztap([...at, '-o', 'json', 'cluster', 'list'], {
      ZTAP_PREFIX: `/ztap/clusters/${cluster}/`,
      ZTAP_CLUSTER: 'loses-to-the-prefix',
    });
    expect(JSON.parse(viaPrefix.stdout)).toMatchObject({
      prefix: `/ztap/clusters/${cluster}/`,
      nodes: [{ id: 'p1' }],
    });
    expectOneLine(
      await ztap([...at, '--cluster', cluster, '--prefix', '/apps/x/', 'cluster', 'list']),
      2,
      /^ztap: --cluster and --prefix are alternatives: give one/,
    );
    expectOneLine(
      await ztap([...at, '--prefix', 'apps/x/', 'cluster', 'list']),
      2,
      /^ztap: --prefix must start with "\/", e\.g\. \/apps\/payments\/ \(got "apps\/x\/"\)\n$/,
    );
  });
});

describe('node ids', () => {
  it.each(['two words', 'tab\there', 'nbsp\u00a0id'])(
    '%j is refused: it would break every table',
    async (id) => {
      const result = await ztap([...target(uniqueCluster('cli-ids')), 'cluster', 'join', id, '10.0.0.1:1']);
      expectOneLine(result, 2, /^ztap: <id> must not contain (whitespace|control characters)/);
    },
  );
});

describe('-o json|yaml|table', () => {
  it('list and status print the same data as JSON and as YAML; --json is -o json', async () => {
    const cluster = uniqueCluster('cli-output');
    await ztap([...target(cluster), 'cluster', 'join', 'o1', '10.0.0.1:1', '--meta', 'zone=eu-1']);
    for (const command of [
      ['cluster', 'list'],
      ['cluster', 'status'],
    ]) {
      const run = (...format: string[]) => ztap([...target(cluster), ...command, ...format]);
      const [json, alias, yaml] = await Promise.all([
        run('-o', 'json'),
        run('--json'),
        run('--output', 'yaml'),
      ]);
      // lastSeen of an operator's record is the time of the read: compare the rest.
      const withoutTimes = (value: unknown) =>
        JSON.parse(JSON.stringify(value), (key, field) => (key === 'lastSeen' ? undefined : field));
      const data = withoutTimes(JSON.parse(json.stdout));
      expect(withoutTimes(JSON.parse(alias.stdout))).toEqual(data);
      expect(yaml.stdout).not.toMatch(/^[{[]/);
      expect(withoutTimes(parse(yaml.stdout))).toEqual(data);
    }
    expect(
      (await ztap([...target(cluster), 'cluster', 'join', 'o2', '10.0.0.2:1', '-o', 'yaml'])).stdout,
    ).toBe(`joined: o2\naddress: 10.0.0.2:1\ncluster: ${cluster}\n`);
  });

  it('a bad format is a usage error listing the formats', async () => {
    expectOneLine(
      await ztap(['cluster', 'list', '-o', 'xml']),
      2,
      /^ztap: -o must be one of table, json, yaml \(got "xml"\)\n$/,
    );
  });

  it('watch -o yaml streams one YAML document per change, each starting with "---"', async () => {
    const cluster = uniqueCluster('cli-watch-yaml');
    const watch = new ZtapProcess([...target(cluster), '-o', 'yaml', 'cluster', 'watch']);
    running.push(watch);
    await ztap([...target(cluster), 'cluster', 'join', 'y1', '10.0.0.1:1']);
    await within(watch.line(/^type: node_joined$/));
    await ztap([...target(cluster), 'cluster', 'leave', 'y1']);
    await within(watch.line(/^type: node_left$/));
    watch.signal('SIGINT');
    expect(await within(watch.exited)).toBe(0);
    const text = `${watch.lines.items.join('\n')}\n`;
    expect(text.startsWith('---\n')).toBe(true);
    const documents = parseAllDocuments(text).map((document) => document.toJS());
    expect(documents.map((change) => [change.type, change.node.id])).toEqual([
      ['node_joined', 'y1'],
      ['node_left', 'y1'],
    ]);
  });
});

describe('help', () => {
  it.each(['cluster status', 'cluster watch', 'policy push', 'agent', 'run'])(
    'ztap %s --help lists the global options too',
    async (command) => {
      const help = await ztap([...command.split(' '), '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('Global Options:');
      for (const option of ['--endpoints', '--cluster', '--cacert', '--user', '--timeout', '-o, --output'])
        expect(help.stdout).toContain(option);
    },
  );

  it('an unknown subcommand points at its group, listing the valid ones', async () => {
    expectOneLine(
      await ztap(['cluster', 'frobnicate']),
      2,
      /^ztap: unknown command "frobnicate" for "ztap cluster" \(commands: status, list, join, leave, transfer, watch\); see ztap cluster --help\n$/,
    );
    expectOneLine(
      await ztap(['policy', 'frobnicate']),
      2,
      /^ztap: unknown command "frobnicate" for "ztap policy" \(commands: push, get, list, watch, delete\); see ztap policy --help\n$/,
    );
  });
});
