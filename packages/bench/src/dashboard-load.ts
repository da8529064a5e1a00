/**
 * `pnpm bench:dashboard`: what a dashboard costs with many tabs and a big cluster. Starts a private
 * etcd, 1,000 members (records on leases kept alive, as agents keep them) and three candidates, runs
 * `ztap dashboard` as its own process, opens 100 Server-Sent Events clients, then changes members and
 * measures how long each change takes to reach every client (event lag), the dashboard's CPU and RSS,
 * and whether any client was dropped. It prints numbers; it asserts nothing.
 *
 *   pnpm bench:dashboard [--members 1000] [--tabs 100] [--changes 100]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { EtcdElection } from '@ztap/cluster-etcd';
import { startEtcd } from '@ztap/cluster-testing';
import { linesOf } from '@ztap/testkit';
import { Etcd3 } from 'etcd3';
import { percentile } from './stats.ts';

const { values } = parseArgs({
  options: {
    members: { type: 'string', default: '1000' },
    tabs: { type: 'string', default: '100' },
    changes: { type: 'string', default: '100' },
  },
});
const MEMBERS = Number(values.members);
const TABS = Number(values.tabs);
const CHANGES = Number(values.changes);
const CLUSTER = 'bench-dashboard';
const PREFIX = `/ztap/clusters/${CLUSTER}/`;
const BIN = fileURLToPath(new URL('../../cli/src/bin.ts', import.meta.url));
const TICKS_PER_SECOND = 100; // Linux USER_HZ

/** CPU seconds (user + system) and resident memory of a process, from /proc. */
function usage(pid: number): { cpuSeconds: number; rssMiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return { cpuSeconds, rssMiB: Number(rss) / 1024 };
}

const record = (id: string, marker: string) =>
  JSON.stringify({
    address: `10.1.${Math.floor(Number(id.slice(2)) / 250)}.${Number(id.slice(2)) % 250}:9090`,
    metadata: { zone: `zone-${Number(id.slice(2)) % 8}`, marker },
    joinedAt: new Date().toISOString(),
    health: 'healthy',
  });

/** One SSE client: counts the bytes it read and when it first saw each marker. */
class Tab {
  readonly seen = new Map<string, number>();
  ended = false;
  #waiters = new Set<() => void>();

  constructor(url: string) {
    void this.#read(url);
  }

  async #read(url: string): Promise<void> {
    try {
      const response = await fetch(url);
      const decoder = new TextDecoder();
      for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
        const text = decoder.decode(chunk, { stream: true });
        const now = performance.now();
        for (const match of text.matchAll(/"marker":"(m\d+)"/g))
          if (!this.seen.has(match[1] as string)) this.seen.set(match[1] as string, now);
        for (const waiter of [...this.#waiters]) waiter();
      }
    } catch {
      // ended below
    }
    this.ended = true;
    for (const waiter of [...this.#waiters]) waiter();
  }

  until(marker: string): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.seen.has(marker) || this.ended) {
          this.#waiters.delete(check);
          resolve();
        }
      };
      this.#waiters.add(check);
      check();
    });
  }
}

