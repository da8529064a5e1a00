/**
 * Multi-region chaos trials: node processes in three regions of the loopback WAN topology, faults of
 * regions and etcds, and the final checks (multi-region-oracle.ts) of every trial.
 */
import { createEtcdClient } from '@ztap/cluster-etcd';
import type { WanTopology } from '@ztap/testkit';
import { expect } from 'vitest';
import { eventually, within } from '../support/etcd.ts';
import {
  CONFIRM_INTERVAL_MS,
  GLOBAL_TTL_MS,
  globalPolicies,
  regionPolicies,
  uniqueCluster,
} from '../support/multi-region.ts';
import { type NodeEvent, NodeProcess, REGION_NODE_ENTRY } from '../support/node-processes.ts';
import {
  overlappingGlobalActs,
  overlappingGlobalLeaders,
  regionDivergence,
  staleFencedWrites,
  unexplainedResyncs,
} from './multi-region-oracle.ts';
import { recordTrial } from './results.ts';

export const REGIONAL_TTL_MS = 2000;

export interface RegionTrialNode {
  readonly process: NodeProcess;
  readonly region: string;
}

/** One trial: its own cluster name in the shared topology, its own node processes. */
export class RegionTrial {
  readonly cluster: string;
  readonly nodes: RegionTrialNode[] = [];
  readonly #topology: WanTopology;
  /** When each killed process was killed: its open leaderships end there. */
  readonly #killedAt = new Map<NodeProcess, bigint>();

  constructor(topology: WanTopology, label: string) {
    this.#topology = topology;
    this.cluster = uniqueCluster(label);
  }

  /** Starts a node of `region` (writing through the global fence while it leads globally). */
  async node(
    region: string,
    nodeId: string,
    options: { homeRegion?: string } = {},
  ): Promise<RegionTrialNode> {
    const where = this.#topology.region(region);
    const process = new NodeProcess(
      {
        nodeId,
        region,
        cluster: this.cluster,
        regionalEndpoints: where.etcd.endpoints,
        globalEndpoints: [where.globalEndpoint],
        regionalTtlMs: REGIONAL_TTL_MS,
        globalTtlMs: GLOBAL_TTL_MS,
        confirmIntervalMs: CONFIRM_INTERVAL_MS,
        globalWriteEveryMs: 100,
        globalPolicyEveryMs: 250,
        ...(options.homeRegion ? { homeRegion: options.homeRegion } : {}),
      },
      REGION_NODE_ENTRY,
    );
    const node = { process, region };
    this.nodes.push(node);
    await within(process.started(), 30_000, `${nodeId} to start`);
    return node;
  }

