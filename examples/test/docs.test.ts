/**
 * Every program shown in README.md and docs/*.md is a file under examples/src/, marked by an
 * `<!-- example: <file> -->` line right above its block: `pnpm typecheck` compiles it, this test checks
 * the block is that file, exactly, and runs it as a reader would (against a local etcd where it needs
 * one). A snippet in the docs cannot drift from the API, or crash, without a test failing.
 */
import { copyFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEtcdClient } from '@ztap/cluster-etcd';
import { type EtcdHandle, startEtcd } from '@ztap/cluster-testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The TLS test PKI of the integration suite (openssl): one place makes test certificates.
import { createTestPki } from '../../integration/support/tls-certs.ts';
import { ExampleProcess, freePort } from './support/child.ts';

const repository = new URL('../../', import.meta.url);
const examples = new URL('../src/', import.meta.url);
/** Fenced blocks in these languages are programs; `sh`, `console`, `yaml`, diagrams are not. */
const PROGRAM_LANGUAGES = new Set(['ts', 'typescript', 'tsx', 'js', 'javascript', 'jsx', 'mjs', 'cjs']);

async function documents(): Promise<string[]> {
  const docs = (await readdir(new URL('docs/', repository))).filter((name) => name.endsWith('.md'));
  return ['README.md', ...docs.sort().map((name) => `docs/${name}`)];
}