const etcd = await startEtcd({ provider: 'local' });
const endpoint = etcd.endpoints[0] as string;
const client = new Etcd3({ hosts: [endpoint] });
const candidates: EtcdElection[] = [];
try {
  console.log(`== ${MEMBERS} members, ${TABS} tabs, ${CHANGES} changes; etcd ${endpoint}`);
  const leases = Array.from({ length: Math.ceil(MEMBERS / 100) }, () =>
    client.lease(10, { autoKeepAlive: true }),
  );
  const ids = Array.from({ length: MEMBERS }, (_, index) => `m-${index}`);
  for (let start = 0; start < ids.length; start += 100) {
    const lease = leases[start / 100] as ReturnType<typeof client.lease>;
    await Promise.all(
      ids
        .slice(start, start + 100)
        .map((id) => lease.put(`${PREFIX}members/${id}`).value(record(id, 'm0')).exec()),
    );
  }
  for (const id of ['candidate-1', 'candidate-2', 'candidate-3']) {
    const candidate = new EtcdElection({
      endpoints: [endpoint],
      cluster: CLUSTER,
      nodeId: id,
      nodeAddress: '127.0.0.1:1',
      initialLeadership: 0,
    });
    candidates.push(candidate);
    await candidate.start();
  }

  const dashboard = spawn(
    process.execPath,
    [
      '--conditions=@ztap/source',
      BIN,
      '--endpoints',
      endpoint,
      '--cluster',
      CLUSTER,
      '--json',
      'dashboard',
      '--listen',
      '127.0.0.1:0',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { PATH: process.env.PATH ?? '' } },
  );
  let url = '';
  for await (const line of linesOf(dashboard.stdout as AsyncIterable<Buffer>)) {
    const event = JSON.parse(line) as { event: string; url?: string };
    if (event.event === 'listening') {
      url = event.url as string;
      break;
    }
  }
  const pid = dashboard.pid as number;
  const snapshotReady = async () => {
    for (;;) {
      const snapshot = (await (await fetch(`${url}api/snapshot`)).json()) as {
        members: unknown[];
        history: { state: string };
      };
      if (snapshot.members.length >= MEMBERS && snapshot.history.state === 'done') return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };
  const loadStarted = performance.now();
  await snapshotReady();
  console.log(
    `dashboard loaded ${MEMBERS} members and the history in ${Math.round(performance.now() - loadStarted)} ms`,
  );
  const idle = usage(pid);

  const tabs = Array.from({ length: TABS }, () => new Tab(`${url}events`));
  const connectStarted = performance.now();
  await Promise.all(tabs.map((tab) => tab.until('m0')));
  console.log(
    `${TABS} tabs got their snapshot (${MEMBERS} members) in ${Math.round(performance.now() - connectStarted)} ms`,
  );
  const withTabs = usage(pid);

  // Steady changes: one member's record at a time; each must reach every tab.
  const lags: number[] = [];
  const lastTabLags: number[] = [];
  const steadyStarted = performance.now();
  const before = usage(pid);
  for (let change = 1; change <= CHANGES; change++) {
    const marker = `m${change}`;
    const id = ids[(change * 7919) % ids.length] as string;
    const lease = leases[Math.floor(Number(id.slice(2)) / 100)] as ReturnType<typeof client.lease>;
    const sent = performance.now();
    await lease.put(`${PREFIX}members/${id}`).value(record(id, marker)).exec();
    await Promise.all(tabs.map((tab) => tab.until(marker)));
    const arrivals = tabs.map((tab) => (tab.seen.get(marker) ?? Number.NaN) - sent);
    lags.push(...arrivals);
    lastTabLags.push(Math.max(...arrivals));
  }
  const steadyMs = performance.now() - steadyStarted;
  const after = usage(pid);

  // A burst: every member's record rewritten at once (as after a mass restart).
  const burstMarker = `m${CHANGES + 1}`;
  const burstStarted = performance.now();
  const burstBefore = usage(pid);
  await Promise.all(
    ids.map((id) => {
      const lease = leases[Math.floor(Number(id.slice(2)) / 100)] as ReturnType<typeof client.lease>;
      return lease.put(`${PREFIX}members/${id}`).value(record(id, burstMarker)).exec();
    }),
  );
  // Deltas reach a tab in etcd's order, so a tab that saw the marker has seen the whole burst before it.
  await Promise.all(tabs.map((tab) => tab.until(burstMarker)));
  const burstMs = performance.now() - burstStarted;
  const burstAfter = usage(pid);
  const dropped = tabs.filter((tab) => tab.ended).length;

  const ms = (value: number) => `${value.toFixed(1)} ms`;
  lags.sort((a, b) => a - b);
  lastTabLags.sort((a, b) => a - b);
  console.log('');
  console.log(
    `event lag, etcd write → delta read by a tab (${lags.length} samples: ${CHANGES} changes × ${TABS} tabs)`,
  );
  console.log(
    `  median ${ms(percentile(lags, 50))}  p99 ${ms(percentile(lags, 99))}  max ${ms(Math.max(...lags))}`,
  );
  console.log(
    `  slowest tab per change: median ${ms(percentile(lastTabLags, 50))}  p99 ${ms(percentile(lastTabLags, 99))}`,
  );
  console.log(
    `steady changes: ${((after.cpuSeconds - before.cpuSeconds) / (steadyMs / 1000)).toFixed(2)} CPU cores over ${Math.round(steadyMs)} ms`,
  );
  console.log(
    `burst of ${MEMBERS} member writes: every tab had the last one after ${Math.round(burstMs)} ms; dashboard CPU ${(burstAfter.cpuSeconds - burstBefore.cpuSeconds).toFixed(2)} s`,
  );
  console.log(
    `RSS: idle ${idle.rssMiB.toFixed(0)} MiB, with ${TABS} tabs ${withTabs.rssMiB.toFixed(0)} MiB, after the burst ${burstAfter.rssMiB.toFixed(0)} MiB`,
  );
  console.log(`tabs dropped for falling behind: ${dropped}`);
  dashboard.kill('SIGTERM');
  await new Promise((resolve) => dashboard.once('exit', resolve));
  for (const lease of leases) await lease.revoke().catch(() => {});
} finally {
  for (const candidate of candidates) await candidate.stop().catch(() => {});
  client.close();
  await etcd.stop();
}
process.exit(0);
