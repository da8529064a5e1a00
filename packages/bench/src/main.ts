/**
 * `pnpm bench` / `pnpm bench:smoke`: starts a private etcd on loopback, runs every scenario for ZTAP's
 * EtcdElection and for the etcd3 package's Election in turn, prints the table and writes the raw
 * results as JSON to `.bench-results/`. Benchmarks print numbers; they assert no timings. The exit
 * code is non-zero only when a scenario could not run at all.
 *
 *   node --conditions=@ztap/source packages/bench/src/main.ts [--smoke] [--only=handover,fanout]
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { startEtcd } from '@ztap/cluster-testing';
import { killAllChildren } from './child-process.ts';
import type { BenchContext } from './context.ts';
import { type Row, type ScenarioResult, toRow } from './results.ts';
import { crashFailover } from './scenarios/crash-failover.ts';
import { dualLeadership } from './scenarios/dual-leadership.ts';
import { fanout } from './scenarios/fanout.ts';
import { fencedWrite } from './scenarios/fenced-write.ts';
import { fleet } from './scenarios/fleet.ts';
import { handover } from './scenarios/handover.ts';
import { herd } from './scenarios/herd.ts';
import { multiRegion } from './scenarios/multi-region.ts';
import { scale } from './scenarios/scale.ts';
import { renderTable } from './table.ts';
import { nowMs } from './time.ts';

const SCENARIOS: Record<string, (context: BenchContext) => Promise<ScenarioResult>> = {
  handover,
  crash: crashFailover,
  dual: dualLeadership,
  scale,
  herd,
  fanout,
  fenced: fencedWrite,
  fleet,
  'multi-region': multiRegion,
};

function parseArgs(argv: readonly string[]): { smoke: boolean; only: string[] } {
  let smoke = false;
  let only = Object.keys(SCENARIOS);
  for (const arg of argv) {
    if (arg === '--smoke') smoke = true;
    else if (arg.startsWith('--only=')) only = arg.slice('--only='.length).split(',').filter(Boolean);
    else
      throw new Error(
        `unknown argument ${arg} (expected --smoke, --only=${Object.keys(SCENARIOS).join(',')})`,
      );
  }
  for (const name of only) {
    if (!SCENARIOS[name])
      throw new Error(`unknown scenario ${name} (known: ${Object.keys(SCENARIOS).join(', ')})`);
  }
  return { smoke, only };
}

const loadavg = () => os.loadavg().map((load) => Math.round(load * 100) / 100);

async function packageVersion(name: string): Promise<string> {
  const file = new URL(`../node_modules/${name}/package.json`, import.meta.url);
  return (JSON.parse(await readFile(file, 'utf8')) as { version: string }).version;
}

async function main(): Promise<number> {
  const { smoke, only } = parseArgs(process.argv.slice(2));
  const startedAt = new Date();
  const started = nowMs();
  const log = (message: string) =>
    process.stderr.write(`[bench ${((nowMs() - started) / 1000).toFixed(1).padStart(6)} s] ${message}\n`);
  const loadBefore = loadavg();
  log(`${smoke ? 'smoke run' : 'full run'}: ${only.join(', ')}; load average ${loadBefore.join(' ')}`);

  const etcd = await startEtcd({ provider: 'local' });
  const stopEverything = () => {
    killAllChildren();
    void etcd.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', stopEverything);
  process.once('SIGTERM', stopEverything);
  log(etcd.description);

  const context: BenchContext = {
    endpoint: etcd.endpoints[0] as string,
    etcdPid: etcd.members[0]?.pid,
    smoke,
    runId: `${startedAt.getTime().toString(36)}`,
    log,
  };
  const results: ScenarioResult[] = [];
  const failures: { scenario: string; error: string }[] = [];
  const durations: Record<string, number> = {};
  try {
    for (const name of only) {
      const run = SCENARIOS[name] as (context: BenchContext) => Promise<ScenarioResult>;
      const scenarioStart = nowMs();
      try {
        results.push(await run(context));
      } catch (error) {
        log(`scenario ${name} failed: ${(error as Error).stack ?? String(error)}`);
        failures.push({ scenario: name, error: String(error) });
      }
      durations[name] = Math.round(nowMs() - scenarioStart);
      log(`scenario ${name} took ${(durations[name] / 1000).toFixed(1)} s`);
    }
  } finally {
    killAllChildren();
    await etcd.stop();
  }

  const rows: Row[] = results.flatMap((result) => result.measures.map(toRow));
  const table = renderTable(rows);
  const notes = results.flatMap((result) => result.notes.map((note) => `- ${result.title}: ${note}`));
  const cpus = os.cpus();
  const machine = {
    cores: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    etcd: etcd.description,
    etcd3Package: await packageVersion('etcd3'),
    loadAverageBefore: loadBefore,
    loadAverageAfter: loadavg(),
  };
  const machineLine = `${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}, ${machine.etcd}, etcd3 ${machine.etcd3Package}; load average before ${machine.loadAverageBefore.join(' ')}, after ${machine.loadAverageAfter.join(' ')}`;

  process.stdout.write(`\n${table}\n\n${notes.join('\n')}\n\nMachine: ${machineLine}\n`);
  const directory = new URL('../../../.bench-results/', import.meta.url);
  await mkdir(directory, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const kind = smoke ? 'smoke' : 'full';
  const json = JSON.stringify(
    {
      kind,
      startedAt,
      durationMs: Math.round(nowMs() - started),
      durations,
      machine,
      rows,
      results,
      failures,
    },
    null,
    2,
  );
  const jsonFile = new URL(`bench-${kind}-${stamp}.json`, directory);
  await writeFile(jsonFile, json);
  await writeFile(new URL(`latest-${kind}.json`, directory), json);
  await writeFile(
    new URL(`latest-${kind}.md`, directory),
    `${table}\n\n${notes.join('\n')}\n\nMachine: ${machineLine}\n`,
  );
  log(`raw results: ${jsonFile.pathname}`);
  if (failures.length > 0)
    log(`${failures.length} scenario(s) failed: ${failures.map((f) => f.scenario).join(', ')}`);
  return failures.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
