import type { HealthCheck, LeaderElection } from '@ztap/cluster';
import { InMemoryElection, MemoryHub } from '@ztap/cluster-memory';

export interface DemoBackend {
  /** Which backend, and why it was chosen: printed first so nobody mistakes one for the other. */
  readonly description: string;
  createNode(nodeId: string, healthCheck: HealthCheck): LeaderElection;
  close(): Promise<void>;
}

/** Demo timings: fast enough to watch, with the heartbeat a third of the timeout as the rules require. */
const HEARTBEAT_MS = 100;
const ELECTION_TIMEOUT_MS = 300;

export async function chooseDemoBackend(): Promise<DemoBackend> {
  const hub = new MemoryHub();
  return {
    description: 'the in-memory backend (one process, nodes share a MemoryHub)',
    createNode: (nodeId, healthCheck) =>
      new InMemoryElection({
        nodeId,
        nodeAddress: `127.0.0.1:${9090 + Number(nodeId.replace(/\D/g, ''))}`,
        heartbeatInterval: HEARTBEAT_MS,
        electionTimeout: ELECTION_TIMEOUT_MS,
        initialLeadership: 0,
        healthCheck,
        hub,
      }),
    close: async () => {},
  };
}
