import type { HealthCheck, LeaderElection } from '@ztap/cluster';
import { createEtcdClient, EtcdElection } from '@ztap/cluster-etcd';
import { InMemoryElection, MemoryHub } from '@ztap/cluster-memory';
import { cutOffProxy, type EtcdHandle, type EtcdLink, startEtcd } from '@ztap/cluster-testing';

/** A failure the demo injects into the leader, and how it is described. */
export interface DemoFault {
  readonly description: string;
  inject(nodeId: string): Promise<void>;
}

export interface DemoBackend {
  /** Which backend, and why it was chosen: printed first so nobody mistakes one for the other. */
  readonly description: string;
  createNode(nodeId: string, healthCheck: HealthCheck): Promise<LeaderElection>;
  /** The second failover's fault: something worse than a clean stop. */
  readonly fault: DemoFault;
  close(): Promise<void>;
}

const DEFAULT_ENDPOINT = 'http://127.0.0.1:2379';
const addressOf = (nodeId: string) => `127.0.0.1:${9090 + Number(nodeId.replace(/\D/g, ''))}`;

/**
 * etcd when one is reachable (`ZTAP_ETCD_ENDPOINTS`, else the default endpoint) or can be started
 * (an `etcd` binary on PATH or in ETCD_BIN), otherwise the in-memory backend.
 * `ZTAP_DEMO_BACKEND=memory|etcd` forces the choice.
 */
export async function chooseDemoBackend(): Promise<DemoBackend> {
  const forced = process.env.ZTAP_DEMO_BACKEND;
  if (forced && forced !== 'memory' && forced !== 'etcd') {
    throw new Error(`ZTAP_DEMO_BACKEND must be "memory" or "etcd" (got ${JSON.stringify(forced)})`);
  }
  if (forced === 'memory') return memoryBackend('ZTAP_DEMO_BACKEND=memory');
  const endpoints = (process.env.ZTAP_ETCD_ENDPOINTS ?? DEFAULT_ENDPOINT).split(',').map((url) => url.trim());
  if (await reachable(endpoints)) return etcdBackend(endpoints, undefined, `etcd at ${endpoints.join(', ')}`);
  try {
    const handle = await startEtcd({ provider: 'local' });
    return etcdBackend([...handle.endpoints], handle, `${handle.description}, started for this demo`);
  } catch (error) {
    if (forced === 'etcd') throw error;
    return memoryBackend(
      `no etcd at ${endpoints.join(', ')} and none to start: ${(error as Error).message.split('\n')[0]}`,
    );
  }
}

async function reachable(endpoints: string[]): Promise<boolean> {
  const client = createEtcdClient({ endpoints, requestTimeout: 700 });
  try {
    await client.kv.range({ key: Buffer.from('/ztap/') }, { deadline: new Date(Date.now() + 700) });
    return true;
  } catch {
    return false;
  } finally {
    client.close();
  }
}

function memoryBackend(why: string): DemoBackend {
  const hub = new MemoryHub();
  const health = new Map<string, boolean>();
  return {
    description: `the in-memory backend (${why})`,
    createNode: async (nodeId, healthCheck) => {
      health.set(nodeId, true);
      return new InMemoryElection({
        nodeId,
        nodeAddress: addressOf(nodeId),
        heartbeatInterval: 100,
        electionTimeout: 300,
        initialLeadership: 0,
        healthCheck: (options) => health.get(nodeId) === true && healthCheck(options),
        hub,
      });
    },
    fault: {
      description: 'its health check starts failing',
      inject: async (nodeId) => {
        health.set(nodeId, false);
      },
    },
    close: async () => {},
  };
}

/**
 * Each node reaches etcd through its own TCP proxy on loopback, so the demo can cut one node off
 * (a network partition) without touching the others.
 */
async function etcdBackend(
  endpoints: string[],
  handle: EtcdHandle | undefined,
  where: string,
): Promise<DemoBackend> {
  const cluster = `demo-${process.pid}`;
  const links = new Map<string, EtcdLink>();
  return {
    description: `etcd: ${where} (cluster "${cluster}", lease TTL 2 s)`,
    createNode: async (nodeId, healthCheck) => {
      const link = await cutOffProxy(endpoints);
      links.set(nodeId, link);
      return new EtcdElection({
        nodeId,
        nodeAddress: addressOf(nodeId),
        endpoints: [...link.endpoints],
        cluster,
        heartbeatInterval: 500,
        electionTimeout: 2000,
        requestTimeout: 500,
        initialLeadership: 0,
        healthCheck,
      });
    },
    fault: {
      description:
        'it is cut off from etcd (a network partition): it must step down before its lease expires',
      inject: async (nodeId) => links.get(nodeId)?.cut(),
    },
    close: async () => {
      await Promise.all([...links.values()].map((link) => link.close()));
      await handle?.stop();
    },
  };
}