describe('programs in README.md and docs/', () => {
  it('every ts/js block is marked with the file it shows, and is that file exactly', async () => {
    const shown: string[] = [];
    for (const document of await documents()) {
      const text = await readFile(new URL(document, repository), 'utf8');
      for (const block of text.matchAll(/^```(\w+)\n([\s\S]*?)^```$/gm)) {
        const [, language, code] = block as unknown as [string, string, string];
        if (!PROGRAM_LANGUAGES.has(language)) continue;
        const marker = /<!-- example: ([\w./-]+) -->$/.exec(text.slice(0, block.index).trimEnd());
        expect(
          marker?.[1],
          `${document}: a ${language} block with no <!-- example: file --> above it`,
        ).toBeDefined();
        const file = marker?.[1] as string;
        expect(code, `${document}: the block for ${file}`).toBe(
          await readFile(new URL(file, examples), 'utf8'),
        );
        shown.push(`${document}: ${file}`);
      }
    }
    expect(shown).toEqual([
      'README.md: on-etcd.ts',
      'README.md: quickstart.ts',
      'docs/dashboard.md: docs/dashboard-server.ts',
      'docs/getting-started.md: docs/billing-service.ts',
      'docs/getting-started.md: docs/memory-failover.ts',
      'docs/leadership-control.md: docs/transfer.ts',
      'docs/leadership-control.md: docs/priorities.ts',
      'docs/metrics.md: docs/metrics.ts',
      'docs/multi-region.md: docs/multi-region.ts',
      'docs/operations.md: docs/tls.ts',
      'docs/policies.md: docs/policies.ts',
      'docs/roles-and-views.md: docs/fleet.ts',
      'docs/telemetry.md: docs/otel.ts',
      'docs/telemetry.md: docs/logging.ts',
      'docs/testing-your-service.md: testing/billing.ts',
      'docs/testing-your-service.md: testing/billing.unit.test.ts',
      'docs/testing-your-service.md: testing/billing.integration.test.ts',
      'docs/testing-your-service.md: testing/billing.integration.node-test.ts',
    ]);
  });

  // README's own programs run in examples.test.ts; these run here, all at once (two wait out the 3 s a
  // new node waits before it may lead). Each uses its own cluster name, so they share one etcd.
  describe.concurrent('each runs', () => {
    let etcd: EtcdHandle;
    beforeAll(async () => {
      etcd = await startEtcd({ provider: 'local' });
    }, 30_000);
    afterAll(() => etcd?.stop());

    async function run<T>(
      program: string,
      body: (example: ExampleProcess) => Promise<T>,
      options: { env?: Record<string, string>; cwd?: string } = {},
    ): Promise<T> {
      const env = { ZTAP_ETCD_ENDPOINTS: etcd.endpoints.join(','), HOSTNAME: 'node-1', ...options.env };
      const example = new ExampleProcess(`docs/${program}`, env, options.cwd ? { cwd: options.cwd } : {});
      try {
        return await body(example);
      } finally {
        await example.kill();
      }
    }

    it('getting-started: the lead() loop outlives a lost leadership, and SIGTERM drains it and exits 0', async () => {
      await run('billing-service.ts', async (example) => {
        const first = (await example.waitFor(/^term \d+: settling invoices$/)).split(':')[0] as string;
        // An operator deletes the campaign key: the leadership is lost, and the loop must carry on.
        const client = createEtcdClient({ endpoints: etcd.endpoints, requestTimeout: 2000 });
        try {
          await client.delete().prefix('/ztap/clusters/billing/election/');
        } finally {
          client.close();
        }
        await example.waitFor(new RegExp(`^${first}: stopped settling invoices .*\\(lease_lost\\)\\)$`));
        const firstNumber = first.slice('term '.length);
        const again = await example.waitFor(new RegExp(`^term (?!${firstNumber}:)\\d+: settling invoices$`));
        const second = again.split(':')[0] as string;
        expect(await example.stop('SIGTERM')).toEqual({ code: 0, signal: null });
        expect(example.stdout.filter(Boolean)).toEqual([
          `${first}: settling invoices`,
          `${first}: stopped settling invoices (leadership of ${first} ended (lease_lost))`,
          `${second}: settling invoices`,
          `${second}: stopped settling invoices (leadership of ${second} ended (stopped))`,
        ]);
        expect(example.stderr.filter(Boolean)).toEqual([]);
      });
    }, 30_000);

    it('getting-started: two in-memory nodes, the first stops, the second takes over', async () => {
      await run('memory-failover.ts', async (example) => {
        expect(await example.exited).toEqual({ code: 0, signal: null });
        expect(example.stdout.filter(Boolean)).toEqual([
          'a leads (lowest id) with term 1',
          'b took over with term 2',
        ]);
      });
    }, 30_000);

    it('leadership-control: the leader hands over to a named node behind another; a bad target is refused', async () => {
      await run('transfer.ts', async (example) => {
        expect(await example.exited).toEqual({ code: 0, signal: null });
        expect(example.stdout.filter(Boolean)).toEqual([
          expect.stringMatching(/^api-1 leads with term \d+$/),
          'api-3 leads with a higher term: true',
          'refused: unknown_target',
        ]);
        expect(example.stderr.filter(Boolean)).toEqual([]);
      });
    }, 30_000);

    it('leadership-control: priorities move leadership from the canary to the preferred zone', async () => {
      await run('priorities.ts', async (example) => {
        expect(await example.exited).toEqual({ code: 0, signal: null });
        expect(example.stdout.filter(Boolean)).toEqual([
          'canary leads: it is the only node',
          'web-eu-2 leads: the canary handed over',
          'web-eu-1 leads: the preferred zone',
        ]);
      });
    }, 30_000);

    it('roles and views: a narrow member follows the candidate, has no member list and never campaigns', async () => {
      await run('fleet.ts', async (example) => {
        expect(await example.exited).toEqual({ code: 0, signal: null });
        expect(example.stdout.filter(Boolean)).toEqual([
          expect.stringMatching(/^host-0417 follows scheduler-1 \(term \d+\)$/),
          "getNodes(): no member list with view: 'leader'",
          'waitForLeadership(): a member never campaigns',
        ]);
        expect(example.stderr.filter(Boolean)).toEqual([]);
      });
    }, 30_000);

    it('multi-region: one node leads its region and globally, replicates its global policy into its region; SIGTERM exits 0', async () => {
      // Its regional and global etcd are one here, under different prefixes (they must not overlap).
      await run(
        'multi-region.ts',
        async (example) => {
          await example.waitFor(/^0 policies$/);
          await example.waitFor(/^web is at global version \d+$/);
          expect(await example.stop('SIGTERM')).toEqual({ code: 0, signal: null });
        },
        { env: { ZTAP_GLOBAL_ENDPOINTS: etcd.endpoints.join(',') } },
      );
    }, 30_000);

    it('policies: the leader publishes, everyone follows from a snapshot; SIGTERM exits 0', async () => {
      await run('policies.ts', async (example) => {
        await example.waitFor(/^snapshot: web$/);
        expect(await example.stop('SIGTERM')).toEqual({ code: 0, signal: null });
      });
    }, 30_000);

    it('metrics: the registry shows the node and counts the write it was not allowed to make', async () => {
      await run('metrics.ts', async (example) => {
        expect(await example.exited).toEqual({ code: 0, signal: null });
        expect(example.stdout[0]).toBe('NotLeaderError');
        expect(example.stdout).toContain('ztap_cluster_nodes_total{state="healthy"} 1');
        expect(example.stdout).toContain('ztap_cluster_policy_sync_failures_total{reason="not_leader"} 1');
      });
    }, 30_000);

    it('dashboard: the page is served under /dashboard/ of your own server; SIGTERM exits 0', async () => {
      await run(
        'dashboard-server.ts',
        async (example) => {
          const url = (await example.waitFor(/^dashboard on http:/)).replace('dashboard on ', '');
          const page = await fetch(url);
          expect(page.status).toBe(200);
          expect(await page.text()).toContain('ZTAP cluster');
          expect((await fetch(url.replace('/dashboard/', '/elsewhere'))).status).toBe(404);
          expect(await example.stop('SIGTERM')).toEqual({ code: 0, signal: null });
        },
        { env: { PORT: '0' } },
      );
    }, 30_000);

    it('telemetry: OpenTelemetry on the global MeterProvider, served by the Prometheus exporter; SIGTERM exits 0', async () => {
      const port = await freePort();
      await run(
        'otel.ts',
        async (example) => {
          await example.waitFor(/^metrics on http:\/\/127\.0\.0\.1:\d+\/metrics$/);
          const scrape = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
          expect(scrape).toMatch(
            /^ztap_cluster_nodes_total\{state="healthy",otel_scope_name="@ztap\/cluster-otel",[^}]*\} 1$/m,
          );
          expect(scrape).toMatch(/^ztap_cluster_is_leader\{node="node-1",[^}]*\} [01]$/m);
          expect(await example.stop('SIGTERM')).toEqual({ code: 0, signal: null });
        },
        { env: { METRICS_PORT: String(port) } },
      );
    }, 30_000);

    it('telemetry: pino hears the leadership gained and resigned, bound to the node and its prefix', async () => {
      await run('logging.ts', async (example) => {
        expect(await example.exited).toEqual({ code: 0, signal: null });
        const lines = example.stdout
          .filter(Boolean)
          .map((line) => JSON.parse(line) as Record<string, unknown>);
        expect(lines.map(({ event, reason }) => [event, reason])).toEqual([
          ['leadership_gained', undefined],
          ['leadership_lost', 'resigned'],
          ['leadership_gained', undefined],
          ['leadership_lost', 'stopped'],
        ]);
        for (const line of lines)
          expect(line).toMatchObject({ level: 30, nodeId: 'node-1', prefix: '/ztap/clusters/logging/' });
      });
    }, 30_000);

    it('operations: a node joins an etcd that requires client certificates, with the PEM files it names', async () => {
      const pki = await createTestPki();
      const cwd = await mkdtemp(join(tmpdir(), 'ztap-docs-tls-'));
      const tlsEtcd = await startEtcd({
        provider: 'local',
        tls: {
          certFile: pki.server.certFile,
          keyFile: pki.server.keyFile,
          caFile: pki.ca.certFile,
          clientCert: { certFile: pki.client.certFile, keyFile: pki.client.keyFile },
        },
      });
      try {
        await copyFile(pki.ca.certFile, join(cwd, 'ca.pem'));
        await copyFile(pki.client.certFile, join(cwd, 'node.pem'));
        await copyFile(pki.client.keyFile, join(cwd, 'node-key.pem'));
        const env = { ZTAP_ETCD_ENDPOINTS: tlsEtcd.endpoints.join(',') };
        await run(
          'tls.ts',
          async (example) => {
            expect(await example.exited).toEqual({ code: 0, signal: null });
            expect(example.stdout.filter(Boolean)).toEqual([
              'joined /ztap/clusters/default/ over TLS; members: node-1',
            ]);
          },
          { env, cwd },
        );
      } finally {
        await tlsEtcd.stop();
        await rm(cwd, { recursive: true, force: true });
        await pki.remove();
      }
    }, 60_000);
  });
});
