/**
 * The pattern to copy: one application module (app.ts) written against the `LeaderElection` and
 * `PolicySync` interfaces, run on etcd here and on the in-memory backend in its tests
 * (test/service.test.ts). The application serves /healthz and /metrics, follows the policies, and
 * while it leads writes a cluster report every REPORT_INTERVAL_MS (default 10 s) with a fenced write.
 * On SIGTERM or Ctrl-C it answers 503, aborts the report in progress, resigns and exits 0.
 *
 *   pnpm --filter @ztap/examples service           # etcd at ZTAP_ETCD_ENDPOINTS (default 127.0.0.1:2379)
 *
 * PORT (default 8080) and HOST (default 127.0.0.1) say where it listens; run more with other ports.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import { etcdCluster } from '../shared/etcd.ts';
import { shutdownSignal, whenAborted } from '../shared/shutdown.ts';
import { type Service, startService } from './app.ts';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';
const cluster = etcdCluster({ name: 'service', nodeAddress: `${host}:${port}` }); // no I/O yet
const log = (line: string) => console.log(`[${cluster.election.nodeId}] ${line}`);
const shutdown = shutdownSignal(log);
const registry = new Registry();
collectDefaultMetrics({ register: registry });

let service: Service | undefined;
try {
  service = await startService(cluster, {
    port,
    host,
    reportIntervalMs: Number(process.env.REPORT_INTERVAL_MS ?? 10_000),
    registry,
    log,
  });
  await Promise.race([whenAborted(shutdown), service.done]); // until SIGTERM, or a part fails
} catch (error) {
  console.error(`[${cluster.election.nodeId}] ${(error as Error).message}`); // e.g. etcd unreachable
  process.exitCode = 1;
} finally {
  await service?.stop();
  log('stopped');
}
