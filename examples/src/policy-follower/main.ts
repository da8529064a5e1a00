/**
 * A service that follows policy updates: it keeps the current policies in memory (a snapshot first,
 * then every change, and a fresh snapshot after a resync) and logs each change. So that it shows
 * something by itself, whichever instance leads also publishes a `rate-limit` policy every
 * PUBLISH_INTERVAL_MS (default 5 s; 0 turns it off). Exits 0 on SIGTERM or Ctrl-C.
 *
 *   pnpm --filter @ztap/examples policy-follower   # etcd at ZTAP_ETCD_ENDPOINTS (default 127.0.0.1:2379)
 *
 * Run several; push your own with `ztap --cluster examples policy push <name> <file.yaml>` (docs/cli.md).
 * The logic is in follower.ts and publisher.ts; test/policy-follower.test.ts runs it in memory.
 */
import { etcdCluster } from '../shared/etcd.ts';
import { shutdownSignal } from '../shared/shutdown.ts';
import { followPolicies, PolicySet } from './follower.ts';
import { publishWhileLeader } from './publisher.ts';

const cluster = etcdCluster({ name: 'policy-follower' }); // validates the config, no I/O yet
const { election } = cluster;
const log = (line: string) => console.log(`[${election.nodeId}] ${line}`);
const shutdown = shutdownSignal(log);
const publishEvery = Number(process.env.PUBLISH_INTERVAL_MS ?? 5000);
const current = new PolicySet(); // what the service would consult on each request

try {
  await election.start();
  log(`joined ${election.prefix}; following policies`);
  const tasks = [followPolicies(cluster.policies, current, { signal: shutdown, log })];
  if (publishEvery > 0) {
    const document = (count: number, term: number) =>
      `# published by ${election.nodeId} in term ${term}\nrequestsPerSecond: ${100 + count}\n`;
    tasks.push(
      publishWhileLeader(cluster, {
        name: 'rate-limit',
        intervalMs: publishEvery,
        document,
        signal: shutdown,
        log,
      }),
    );
  }
  await Promise.all(tasks);
} catch (error) {
  console.error(`[${election.nodeId}] ${(error as Error).message}`); // e.g. etcd unreachable
  process.exitCode = 1;
} finally {
  await election.stop(); // resigns if leader, and leaves
  log(`stopped, following ${current.list().length} policies`);
}
