/**
 * The packages as npm users get them. Each public package is packed (`pnpm pack`, as published), the
 * tarballs are installed with npm into a project outside the workspace, and that project:
 *
 * - runs a program with plain `node` (no `@ztap/source` condition, no workspace links) that elects a
 *   leader on a real etcd, makes a fenced write, is deposed and has its stale write refused;
 * - runs the installed `ztap` binary: `--version`, and `cluster status` while that program leads;
 * - loads every package from a CommonJS program (`require()` of ES modules, Node >= 22.12);
 * - type-checks a consumer file and the packages' README examples against the installed
 *   declarations with the workspace's TypeScript (module resolution nodenext, then bundler);
 * - runs the README examples as written;
 * - runs a user's integration test with the testing kit (docs/testing-your-service.md's, copied as a
 *   user copies it) under `node --test` and under vitest (installed from the registry), against etcd
 *   in a container and against a local etcd binary.
 *
 * This catches what the workspace hides: a file missing from `files`, a dependency only the
 * workspace provides, an exports map that works only with our condition, a `workspace:` range left
 * in a manifest, declarations that do not resolve outside the monorepo.
 */
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { copyFile, lstat, mkdir, mkdtemp, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { type EtcdHandle, startEtcd } from '@ztap/cluster-testing';
import { linesOf, Recorder } from '@ztap/testkit';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertBuilt,
  inspectPackage,
  type PackedPackage,
  packPackages,
  publicPackages,
  ROOT,
  rootLicense,
} from './packages.ts';

const fixtures = new URL('app/', import.meta.url);
/** The user's service and its tests, as docs/testing-your-service.md shows them. */
const serviceFiles = new URL('../../examples/src/testing/', import.meta.url);
const SERVICE_FILES = ['billing.ts', 'billing.integration.test.ts', 'billing.integration.node-test.ts'];
const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');

/**
 * The environment of a user's shell: this process's, without what pnpm, vitest and the workspace add
 * (NODE_OPTIONS, NODE_PATH, npm_* other than the registry settings, ZTAP_*, ETCD*, VITEST*) and with
 * PATH stripped of the workspace's folders (this Node first). Proxies and trusted CAs stay.
 */
function userEnv(extra: Record<string, string> = {}): Record<string, string> {
  const registry =
    /^npm_config_(?:registry|cache|userconfig|globalconfig|proxy|https_proxy|noproxy|strict_ssl|cafile|ca)$/i;
  const ours = /^(?:NODE_OPTIONS|NODE_PATH|INIT_CWD|PNPM_.*|ZTAP_.*|ETCD.*|VITEST.*|TEST|npm_.*)$/i;
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && (registry.test(name) || !ours.test(name))) env[name] = value;
  }
  const path = (process.env.PATH ?? '').split(delimiter).filter((dir) => dir && !dir.startsWith(ROOT));
  return { ...env, PATH: [dirname(process.execPath), ...path].join(delimiter), NO_COLOR: '1', ...extra };
}

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion (bounded), never throwing for a non-zero exit. */
function exec(
  file: string,
  args: readonly string[],
  cwd: string,
  env: Record<string, string>,
  timeout = 30_000,
) {
  return new Promise<Result>((resolve) => {
    execFile(file, args, { cwd, env, timeout, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (error as { code?: unknown }).code : 0;
      resolve({
        code: typeof code === 'number' ? code : null,
        stdout,
        stderr: stderr || (error?.message ?? ''),
      });
    });
  });
}

/** The `<!-- example -->` TypeScript block of a README, or undefined. */
function exampleOf(readme: string): string | undefined {
  return /<!-- example -->\s*```ts\n([\s\S]*?)```/.exec(readme)?.[1];
}

/** What each package's README example prints, run as written. */
const README_OUTPUT: Readonly<Record<string, RegExp>> = {
  '@ztap/cluster': /^nightly job ran with fencing token 1$/,
  '@ztap/cluster-memory':
    /^node-1 leads with fencing token 1 - node-2 sees node-1\nnode-2 leads with fencing token 2$/,
  '@ztap/cluster-etcd': /^ran the leader-only job with term \d+$/,
  '@ztap/cluster-metrics': /^ztap_cluster_is_leader\{node="node-1"\} 1$/,
  '@ztap/cluster-otel': /^ztap\.cluster\.is_leader \{"node":"node-1"\} 1$/,
  '@ztap/cluster-dashboard': /^dashboard of \/ztap\/clusters\/payments\/$/,
  '@ztap/cluster-testing': /^b took over from a: term \d+ > \d+ is true$/,
};

