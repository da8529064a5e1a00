/**
 * An HTTP service that reports its cluster status: GET /healthz answers 200, or 503 with the reason
 * while the node cannot reach etcd, is not a healthy member, or is shutting down; GET /metrics
 * serves the cluster metrics (and Node's process metrics) for Prometheus. On SIGTERM or Ctrl-C it
 * answers 503, resigns, finishes the requests in flight and exits 0.
 *
 *   pnpm --filter @ztap/examples http-service      # etcd at ZTAP_ETCD_ENDPOINTS (default 127.0.0.1:2379)
 *   curl -i localhost:8080/healthz; curl localhost:8080/metrics
 *
 * PORT (default 8080) and HOST (default 127.0.0.1) say where it listens.
 * The server is in server.ts, written against interfaces; test/http-service.test.ts runs it in memory.
 */
import { registerClusterMetrics } from '@ztap/cluster-metrics';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { etcdCluster } from '../shared/etcd.ts';
import { shutdownSignal, whenAborted } from '../shared/shutdown.ts';
import { close, createStatusServer, listen } from './server.ts';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';
const cluster = etcdCluster({ name: 'http-service', nodeAddress: `${host}:${port}` }); // no I/O yet
const { election } = cluster;
const log = (line: string) => console.log(`[${election.nodeId}] ${line}`);
const shutdown = shutdownSignal(log);

const registry = new Registry(); // our own registry: never prom-client's global one
collectDefaultMetrics({ register: registry });
const metrics = registerClusterMetrics(election, { registry, policies: cluster.policies });
const server = createStatusServer({ ...cluster, registry, draining: shutdown });

try {
  // Listening before joining: /healthz answers 503 ("not a member") until the node has joined.
  const url = await listen(server, port, host);
  log(`serving ${url}/healthz and ${url}/metrics`);
  await election.start();
  log(`joined ${election.prefix}`);
  await whenAborted(shutdown);
} catch (error) {
  console.error(`[${election.nodeId}] ${(error as Error).message}`); // e.g. etcd unreachable, port taken
  process.exitCode = 1;
} finally {
  // /healthz already answers 503 (draining). The metrics' policy subscription uses the election's
  // etcd client, so it ends before the election closes that client.
  await metrics.dispose();
  await election.stop(); // resigns if leader, and leaves
  await close(server);
  log('stopped');
}