  /** Two nodes in each region. */
  async everywhere(): Promise<void> {
    await Promise.all(
      this.#topology.regions.flatMap((region) =>
        [1, 2].map((index) => this.node(region.name, `${region.name}-${index}`)),
      ),
    );
  }

  /** The first `global-leader` event after `since` among `among`, and whose it is. */
  async globalLeader(since = 0n, among = this.nodes): Promise<{ node: RegionTrialNode; event: NodeEvent }> {
    return within(
      Promise.any(
        among.map((node) =>
          node.process
            .next((e) => e.event === 'global-leader' && BigInt(e.at) > since, 'leads globally')
            .then((event) => ({ node, event })),
        ),
      ),
      30_000,
      'a global leader',
    );
  }

  /** The first accepted global write after `since`, by anyone. */
  async globalWrite(since: bigint): Promise<NodeEvent> {
    return within(
      Promise.any(
        this.nodes.map((node) =>
          node.process.next(
            (e) => e.event === 'global-write' && e.ok === true && BigInt(e.at) > since,
            'writes globally',
          ),
        ),
      ),
      30_000,
      'an accepted global write',
    );
  }

  /** Resolves once `count` global policy writes after `since` were accepted, by whichever global leaders. */
  async policyWrites(since: bigint, count: number): Promise<void> {
    const accepted = () =>
      this.nodes.reduce(
        (sum, node) =>
          sum +
          node.process.events.items.filter((e) => e.event === 'policy-write' && e.ok && BigInt(e.at) > since)
            .length,
        0,
      );
    await eventually(() => accepted() >= count, 30_000, `${count} accepted global policy writes`);
  }

  /** The event `name` of `node` after `since`. */
  next(
    node: RegionTrialNode,
    name: NodeEvent['event'],
    since: bigint,
    timeoutMs = 30_000,
  ): Promise<NodeEvent> {
    return within(
      node.process.next((e) => e.event === name && BigInt(e.at) > since, name),
      timeoutMs,
      `${node.process.nodeId}: ${name}`,
    );
  }

  async kill(node: RegionTrialNode): Promise<void> {
    this.#killedAt.set(node.process, process.hrtime.bigint());
    await node.process.kill();
  }

  /**
   * Ends the trial: writers stop, every region must come to hold what the global store holds, and
   * every invariant is checked; figures (a function: read once the regions converged) are
   * recorded; processes go.
   */
  async finish(
    scenario: string,
    figures: Record<string, number | string> | (() => Record<string, number | string>) = {},
  ): Promise<void> {
    try {
      const live = this.nodes.filter((node) => !node.process.killed);
      await Promise.all(
        live.map((node) => within(node.process.quieten(), 15_000, `${node.process.nodeId} to quieten`)),
      );
      const some = this.#topology.regions[0];
      if (!some) throw new Error('the topology has no region');
      let global: Record<string, number> = {};
      let regions: Record<string, Record<string, number>> = {};
      const read = async () => {
        global = await globalPolicies(some, this.cluster);
        regions = Object.fromEntries(
          await Promise.all(
            this.#topology.regions.map(
              async (region) => [region.name, await regionPolicies(region, this.cluster)] as const,
            ),
          ),
        );
        return regionDivergence(global, regions).length === 0;
      };
      const convergedAt = process.hrtime.bigint();
      await eventually(read, 30_000, 'every region to hold the global policies').catch(() => {});
      const endedAt = process.hrtime.bigint();
      const processes = this.nodes.map((node) => node.process);
      const regionOf = (process: NodeProcess) =>
        this.nodes.find((node) => node.process === process)?.region ?? 'unknown';
      const violations = [
        ...overlappingGlobalLeaders(processes, (process) => this.#killedAt.get(process) ?? endedAt),
        ...overlappingGlobalActs(processes),
        ...staleFencedWrites(processes, regionOf),
        ...regionDivergence(global, regions),
        ...unexplainedResyncs(processes),
      ];
      const count = (name: string) =>
        processes.flatMap((process) => process.events.items.filter((e) => e.event === name && e.ok)).length;
      recordTrial(
        scenario,
        {
          ...(typeof figures === 'function' ? figures() : figures),
          convergeMs: Number(endedAt - convergedAt) / 1e6,
          globalWrites: count('global-write'),
          replicaWrites: count('replica-write'),
          resyncs: processes.flatMap((process) =>
            process.events.items.filter((e) => e.event === 'replica-resync'),
          ).length,
        },
        violations,
      );
      expect(
        violations,
        `${scenario}: invariant violations; the nodes' last reports:\n  ${this.nodes.map((node) => `[${node.region}] ${node.process.describe(15)}`).join('\n  ')}`,
      ).toEqual([]);
    } finally {
      await this.dispose();
    }
  }

  async dispose(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.process.kill()));
  }
}

/** Runs `count` trials one after the other, each disposed whatever happens. */
export async function runRegionTrials(
  topology: WanTopology,
  label: string,
  count: number,
  run: (trial: RegionTrial) => Promise<void>,
): Promise<void> {
  for (let round = 0; round < count; round++) {
    const trial = new RegionTrial(topology, label);
    try {
      await run(trial);
    } finally {
      await trial.dispose();
    }
  }
}

/** Compacts the global store's history up to now (through `endpoint`). */
export async function compactGlobal(endpoint: string): Promise<number> {
  const client = createEtcdClient({ endpoints: [endpoint], requestTimeout: 5000 });
  try {
    const { header } = await client.kv.range({ key: Buffer.from('/') });
    await client.kv.compact({ revision: header.revision, physical: true });
    return Number(header.revision);
  } finally {
    client.close();
  }
}