describe('the packed packages, installed with npm outside the workspace', () => {
  let work: string;
  let app: string;
  let packed: PackedPackage[];
  let etcd: EtcdHandle;
  const children: ChildProcessWithoutNullStreams[] = [];
  const installed = (name: string, ...path: string[]) => join(app, 'node_modules', name, ...path);

  beforeAll(async () => {
    const started = performance.now();
    const packages = await publicPackages();
    await assertBuilt(packages);
    work = await realpath(await mkdtemp(join(tmpdir(), 'ztap-consumer-')));
    app = join(work, 'app');
    packed = await packPackages(packages, join(work, 'tarballs'));
    const packMs = performance.now() - started;

    const root = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
    const peersOf = (name: string) =>
      (packed.find((one) => one.manifest.name === name)?.manifest.peerDependencies ?? {}) as Record<
        string,
        string
      >;
    const metricsPeers = peersOf('@ztap/cluster-metrics');
    const otelPeers = peersOf('@ztap/cluster-otel');
    const otelSdk = JSON.parse(await readFile(join(ROOT, 'packages/otel/package.json'), 'utf8'))
      .devDependencies['@opentelemetry/sdk-metrics'];
    const manifest = {
      name: 'ztap-consumer',
      version: '1.0.0',
      private: true,
      type: 'module',
      dependencies: {
        ...Object.fromEntries(packed.map((one) => [one.manifest.name, `file:${one.tarball}`])),
        // What the metrics README says to install with it (a peer dependency).
        'prom-client':
          metricsPeers['prom-client'] ?? 'missing: @ztap/cluster-metrics has no prom-client peer',
        // What the OpenTelemetry README says to install with it, and the SDK its example records with.
        '@opentelemetry/api':
          otelPeers['@opentelemetry/api'] ?? 'missing: @ztap/cluster-otel has no @opentelemetry/api peer',
        '@opentelemetry/sdk-metrics': otelSdk,
      },
      devDependencies: {
        '@types/node': root.devDependencies['@types/node'],
        // What docs/testing-your-service.md has users install beside the kit.
        vitest: root.devDependencies.vitest,
      },
    };
    await mkdir(app);
    await writeFile(join(app, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    for (const file of ['election.mjs', 'consumer.ts']) {
      await copyFile(new URL(file, fixtures), join(app, file));
    }
    // In a folder of its own: the service imports `./billing.ts`, which a plain tsconfig refuses.
    await mkdir(join(app, 'service'));
    for (const file of SERVICE_FILES) await copyFile(new URL(file, serviceFiles), join(app, 'service', file));

    const [install, handle] = await Promise.all([
      exec(
        'npm',
        ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'],
        app,
        userEnv(),
        150_000,
      ),
      startEtcd({ provider: 'local' }),
    ]);
    etcd = handle;
    if (install.code !== 0) throw new Error(`npm install failed (${install.code}):\n${install.stderr}`);
    // The README examples, as npm shows them: type-checked and run below.
    for (const one of packed) {
      const example = exampleOf(await readFile(installed(one.manifest.name, 'README.md'), 'utf8'));
      if (example)
        await writeFile(join(app, `readme-${one.manifest.name.replace('@ztap/', '')}.ts`), example);
    }
    console.info(
      `[consumer] packed ${packed.length} packages in ${Math.round(packMs)} ms, installed them with npm into ` +
        `${app} in ${Math.round(performance.now() - started - packMs)} ms; etcd: ${etcd.description}`,
    );
  }, 200_000);

  afterAll(async () => {
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await etcd?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('each tarball holds what a user needs and nothing else', async () => {
    const license = await rootLicense();
    for (const one of packed) {
      expect(await inspectPackage(one, license), one.manifest.name).toEqual([]);
      expect(one.files.map((file) => file.path)).toEqual(
        expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts']),
      );
    }
  });

  it('npm installed the tarballs, not the workspace or the registry', async () => {
    for (const one of packed) {
      const where = installed(one.manifest.name);
      expect((await lstat(where)).isSymbolicLink(), `${where} is a link`).toBe(false);
      const manifest = JSON.parse(await readFile(join(where, 'package.json'), 'utf8'));
      expect(manifest.version).toBe(one.manifest.version);
      // Byte for byte what was packed: not a registry copy of the same version.
      for (const file of ['package.json', 'dist/index.js', 'dist/index.d.ts']) {
        expect(await readFile(join(where, file), 'utf8'), `${one.manifest.name}/${file}`).toBe(
          await readFile(join(one.root, file), 'utf8'),
        );
      }
      // The packages depend on each other by version; npm satisfies that from the tarballs.
      for (const dependency of Object.keys(manifest.dependencies ?? {}).filter((name) =>
        name.startsWith('@ztap/'),
      )) {
        expect(packed.map((other) => other.manifest.name)).toContain(dependency);
      }
    }
  });

  it('a program run with plain node elects, writes fenced, reports to ztap cluster status, and is fenced once deposed', async () => {
    const cluster = `consumer-${process.pid}`;
    const child = spawn(process.execPath, ['election.mjs'], {
      cwd: app,
      env: userEnv({ ZTAP_ETCD_ENDPOINTS: etcd.endpoints.join(','), ZTAP_CLUSTER: cluster }),
    });
    children.push(child);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const lines = new Recorder(linesOf(child.stdout));
    const event = async (name: string) =>
      JSON.parse(
        await lines.first((line) => line.includes(`"event":"${name}"`), `the "${name}" line`),
      ) as Record<string, unknown>;

    const leading = await event('leading').catch((error: Error) => {
      throw new Error(`${error.message}\nstderr: ${stderr}`);
    });
    expect(leading).toMatchObject({
      nodeId: 'consumer-1',
      prefix: `/ztap/clusters/${cluster}/`,
      invalidField: 'nodeId',
      isLeaderMetric: 'ztap_cluster_is_leader{node="consumer-1"} 1',
    });
    // Resolved from the project's node_modules, to the build: no source condition, no workspace.
    for (const url of leading.resolved as string[]) {
      expect(url).toMatch(new RegExp(`^file://${app}/node_modules/@ztap/[\\w-]+/dist/index\\.js$`));
    }
    const term = leading.term as number;
    expect(term).toBeGreaterThan(0);

    const status = await exec(
      installed('.bin', 'ztap'),
      ['--endpoints', etcd.endpoints.join(','), '--cluster', cluster, '--json', 'cluster', 'status'],
      app,
      userEnv(),
    );
    expect(status, status.stderr).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(status.stdout)).toMatchObject({
      cluster,
      leader: { id: 'consumer-1', address: '127.0.0.1:9090', role: 'leader' },
      term,
      nodes: { total: 1, healthy: 1 },
    });

    child.stdin.write('continue\n');
    const done = await event('done');
    expect(done, stderr).toEqual({ event: 'done', staleWrite: 'fenced', memoryTerm: 1 });
    expect(await exited, `the program exits by itself once stopped; stderr: ${stderr}`).toBe(0);

    // What the leader wrote under its term is in etcd; the deposed leader's write is not.
    const client = new Etcd3({ hosts: [...etcd.endpoints] });
    try {
      expect(await client.get(`/ztap/clusters/${cluster}/consumer/last-run`).string()).toBe(`term ${term}`);
    } finally {
      client.close();
    }
  }, 45_000);

  it('the installed ztap binary runs with plain node and prints its version', async () => {
    const bin = installed('.bin', 'ztap');
    const target = await realpath(bin);
    expect(target).toBe(installed('@ztap/cli', 'dist', 'bin.js'));
    expect((await stat(target)).mode & 0o111, 'executable').not.toBe(0);

    const cli = packed.find((one) => one.manifest.name === '@ztap/cli');
    const version = await exec(bin, ['--version'], app, userEnv());
    expect(version).toEqual({ code: 0, stdout: `${cli?.manifest.version}\n`, stderr: '' });

    // An empty cluster has no leader: exit 1 and one line on stderr, as documented.
    const status = await exec(
      bin,
      ['--endpoints', etcd.endpoints.join(','), '--cluster', `empty-${process.pid}`, 'cluster', 'status'],
      app,
      userEnv(),
    );
    expect(status.code).toBe(1);
    expect(status.stderr).toMatch(/^ztap: [^\n]+\n$/);

    // `run` starts its command through the keeper script shipped beside it in dist/.
    const run = await exec(
      bin,
      [
        ...['--endpoints', etcd.endpoints.join(','), '--cluster', `run-${process.pid}`],
        ...['run', '--id', 'solo', '--initial-leadership', '0', '--heartbeat', '200ms'],
        ...['--election-timeout', '2s', '--', 'sh', '-c', 'echo "ran as $ZTAP_NODE_ID"; exit 3'],
      ],
      app,
      userEnv(),
    );
    expect(run.code, run.stderr).toBe(3);
    expect(run.stdout).toContain('ran as solo\n');
  }, 30_000);

  it('a CommonJS program can require() every package (ESM only, but Node >= 22.12 loads it)', async () => {
    const names = packed.map((one) => one.manifest.name);
    await writeFile(
      join(app, 'require.cjs'),
      `console.log(JSON.stringify(${JSON.stringify(names)}.map((name) => Object.keys(require(name)).length)));\n`,
    );
    const result = await exec(process.execPath, ['require.cjs'], app, userEnv());
    expect(result, result.stderr).toMatchObject({ code: 0, stderr: '' });
    const exportCounts = JSON.parse(result.stdout) as number[];
    expect(exportCounts.every((count) => count > 0)).toBe(true);
  }, 30_000);

  it('the installed declarations type-check a consumer and the README examples (nodenext and bundler)', async () => {
    for (const name of Object.keys(README_OUTPUT)) {
      expect(
        await stat(join(app, `readme-${name.replace('@ztap/', '')}.ts`)),
        `${name} README example`,
      ).toBeTruthy();
    }
    // A user's settings, not ours: no custom conditions, default libraries, library checks on.
    const common = { strict: true, noEmit: true, skipLibCheck: false, types: ['node'], target: 'es2022' };
    const configs = {
      nodenext: { ...common, module: 'nodenext', moduleResolution: 'nodenext' },
      bundler: { ...common, module: 'preserve', moduleResolution: 'bundler' },
    };
    for (const [name, compilerOptions] of Object.entries(configs)) {
      const config = join(app, `tsconfig.${name}.json`);
      await writeFile(config, JSON.stringify({ compilerOptions, include: ['*.ts'] }, null, 2));
      const result = await exec(process.execPath, [tsc, '-p', config, '--listFiles'], app, userEnv());
      const files = result.stdout.split('\n').filter((line) => line.startsWith('/'));
      expect(
        result.stdout.split('\n').filter((line) => !line.startsWith('/') && line !== ''),
        name,
      ).toEqual([]);
      expect(result.code, `${name}: ${result.stderr}`).toBe(0);
      // The types came from what npm installed, never from the workspace's sources.
      for (const one of packed) expect(files).toContain(installed(one.manifest.name, 'dist', 'index.d.ts'));
      expect(files.filter((file) => file.startsWith(join(ROOT, 'packages')))).toEqual([]);
    }
  }, 60_000);

  it('the README examples run as written against the installed packages', async () => {
    const results = await Promise.all(
      Object.entries(README_OUTPUT).map(async ([name, output]) => {
        const file = `readme-${name.replace('@ztap/', '')}.ts`;
        const env = userEnv({
          ZTAP_ETCD_ENDPOINTS: etcd.endpoints.join(','),
          ZTAP_TEST_ETCD_ENDPOINTS: etcd.endpoints.join(','), // the testing kit's startEtcd() uses it
        });
        return { name, output, result: await exec(process.execPath, [file], app, env) };
      }),
    );
    for (const { name, output, result } of results) {
      expect(result.code, `${name}: ${result.stderr}`).toBe(0);
      expect(result.stdout.trim(), name).toMatch(output);
    }
  }, 45_000);

  describe("a user's integration test with the testing kit", () => {
    const runners = {
      'node:test': ['node', '--test', 'service/billing.integration.node-test.ts'],
      vitest: [
        'node',
        'node_modules/vitest/vitest.mjs',
        'run',
        '--reporter=verbose',
        'service/billing.integration.test.ts',
      ],
    } as const;
    /** CI requires a container engine; elsewhere a machine without one must at least fail clearly. */
    const engineRequired = process.env.ZTAP_TEST_ETCD_PROVIDER?.trim() === 'container';

    for (const [runner, [, ...args]] of Object.entries(runners)) {
      it(`passes under ${runner} against etcd in a container (with no engine here: fails saying how to get etcd)`, async () => {
        const image = process.env.ZTAP_TEST_ETCD_IMAGE;
        const env = userEnv({
          ZTAP_TEST_ETCD_PROVIDER: 'container',
          ...(image ? { ZTAP_TEST_ETCD_IMAGE: image } : {}),
        });
        const result = await exec(process.execPath, args, app, env, 150_000);
        const output = result.stdout + result.stderr;
        if (!engineRequired && /The container provider needs a container engine/.test(output)) {
          // No engine answers here: the kit said so, with the ways to get an etcd, and the test failed.
          expect(output).toContain('Tests that need etcd never skip');
          expect(result.code, output).not.toBe(0);
          console.info(
            `[consumer] ${runner}: no container engine here; the test failed with the install hint`,
          );
          return;
        }
        expect(result.code, output).toBe(0);
        expect(output).toMatch(/when the leader is cut off from etcd, it steps down/);
        expect(output).not.toMatch(/\bskip(?:ped)?\b [1-9]/);
      }, 180_000);

      it(`passes under ${runner} against a local etcd binary`, async () => {
        const result = await exec(
          process.execPath,
          args,
          app,
          userEnv({ ZTAP_TEST_ETCD_PROVIDER: 'local' }),
          150_000,
        );
        const output = result.stdout + result.stderr;
        expect(result.code, output).toBe(0);
        expect(output).toMatch(/when the leader is cut off from etcd, it steps down/);
      }, 180_000);
    }
  });
});
