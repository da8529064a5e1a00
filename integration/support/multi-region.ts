/**
 * What the multi-region tests share: the WAN topology (three regional etcds and a global etcd with a
 * member in each region, 30-80 ms apart), nodes with test timings, an operator on the global store,
 * and reads of what each region really holds.
 */
import { createEtcdClient, EtcdClusterClient, isEtcdUnavailableError } from '@ztap/cluster-etcd';
import {
  globalEtcdFlags,
  MultiRegionNode,
  type MultiRegionNodeOptions,
  wanTiming,
} from '@ztap/cluster-multi-region';
import { startWanTopology, type WanRegion, type WanTopology } from '@ztap/testkit';
import { afterAll, afterEach, beforeAll } from 'vitest';

/** The topology's largest round trip (eu↔ap, 2 × 80 ms): the global etcd's raft is sized for it. */
export const TOPOLOGY_RTT_MS = 160;
export const WAN = wanTiming(TOPOLOGY_RTT_MS);

/**
 * Test timings: regions on a 2 s lease (heartbeat 200 ms); the global lease 3 s (heartbeat 600 ms,
 * margin 600 ms) instead of wanTiming's 5 s, to keep failovers short; confirmations every 500 ms.
 */
export const GLOBAL_TTL_MS = 3000;
export const CONFIRM_INTERVAL_MS = 500;

/** One topology for the test file, stopped afterwards. */
export function useWanTopology(): { topology: WanTopology } {
  const shared = {} as { topology: WanTopology };
  beforeAll(async () => {
    const started = performance.now();
    shared.topology = await startWanTopology({ globalEtcdArgs: globalEtcdFlags(WAN) });
    console.info(
      `[multi-region] topology of ${shared.topology.regions.map((r) => r.name).join(', ')} started in ${Math.round(performance.now() - started)} ms; ${shared.topology.global.description}`,
    );
  }, 90_000);
  afterAll(async () => {
    await shared.topology?.stop();
  });
  return shared;
}

/** Where a test puts nodes: region name → node ids. */
export type NodeLayout = Readonly<Record<string, readonly string[]>>;

/**
 * Nodes for the tests of a file on `shared.topology`, each stopped after its test: `create` builds
 * them (test timings, `overrides` win), `start` builds and starts them.
 */
export function useRegionNodes(shared: { topology: WanTopology }) {
  const running: MultiRegionNode[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((node) => node.stop()));
  });
  const create = (cluster: string, layout: NodeLayout, overrides: Partial<MultiRegionNodeOptions> = {}) => {
    const nodes = Object.entries(layout).flatMap(([region, ids]) =>
      ids.map((id) => regionNode(shared.topology.region(region), id, cluster, overrides)),
    );
    running.push(...nodes);
    return nodes;
  };
  const start = async (
    cluster: string,
    layout: NodeLayout,
    overrides: Partial<MultiRegionNodeOptions> = {},
  ) => {
    const nodes = create(cluster, layout, overrides);
    await Promise.all(nodes.map((node) => node.start()));
    return nodes;
  };
  return { create, start };
}

let counter = 0;
/** A cluster name no other test of this run uses. */
export function uniqueCluster(label: string): string {
  counter++;
  return `${label}-${process.pid}-${counter}`;
}

/** A node of `region` with the test timings; `overrides` win. */
export function regionNode(
  region: WanRegion,
  nodeId: string,
  cluster: string,
  overrides: Partial<MultiRegionNodeOptions> = {},
): MultiRegionNode {
  return new MultiRegionNode({
    nodeId,
    nodeAddress: '127.0.0.1:9090',
    region: region.name,
    cluster,
    regional: {
      endpoints: [...region.etcd.endpoints],
      heartbeatInterval: 200,
      electionTimeout: 2000,
      initialLeadership: 0,
    },
    global: { endpoints: [region.globalEndpoint], electionTimeout: GLOBAL_TTL_MS },
    replication: { confirmInterval: CONFIRM_INTERVAL_MS },
    ...overrides,
  });
}

/** An operator on the global store (policy pushes, as `ztap policy push --prefix` does). */
export function globalOperator(region: WanRegion, cluster: string): EtcdClusterClient {
  return new EtcdClusterClient({
    endpoints: [region.globalEndpoint],
    prefix: `/ztap/global/${cluster}/`,
    requestTimeout: 3000,
  });
}

/**
 * Pushes a global policy, trying again while the global etcd has no raft leader (a partition or a
 * member's loss is followed by an election): an operator's push is not retried by itself.
 */
export async function pushWhenWritable(operator: EtcdClusterClient, name: string, document: string) {
  const deadline = performance.now() + 20_000;
  for (;;) {
    try {
      return await operator.policies.push(name, document);
    } catch (error) {
      if (!isEtcdUnavailableError(error) || performance.now() > deadline) throw error;
    }
  }
}

/** Name → version of every policy in the global store, read from etcd. */
export async function globalPolicies(region: WanRegion, cluster: string): Promise<Record<string, number>> {
  await using operator = globalOperator(region, cluster);
  const policies = await operator.policies.list();
  return Object.fromEntries(policies.map((policy) => [policy.name, policy.version]));
}

/** Name → global version of every policy a region holds, read from its etcd (not from a node). */
export async function regionPolicies(region: WanRegion, cluster: string): Promise<Record<string, number>> {
  const client = createEtcdClient({ endpoints: region.etcd.endpoints, requestTimeout: 3000 });
  try {
    const prefix = `/ztap/replicas/${cluster}/policies/`;
    const held = await client.getAll().prefix(prefix).strings();
    return Object.fromEntries(
      Object.entries(held).map(([key, value]) => [
        key.slice(prefix.length),
        (JSON.parse(value) as { globalVersion: number }).globalVersion,
      ]),
    );
  } finally {
    client.close();
  }
}

/** The first of `nodes` to lead globally (waits for it). */
export async function globalLeaderAmong(nodes: readonly MultiRegionNode[]): Promise<MultiRegionNode> {
  const { term } = await Promise.any(nodes.map((node) => node.waitForGlobalLeadership()));
  const leader = nodes.find((node) => node.globalTerm === term);
  if (!leader) throw new Error(`global term ${term} began, but no node holds it any more`);
  return leader;
}

/** Global leadership intervals of every node, in process.hrtime ns, from its telemetry. */
export class GlobalLeadershipLog {
  readonly intervals: { node: string; term: number; from: bigint; to: bigint | undefined }[] = [];

  follow(node: MultiRegionNode): void {
    node.telemetry.onGlobalLeadership((event) => {
      const now = process.hrtime.bigint();
      if (event.leading)
        this.intervals.push({ node: node.nodeId, term: event.term, from: now, to: undefined });
      else {
        const open = this.intervals.findLast(
          (interval) => interval.node === node.nodeId && interval.term === event.term,
        );
        if (open) open.to = now;
      }
    });
  }

  /** Pairs of leaderships that overlapped in time (should be none). */
  overlaps(): string[] {
    const found: string[] = [];
    const end = (to: bigint | undefined) => to ?? process.hrtime.bigint();
    for (const [index, a] of this.intervals.entries()) {
      for (const b of this.intervals.slice(index + 1)) {
        if (a.from < end(b.to) && b.from < end(a.to))
          found.push(`${a.node} (term ${a.term}) and ${b.node} (term ${b.term})`);
      }
    }
    return found;
  }
}
