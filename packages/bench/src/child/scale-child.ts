/**
 * N nodes of one system on one shared client, in a process of their own so its CPU and memory are
 * theirs alone. Reports one `result` line.
 *
 * - `steady`: joins them `joinConcurrency` at a time, then measures a quiet steady state.
 * - `stampede`: starts all of them at once and reports how many failed to join and whether one
 *   stable leader emerged within `timeoutMs`.
 */
import { readFileSync } from 'node:fs';
import { createEtcdClient, EtcdElection } from '@ztap/cluster-etcd';
import { type Campaign, Etcd3 } from 'etcd3';
import { heartbeatFor, inBatches } from '../candidates.ts';
import { counterDelta, readEtcdCounters } from '../etcd-metrics.ts';
import type { SystemName } from '../results.ts';
import { nowMs, pollUntil, sleep } from '../time.ts';
import { childConfig, report } from './report.ts';

export interface ScaleChildConfig {
  readonly system: SystemName;
  readonly nodes: number;
  readonly endpoint: string;
  readonly name: string;
  readonly ttlSeconds: number;
  readonly settleMs: number;
  readonly windowMs: number;
  readonly timeoutMs: number;
  readonly etcdPid: number | undefined;
  readonly mode: 'steady' | 'stampede';
  /** How many joins are in flight at once in `steady` mode. */
  readonly joinConcurrency: number;
}

const config = childConfig<ScaleChildConfig>();
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const MiB = 2 ** 20;

