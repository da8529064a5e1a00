/**
 * 8. Fleet (issue 14): agents each with an etcd client of its own, spread over child processes, 3 of
 * them candidates and the rest members that never campaign; on one etcd directly, then behind two
 * gRPC proxies. Start → all registered and one leader; a policy push and a leadership change → every
 * agent knows; what etcd sends per leadership change; etcd idle; etcd frozen for 3 × TTL → recovery.
 */
import { readFileSync } from 'node:fs';
import { type GrpcProxy, startGrpcProxy } from '@ztap/cluster-testing';
import type { BenchContext } from '../context.ts';
import { counterDelta, readEtcdCounters } from '../etcd-metrics.ts';
import { Fleet, percentile } from '../fleet.ts';
import { freezeAndRecover } from '../fleet-outage.ts';
import { MeasureBuilder, type ScenarioResult, type Target } from '../results.ts';
import { nowMs, pollUntil, sleep } from '../time.ts';

const TITLE = '8. Fleet';
const PROCESSES = 4;
const CANDIDATES = 3;

/** etcd's CPU seconds and RSS (MiB) from /proc. */
function etcdUsage(pid: number | undefined): { cpuSeconds: number; rssMiB: number } | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
    return { cpuSeconds: (Number(fields[11]) + Number(fields[12])) / 100, rssMiB: rssKiB / 1024 };
  } catch {
    return undefined;
  }
}

const within = (limit: number, text: string) => (samples: { ztap: readonly number[] }) =>
  ({
    text,
    met: samples.ztap.length > 0 ? samples.ztap.every((value) => value <= limit) : false,
  }) satisfies Target;

/** The latest version of policy `name` each agent reported. */
function latestPolicies(fleet: Fleet, name: string): Map<string, number> {
  const latest = new Map<string, number>();
  for (const event of fleet.events('policy')) {
    if (event.name !== name) continue;
    latest.set(event.node, Math.max(latest.get(event.node) ?? 0, Number(event.version)));
  }
  return latest;
}

/** Polls `count` until it reaches `total` or `timeoutMs` passes; returns the last count. */
async function waitForAll(count: () => number, total: number, timeoutMs: number): Promise<number> {
  await pollUntil(() => count() >= total, 'every agent', timeoutMs, 50).catch(() => {});
  return count();
}

