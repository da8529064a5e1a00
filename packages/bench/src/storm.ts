/**
 * `pnpm bench:storm`: the reconnect storm of issue 14, alone — a fleet of agents, each on its own
 * etcd client, spread over processes, etcd frozen (SIGSTOP) for longer than the TTL, then resumed;
 * prints where the time to recover goes. Arguments: --agents=200 --processes=4 --ttl-ms=2000
 * --heartbeat-ms=500 --freeze-ms=6000 --rounds=1.
 */
import { startEtcd } from '@ztap/cluster-testing';
import { Etcd3 } from 'etcd3';
import { killAllChildren } from './child-process.ts';
import { Fleet } from './fleet.ts';
import { freezeAndRecover } from './fleet-outage.ts';
import { nowMs } from './time.ts';

const args = new Map(
  process.argv.slice(2).map((arg) => {
    const [name, value] = arg.replace(/^--/, '').split('=');
    return [name as string, Number(value)];
  }),
);
const agents = args.get('agents') ?? 200;
const processes = args.get('processes') ?? 4;
const ttlMs = args.get('ttl-ms') ?? 2000;
const heartbeatMs = args.get('heartbeat-ms') ?? 500;
const freezeMs = args.get('freeze-ms') ?? 6000;
const rounds = args.get('rounds') ?? 1;

const etcd = await startEtcd({ provider: 'local' });
const member = etcd.members[0];
if (!member) throw new Error('no etcd member');
try {
  const prefix = `/storm/${Date.now().toString(36)}/`;
  // What etcd itself did and when, seen by a probe: deletions (expired leases), member records and
  // campaign keys written back.
  const probe = new Etcd3({ hosts: [...etcd.endpoints] });
  const writes: { at: number; type: string; key: string; value: string; revision: number }[] = [];
  const watcher = await probe.watch().prefix(prefix).create();
  watcher.on('data', (response) => {
    const at = nowMs();
    for (const event of response.events)
      writes.push({
        at,
        type: event.type,
        key: event.kv.key.toString().slice(prefix.length),
        value: event.kv.value.toString(),
        revision: Number(event.kv.mod_revision),
      });
  });
  const fleet = Fleet.start({
    endpoints: etcd.endpoints,
    prefix,
    agents,
    processes,
    candidates: agents,
    electionTimeoutMs: ttlMs,
    heartbeatMs,
    startWindowMs: 1000,
  });
  const started = await fleet.waitAllStarted(120_000);
  const settled = await fleet.waitSettled(fleet.startedAt, 120_000);
  process.stderr.write(
    `${agents} agents in ${processes} processes: settled ${Math.round(settled - fleet.startedAt)} ms after start, ${started.failedStarts} failed starts\n`,
  );
  for (let round = 0; round < rounds; round++) {
    const before = nowMs();
    const result = await freezeAndRecover(fleet, member, freezeMs, 60_000);
    const resumedAt = before + freezeMs;
    const seen = writes.filter((write) => write.at > before);
    const span = (test: (write: { type: string; key: string }) => boolean) => {
      const times = seen.filter(test).map((write) => Math.round(write.at - resumedAt));
      return times.length === 0
        ? 'none'
        : `${times.length} from ${Math.min(...times)} to ${Math.max(...times)} ms`;
    };
    const etcdSide = {
      'deleted (expired)': span((write) => write.type === 'Delete'),
      'member records put': span((write) => write.type === 'Put' && write.key.startsWith('members/')),
      'campaign keys put': span((write) => write.type === 'Put' && write.key.startsWith('election/')),
    };
    if (process.env.STORM_TRACE) {
      const firstKeys = seen
        .filter((write) => write.type === 'Put' && write.key.startsWith('election/'))
        .slice(0, 3);
      const lead = fleet.firstLeadSince(resumedAt);
      const live = fleet.firstPerAgent('live', resumedAt);
      const slowest = [...live].sort((a, b) => b[1] - a[1])[0]?.[0];
      for (const node of [...firstKeys.map((write) => write.value), lead?.node, slowest]) {
        const events = fleet
          .events(undefined, resumedAt - 3000)
          .filter((event) => event.node === node)
          .sort((a, b) => a.at - b.at);
        process.stdout.write(
          `${node}: ${events.map((event) => `${Math.round(event.at - resumedAt)} ${event.event}${event.reason ? `(${event.reason})` : ''}${event.leader !== undefined ? `(${event.leader})` : ''}`).join(', ')}\n`,
        );
      }
      process.stdout.write(
        `campaign puts: ${firstKeys.map((write) => `${write.value}@${Math.round(write.at - resumedAt)} rev ${write.revision}`).join(', ')}\n`,
      );
      const deletes = seen.filter((write) => write.type === 'Delete' && write.key.startsWith('election/'));
      process.stdout.write(
        `last campaign delete at ${Math.round((deletes.at(-1)?.at ?? 0) - resumedAt)} rev ${deletes.at(-1)?.revision}\n`,
      );
    }
    const loads = fleet.children.map((child) => {
      const samples = child.events.filter(
        (event) => event.event === 'load' && event.at > resumedAt - 500 && event.at < resumedAt + 8000,
      );
      return samples
        .map((event) => `${Math.round(event.at - resumedAt)}:${Math.round(Number(event.loopDelayMs))}`)
        .join(' ');
    });
    process.stdout.write(`${JSON.stringify({ ...result, etcdSide, loopDelay: loads }, null, 2)}\n`);
    await fleet.waitSettled(nowMs() - 1, 60_000).catch(() => {});
  }
  await fleet.stop();
  await watcher.cancel();
  probe.close();
} finally {
  killAllChildren();
  await etcd.stop();
}