/** etcd's CPU seconds so far (utime + stime from /proc), or undefined if it cannot be read. */
function etcdCpuSeconds(): number | undefined {
  if (config.etcdPid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${config.etcdPid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

const cpuSeconds = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
};

// A separate client counts the campaign keys; its polls are subtracted from the request counts.
const probe = new Etcd3({ hosts: config.endpoint });
let polls = 0;
const countKeys = async (prefix: string): Promise<number> => {
  polls++;
  return probe.getAll().prefix(prefix).count();
};

const prefix = `/bench/${config.name}/`;
let client: Etcd3;
let elections: EtcdElection[] = [];
const campaigns: Campaign[] = [];
let firstLeaderAt: number | undefined;
const leaderSeen = () => {
  firstLeaderAt ??= nowMs();
};
let failedJoins = 0;
const etcd3Elected = new Set<Campaign>();
const etcd3Failed = new Set<Campaign>();
const leaderCount = () =>
  config.system === 'ztap'
    ? elections.filter((election) => election.isLeader()).length
    : [...etcd3Elected].filter((campaign) => !etcd3Failed.has(campaign)).length;

if (config.system === 'ztap') {
  client = createEtcdClient({ endpoints: [config.endpoint], requestTimeout: 2500 });
} else {
  client = new Etcd3({ hosts: config.endpoint });
}
// Connect both clients before the baseline.
await client.get('/bench/warm-up').string();
await countKeys('/bench/warm-up/');
polls = 0;

gc();
await sleep(200);
const memoryBefore = process.memoryUsage();
const countersBefore = await readEtcdCounters(config.endpoint);
const cpuBefore = cpuSeconds();
const etcdCpuBefore = etcdCpuSeconds();
const joinStart = nowMs();

let electionPrefix: string;
if (config.system === 'ztap') {
  electionPrefix = `${prefix}election/`;
  elections = Array.from(
    { length: config.nodes },
    (_, index) =>
      new EtcdElection({
        nodeId: `n${index}`,
        nodeAddress: `127.0.0.1:${10000 + index}`,
        client,
        prefix,
        electionTimeout: config.ttlSeconds * 1000,
        heartbeatInterval: heartbeatFor(config.ttlSeconds),
        initialLeadership: 0,
      }),
  );
  const join = (election: EtcdElection) =>
    election.start().then(
      () => {
        election.waitForLeadership().then(leaderSeen, () => {});
      },
      () => {
        failedJoins++;
      },
    );
  if (config.mode === 'stampede') for (const election of elections) void join(election);
  else void inBatches(elections, config.joinConcurrency, join);
} else {
  electionPrefix = `election/${config.name}/`;
  const election = client.election(config.name, config.ttlSeconds);
  const join = (index: number) =>
    new Promise<void>((resolve) => {
      const campaign = election.campaign(`n${index}`);
      campaigns.push(campaign);
      campaign.on('elected', () => {
        etcd3Elected.add(campaign);
        leaderSeen();
        resolve();
      });
      // etcd3's internal "found my predecessor" event: only used to pace the joins.
      campaign.on('_isWaiting' as 'elected', () => resolve());
      campaign.on('error', () => {
        if (!etcd3Failed.has(campaign)) failedJoins++;
        etcd3Failed.add(campaign);
        resolve();
      });
    });
  const indexes = Array.from({ length: config.nodes }, (_, index) => index);
  if (config.mode === 'stampede') for (const index of indexes) void join(index);
  else void inBatches(indexes, config.joinConcurrency, join);
}

if (config.mode === 'stampede') {
  // Done when every key is there and exactly one node leads, twice in a row 1 s apart; or at timeoutMs.
  let stableSince: number | undefined;
  let allKeysAt: number | undefined;
  let keys = 0;
  const deadline = joinStart + config.timeoutMs;
  while (nowMs() < deadline) {
    await sleep(100);
    keys = await countKeys(electionPrefix);
    if (keys >= config.nodes) allKeysAt ??= nowMs();
    const healthy = keys >= config.nodes && leaderCount() === 1;
    if (!healthy) stableSince = undefined;
    else if (stableSince === undefined) stableSince = nowMs();
    else if (nowMs() - stableSince >= 1000) break;
  }
  report({
    event: 'result',
    mode: 'stampede',
    nodes: config.nodes,
    failedJoins,
    keysAtEnd: keys,
    leadersAtEnd: leaderCount(),
    settled: stableSince !== undefined && nowMs() - stableSince >= 1000,
    firstLeaderMs: firstLeaderAt === undefined ? undefined : firstLeaderAt - joinStart,
    allKeysMs: allKeysAt === undefined ? undefined : allKeysAt - joinStart,
    /** When "every key is there and exactly one node leads" began to hold for good. */
    settledMs: stableSince === undefined ? undefined : stableSince - joinStart,
    cpuSeconds: cpuSeconds() - cpuBefore,
  });
  await leave();
}

await pollUntil(
  async () => firstLeaderAt !== undefined && (await countKeys(electionPrefix)) >= config.nodes,
  `${config.nodes} ${config.system} campaign keys and a leader`,
  config.timeoutMs,
  50,
);
const joinedAt = nowMs();
await sleep(config.settleMs);
const countersJoined = await readEtcdCounters(config.endpoint);
const cpuJoined = cpuSeconds();
const join = counterDelta(countersBefore, countersJoined);
const joinPolls = polls;

// Steady state: nothing happens but keepalives (and each library's own housekeeping).
const windowStart = nowMs();
const etcdCpuWindowStart = etcdCpuSeconds();
await sleep(config.windowMs);
const windowSeconds = (nowMs() - windowStart) / 1000;
const countersAfter = await readEtcdCounters(config.endpoint);
const cpuAfter = cpuSeconds();
const etcdCpuAfter = etcdCpuSeconds();
const steady = counterDelta(countersJoined, countersAfter);

gc();
await sleep(200);
gc();
const memoryAfter = process.memoryUsage();

report({
  event: 'result',
  mode: 'steady',
  failedJoins,
  nodes: config.nodes,
  firstLeaderMs: (firstLeaderAt as number) - joinStart,
  allJoinedMs: joinedAt - joinStart,
  requestsPerJoin: (join.unaryRequests - joinPolls) / config.nodes,
  joinRequestsByMethod: join.byMethod,
  joinPolls,
  watchEventsPerJoin: join.watchEvents / config.nodes,
  joinCpuSeconds: cpuJoined - cpuBefore,
  keepalivesPerSecond: steady.keepalives / windowSeconds,
  steadyRequestsPerSecond: steady.unaryRequests / windowSeconds,
  steadyCores: (cpuAfter - cpuJoined) / windowSeconds,
  etcdSteadyCores:
    etcdCpuAfter !== undefined && etcdCpuWindowStart !== undefined
      ? (etcdCpuAfter - etcdCpuWindowStart) / windowSeconds
      : undefined,
  etcdCpuSecondsTotal:
    etcdCpuAfter !== undefined && etcdCpuBefore !== undefined ? etcdCpuAfter - etcdCpuBefore : undefined,
  rssMiB: (memoryAfter.rss - memoryBefore.rss) / MiB,
  heapMiB: (memoryAfter.heapUsed - memoryBefore.heapUsed) / MiB,
  watchers: countersAfter.watchers,
});

await leave();

/** ZTAP revokes each lease, etcd3 resigns each campaign (which revokes its lease); then exit. */
async function leave(): Promise<never> {
  await inBatches(elections, 100, (election) => election.stop());
  await inBatches(campaigns, 100, (campaign) => campaign.resign().catch(() => {}));
  client.close();
  probe.close();
  process.exit(0);
}
