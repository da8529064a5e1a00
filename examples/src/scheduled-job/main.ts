/**
 * A leader-only scheduled job: every instance joins the cluster, only the leader runs the job (every
 * JOB_INTERVAL_MS, default 10 s) and stores its result with a fenced write. A run stops the moment
 * leadership is lost. On SIGTERM or Ctrl-C the current run is aborted, the node resigns (a successor
 * takes over at once) and the process exits 0.
 *
 *   pnpm --filter @ztap/examples scheduled-job     # etcd at ZTAP_ETCD_ENDPOINTS (default 127.0.0.1:2379)
 *
 * Start it in two terminals, then stop the one that runs the job: the other takes over.
 * The logic is in job.ts, written against interfaces; test/scheduled-job.test.ts runs it in memory.
 */
import { systemClock } from '@ztap/cluster';
import { etcdCluster } from '../shared/etcd.ts';
import { shutdownSignal } from '../shared/shutdown.ts';
import { sleep } from '../shared/sleep.ts';
import { runScheduledJob } from './job.ts';

const cluster = etcdCluster({ name: 'scheduled-job' }); // validates the config, no I/O yet
const { election } = cluster;
const log = (line: string) => console.log(`[${election.nodeId}] ${line}`);
const shutdown = shutdownSignal(log);

try {
  await election.start();
  log(`joined ${election.prefix}; the leader runs the job`);
  await runScheduledJob(cluster, {
    name: 'cluster-report',
    intervalMs: Number(process.env.JOB_INTERVAL_MS ?? 10_000),
    signal: shutdown,
    log,
    work: async ({ signal }) => {
      // Stands for real work (a report, a cleanup): it takes a while and honours the signal.
      await sleep(systemClock, Number(process.env.JOB_WORK_MS ?? 2000), signal);
      const nodes = election.getNodes();
      const healthy = nodes.filter((node) => node.state === 'healthy').length;
      return `${healthy} of ${nodes.length} nodes healthy at ${new Date().toISOString()}`;
    },
  });
} catch (error) {
  console.error(`[${election.nodeId}] ${(error as Error).message}`); // e.g. etcd unreachable
  process.exitCode = 1;
} finally {
  await election.stop(); // resigns if leader, and leaves
  log('stopped');
}
