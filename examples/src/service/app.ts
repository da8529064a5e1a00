import { type Clock, systemClock } from '@ztap/cluster';
import { registerClusterMetrics } from '@ztap/cluster-metrics';
import { Registry } from 'prom-client';
import { close, createStatusServer, listen } from '../http-service/server.ts';
import { followPolicies, PolicySet } from '../policy-follower/follower.ts';
import { runScheduledJob } from '../scheduled-job/job.ts';
import type { Cluster } from '../shared/cluster.ts';

export interface ServiceOptions {
  /** Where /healthz and /metrics are served; port 0 takes any free port. */
  readonly port: number;
  readonly host?: string;
  /** How often the leader writes the cluster report. */
  readonly reportIntervalMs: number;
  /** Default: a new one. Pass yours to add metrics of your own (or prom-client's process metrics). */
  readonly registry?: Registry;
  readonly clock?: Clock;
  readonly log?: (line: string) => void;
}

export interface Service {
  /** Base URL of /healthz and /metrics. */
  readonly url: string;
  /** The policies this instance follows right now. */
  readonly policies: PolicySet;
  /** Settles once the service has stopped; rejects when a part of it failed (it then stops itself). */
  readonly done: Promise<void>;
  /** /healthz turns 503, the leader's current run is aborted, the node resigns and leaves. Idempotent. */
  stop(): Promise<void>;
}

/**
 * A complete service, written once against the `Cluster` interfaces and unaware of the backend:
 * every instance serves /healthz and /metrics and follows the policies; the leader also writes a
 * cluster report every `reportIntervalMs`, fenced by its term. `main.ts` runs it on etcd;
 * test/service.test.ts runs three instances on the in-memory backend with a manual clock.
 * Starts the election; `stop()` stops it.
 */
export async function startService(cluster: Cluster, options: ServiceOptions): Promise<Service> {
  const { election } = cluster;
  const { clock = systemClock, log = console.log, registry = new Registry() } = options;
  const stopping = new AbortController();
  const metrics = registerClusterMetrics(election, { registry, policies: cluster.policies });
  const server = createStatusServer({ ...cluster, registry, draining: stopping.signal });
  let url: string;
  try {
    url = await listen(server, options.port, options.host ?? '127.0.0.1');
    await election.start();
  } catch (error) {
    await metrics.dispose();
    server.close();
    throw error;
  }
  log(`serving ${url}/healthz and ${url}/metrics; joined the cluster`);

  const policies = new PolicySet();
  const tasks = Promise.all([
    followPolicies(cluster.policies, policies, { signal: stopping.signal, log }),
    runScheduledJob(cluster, {
      name: 'cluster-report',
      intervalMs: options.reportIntervalMs,
      signal: stopping.signal,
      clock,
      log,
      work: async () => {
        const nodes = election.getNodes();
        const healthy = nodes.filter((node) => node.state === 'healthy').length;
        return `nodes healthy: ${healthy}/${nodes.length}, policies: ${policies.size}`;
      },
    }),
  ]);
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      stopping.abort(new Error('the service is stopping'));
      await tasks.catch(() => {});
      // The policy subscriptions use the backend's connection: end them before the election closes it.
      await metrics.dispose();
      await election.stop();
      await close(server);
    })());
  const done = tasks.then(
    () => stop(),
    async (error: unknown) => {
      log(`failed: ${(error as Error).message}`);
      await stop();
      throw error;
    },
  );
  return { url, policies, done, stop };
}