export async function fleet(context: BenchContext): Promise<ScenarioResult> {
  const agents = context.smoke ? 40 : Number(process.env.ZTAP_BENCH_FLEET_AGENTS ?? 1000);
  // A short TTL keeps the smoke run's outage (3 × TTL) short.
  const TTL_MS = context.smoke ? 2000 : 5000;
  const per = agents.toLocaleString('en-US');
  const rows = new Map<string, MeasureBuilder>();
  const measure = (name: string, unit: string) => {
    let builder = rows.get(name);
    if (!builder) {
      builder = new MeasureBuilder(TITLE, name, unit);
      rows.set(name, builder);
    }
    return builder;
  };
  const targets = new Map<string, (samples: { ztap: readonly number[] }) => Target>();
  const notes: string[] = [];
  const raw: unknown[] = [];
  const etcdPid = context.etcdPid;
  const freezer = {
    pause: () => etcdPid !== undefined && process.kill(etcdPid, 'SIGSTOP'),
    resume: () => etcdPid !== undefined && process.kill(etcdPid, 'SIGCONT'),
  };

  const variants: { via: 'direct' | 'proxies'; view: 'full' | 'leader' }[] = [
    { via: 'direct', view: 'leader' },
    ...(context.smoke ? [] : [{ via: 'direct' as const, view: 'full' as const }]),
    { via: 'proxies', view: 'leader' },
  ];
  for (const { via, view } of variants) {
    const label = `, members' view ${view}${via === 'direct' ? '' : ', through 2 gRPC proxies'}`;
    const proxies: GrpcProxy[] = [];
    if (via === 'proxies')
      for (let index = 0; index < 2; index++)
        proxies.push(await startGrpcProxy({ endpoints: [context.endpoint] }));
    const endpoints = via === 'direct' ? [context.endpoint] : proxies.flatMap((proxy) => proxy.endpoints);
    context.log(`fleet: ${agents} agents in ${PROCESSES} processes${label}`);
    const run = `${via}-${view}`;
    const fleetRun = Fleet.start({
      endpoints,
      prefix: `/bench/${context.runId}-fleet-${run}/`,
      memberView: view,
      agents,
      processes: PROCESSES,
      candidates: CANDIDATES,
      electionTimeoutMs: TTL_MS,
      heartbeatMs: Math.floor(TTL_MS / 3),
      startWindowMs: 1000,
    });
    try {
      // 1. Start.
      const started = await fleetRun.waitAllStarted(300_000);
      const settledAt = await fleetRun.waitSettled(fleetRun.startedAt, 300_000);
      const startName = `${per} agents started within 1 s → all registered, one leader${label}`;
      measure(startName, 'ms').add('ztap', Math.round(settledAt - fleetRun.startedAt));
      targets.set(startName, within(10_000, '≤ 10 s'));
      const failedName = `${per} agents: failed starts${label}`;
      measure(failedName, 'agents').add('ztap', started.failedStarts);
      targets.set(failedName, within(0, '0'));

      // 2. Idle: etcd's CPU and memory, the agents' memory.
      const idleMs = context.smoke ? 3000 : 10_000;
      const before = etcdUsage(etcdPid);
      const countersBefore = await readEtcdCounters(context.endpoint);
      await sleep(idleMs);
      const after = etcdUsage(etcdPid);
      const countersIdle = counterDelta(countersBefore, await readEtcdCounters(context.endpoint));
      if (before && after) {
        const coresName = `etcd CPU, ${per} idle agents${label}`;
        measure(coresName, 'cores').add(
          'ztap',
          Math.round(((after.cpuSeconds - before.cpuSeconds) / (idleMs / 1000)) * 1000) / 1000,
        );
        targets.set(coresName, within(0.25, '≤ 0.25 core'));
        measure(`etcd RSS, ${per} idle agents${label}`, 'MiB').add('ztap', Math.round(after.rssMiB));
      }
      measure(`etcd unary requests per second, ${per} idle agents${label}`, 'req/s').add(
        'ztap',
        Math.round(countersIdle.unaryRequests / (idleMs / 1000)),
      );
      fleetRun.send('rss');
      await pollUntil(() => fleetRun.events('rss').length >= PROCESSES, 'agent memory', 10_000);
      const rss = fleetRun.events('rss').reduce((sum, event) => sum + Number(event.rssMiB), 0);
      measure(`agent process RSS per agent${label}`, 'MiB').add(
        'ztap',
        Math.round((rss / agents) * 100) / 100,
      );

      // 3. Policy pushes: every agent has each.
      const pushes = context.smoke ? 2 : 5;
      for (let push = 0; push < pushes; push++) {
        const sentAt = nowMs();
        fleetRun.send(`push p v${push}-${run}`);
        await pollUntil(
          () =>
            fleetRun.events('pushed', sentAt).length > 0 || fleetRun.events('push-failed', sentAt).length > 0,
          'the push',
          20_000,
        );
        const pushed = fleetRun.events('pushed', sentAt)[0];
        if (!pushed)
          throw new Error(`the push failed: ${JSON.stringify(fleetRun.events('push-failed', sentAt))}`);
        const version = Number(pushed.version);
        const reached = await waitForAll(
          () => fleetRun.firstPerAgent('policy', sentAt, (event) => Number(event.version) === version).size,
          agents,
          30_000,
        );
        if (reached < agents) {
          notes.push(`${run}: push ${push}: ${reached} of ${agents} agents had it after 30 s`);
          continue;
        }
        const delays = [
          ...fleetRun.firstPerAgent('policy', sentAt, (event) => Number(event.version) === version).values(),
        ].map((at) => at - sentAt);
        measure(`policy push → every agent has it, p50${label}`, 'ms').add(
          'ztap',
          Math.round(percentile(delays, 50)),
        );
        const p99Name = `policy push → every agent has it, p99${label}`;
        measure(p99Name, 'ms').add('ztap', Math.round(percentile(delays, 99)));
        targets.set(p99Name, within(250, '≤ 250 ms'));
      }

      // 4. Leadership changes: every agent knows; what etcd sends for one.
      const changes = context.smoke ? 2 : 5;
      for (let change = 0; change < changes; change++) {
        const counters = await readEtcdCounters(context.endpoint);
        const sentAt = nowMs();
        fleetRun.send('resign');
        await pollUntil(() => fleetRun.firstLeadSince(sentAt) !== undefined, 'a new leader', 30_000);
        const leader = fleetRun.firstLeadSince(sentAt)?.node;
        const knowing = await waitForAll(
          () => fleetRun.firstPerAgent('knows', sentAt, (event) => event.leader === leader).size,
          agents,
          30_000,
        );
        if (knowing < agents) {
          notes.push(
            `${run}: change ${change}: ${knowing} of ${agents} agents knew the new leader after 30 s`,
          );
          continue;
        }
        await sleep(500); // the resigned candidate's new campaign key, too
        const delta = counterDelta(counters, await readEtcdCounters(context.endpoint));
        const delays = [
          ...fleetRun.firstPerAgent('knows', sentAt, (event) => event.leader === leader).values(),
        ].map((at) => at - sentAt);
        const p99Name = `leadership change → every agent knows, p99${label}`;
        measure(p99Name, 'ms').add('ztap', Math.round(percentile(delays, 99)));
        targets.set(p99Name, within(250, '≤ 250 ms'));
        measure(`watch events etcd sends per leadership change${label}`, 'events').add(
          'ztap',
          delta.watchEvents,
        );
        measure(`bytes etcd sends per leadership change${label}`, 'KiB').add(
          'ztap',
          Math.round(delta.sentBytes / 1024),
        );
      }

      // 5. etcd frozen for 3 × TTL.
      const pushedBefore = Math.max(...latestPolicies(fleetRun, 'p').values());
      const outage = await freezeAndRecover(fleetRun, freezer, 3 * TTL_MS, 60_000);
      raw.push({ run, outage });
      if (outage.leaderMs !== undefined) {
        const name = `etcd frozen 3 × TTL (${TTL_MS / 1000} s), resumed → one leader${label}`;
        measure(name, 'ms').add('ztap', outage.leaderMs);
        targets.set(name, within(TTL_MS + 1000, '≤ TTL + 1 s'));
      } else notes.push(`${run}: no leader within 60 s after etcd resumed`);
      if (outage.allLiveMs !== undefined) {
        const name = `etcd frozen 3 × TTL, resumed → all agents registered again${label}`;
        measure(name, 'ms').add('ztap', outage.allLiveMs);
        targets.set(name, within(15_000, '≤ 15 s'));
      } else notes.push(`${run}: ${outage.agentsLive} of ${agents} agents registered again within 60 s`);
      const mostLeaders = `most leaders at one instant, whole run${label}`;
      measure(mostLeaders, 'leaders').add('ztap', outage.maxConcurrentLeaders);
      targets.set(mostLeaders, within(1, '≤ 1'));
      // The latest policy everywhere: what etcd holds, pushed again by the new leader.
      const sentAt = nowMs();
      fleetRun.send(`push p after-outage-${run}`);
      await pollUntil(() => fleetRun.events('pushed', sentAt).length > 0, 'a push after the outage', 30_000);
      const latest = Number(fleetRun.events('pushed', sentAt)[0]?.version);
      await pollUntil(
        () =>
          [...latestPolicies(fleetRun, 'p').values()].filter((version) => version === latest).length ===
          agents,
        'every agent to have the latest policy',
        30_000,
        100,
      ).catch(() => {});
      const lost =
        agents - [...latestPolicies(fleetRun, 'p').values()].filter((version) => version === latest).length;
      const lostName = `etcd frozen 3 × TTL: agents without the latest policy${label}`;
      measure(lostName, 'agents').add('ztap', lost);
      targets.set(lostName, within(0, '0 lost'));
      raw.push({ run, pushedBefore, latest, lost });
      notes.push(
        `${run}: outage phases (ms after resume, p50/p99): ${Object.entries(outage.phases)
          .map(([phase, stats]) => `${phase} ${stats.p50}/${stats.p99}`)
          .join('; ')}`,
      );
    } catch (error) {
      // One variant's failure is reported; the others still run.
      notes.push(
        `${run}: did not complete: ${(error as Error).message}; ${fleetRun.describe(fleetRun.startedAt)}`,
      );
      context.log(`fleet ${run} did not complete: ${(error as Error).message}`);
    } finally {
      await fleetRun.stop().catch(() => {});
      for (const proxy of proxies) await proxy.stop().catch(() => {});
    }
  }
  return {
    id: 'fleet',
    title: TITLE,
    measures: [...rows.values()].map((builder) => builder.build(targets.get(builder.name))),
    notes,
    raw,
  };
}
