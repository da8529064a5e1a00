/**
 * What every chaos scenario shares: a three-member etcd cluster on loopback, node processes (each
 * optionally behind its own TCP proxies, so it can be cut off alone), the final checks of every
 * trial, and the figures reported at the end.
 */
import { cutOffProxy, type EtcdCluster, type EtcdLink, startEtcdCluster } from '@ztap/cluster-testing';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, uniqueCluster, within } from '../support/etcd.ts';
import { type NodeEvent, NodeProcess } from '../support/node-processes.ts';
import {
  failedLeadLoops,
  overlappingLeaders,
  overlappingWork,
  reorderedPolicyUpdates,
  staleTermWrites,
  viewMismatches,
} from './oracle.ts';
import { recordTrial } from './results.ts';

/** Trials per scenario: small in `pnpm test` (CI), larger with `pnpm test:chaos`. */
export const TRIALS = Number(process.env.ZTAP_CHAOS_TRIALS ?? 1);
export const TTL_MS = 2000;
/** How long each node's leader work keeps running after its signal aborts (see overlappingWork). */
export const WORK_LINGER_MS = 200;

export interface ChaosEtcd {
  cluster: EtcdCluster;
  client: Etcd3;
}

/** One three-member etcd cluster for the whole file, stopped afterwards. */
export function useEtcdCluster(extraArgs: string[] = []): ChaosEtcd {
  const shared = {} as ChaosEtcd;
  beforeAll(async () => {
    shared.cluster = await startEtcdCluster({ members: 3, extraArgs });
    shared.client = new Etcd3({ hosts: [...shared.cluster.endpoints] });
    console.info(`[chaos] etcd: ${shared.cluster.description}`);
  }, 60_000);
  afterAll(async () => {
    shared.client?.close();
    await shared.cluster?.stop();
  });
  return shared;
}

export interface TrialNode {
  readonly process: NodeProcess;
  /** Cuts this node off from every etcd member (only for nodes started `behindProxy`). */
  cut(): void;
  restore(): void;
}

export interface NodeOptions {
  readonly behindProxy?: boolean;
  readonly writeEveryMs?: number;
  readonly policyEveryMs?: number;
  readonly watchPolicies?: boolean;
}

/** One trial: its own cluster prefix on the shared etcd, its own node processes. */
export class Trial {
  readonly prefix: string;
  readonly cluster: string;
  readonly nodes: TrialNode[] = [];
  readonly #etcd: ChaosEtcd;
  readonly #links: EtcdLink[] = [];
  /** Nodes that were frozen at some point: their "lost" instants are recorded late, on resumption. */
  readonly frozen = new Set<string>();

  constructor(etcd: ChaosEtcd, label: string) {
    this.#etcd = etcd;
    this.cluster = uniqueCluster(label);
    this.prefix = `/ztap/clusters/${this.cluster}/`;
  }

  async node(nodeId: string, options: NodeOptions = {}): Promise<TrialNode> {
    let endpoints = [...this.#etcd.cluster.endpoints];
    const link = options.behindProxy ? await cutOffProxy(this.#etcd.cluster) : undefined;
    if (link) {
      this.#links.push(link);
      endpoints = [...link.endpoints];
    }
    const process = new NodeProcess({
      nodeId,
      endpoints,
      cluster: this.cluster,
      heartbeatInterval: 500,
      electionTimeout: TTL_MS,
      requestTimeout: 500,
      writeEveryMs: options.writeEveryMs ?? 100,
      ...(options.policyEveryMs ? { policyEveryMs: options.policyEveryMs } : {}),
      ...(options.watchPolicies ? { watchPolicies: true } : {}),
      workLingerMs: WORK_LINGER_MS,
    });
    const node: TrialNode = {
      process,
      cut: () => link?.cut(),
      restore: () => link?.heal(),
    };
    this.nodes.push(node);
    await within(process.started(), 20_000, `${nodeId} to start`);
    return node;
  }

  /** The node whose first `leader` event (after `since`) comes first. */
  async leader(since = 0n, among = this.nodes): Promise<{ node: TrialNode; event: NodeEvent }> {
    return within(
      Promise.any(
        among.map((node) =>
          node.process
            .next((e) => e.event === 'leader' && BigInt(e.at) > since, 'leads')
            .then((event) => ({ node, event })),
        ),
      ),
      30_000,
      'a leader',
    );
  }

  /** The first accepted write (after `since`), by anyone; on a timeout, says what every node was doing. */
  async acceptedWrite(since: bigint): Promise<NodeEvent> {
    try {
      return await within(
        Promise.any(
          this.nodes.map((node) =>
            node.process.next((e) => e.event === 'write' && e.ok === true && BigInt(e.at) > since, 'writes'),
          ),
        ),
        30_000,
        'an accepted write',
      );
    } catch (error) {
      throw new Error(
        `${(error as Error).message}\n  ${this.nodes.map((node) => node.process.describe()).join('\n  ')}`,
      );
    }
  }

  /**
   * Ends the trial: every invariant is checked (with `gracefulHandovers`, also that no two leaders'
   * work overlapped), figures are recorded, processes and proxies go.
   */
  async finish(
    scenario: string,
    figures: Record<string, number | string> = {},
    options: {
      policies?: boolean;
      violations?: string[];
      gracefulHandovers?: boolean;
      /** More invariants, checked once the writers are quiet: each returns its violations. */
      checks?: () => Promise<string[]>;
    } = {},
  ): Promise<void> {
    try {
      for (const node of this.nodes) node.restore();
      const live = this.nodes.filter((node) => !this.#exited(node));
      // Writers stop first: a view can only be compared with etcd once etcd stops moving.
      await Promise.all(
        live.map((node) => within(node.process.quieten(), 10_000, `${node.process.nodeId} to quieten`)),
      );
      let members = await this.#etcdMembers(live.length);
      let policies = options.policies ? await this.#etcdPolicies() : undefined;
      // A live node's view must converge to etcd's contents (bounded: a lagging watch is repaired within a progress interval or two).
      let views: NodeEvent[] = [];
      await eventually(
        async () => {
          members = await this.#etcdMembers(live.length);
          policies = options.policies ? await this.#etcdPolicies() : undefined;
          views = await Promise.all(live.map((node) => node.process.view()));
          return viewMismatches(views, members, policies).length === 0;
        },
        20_000,
        'every view to equal etcd',
      ).catch(() => {});
      const violations = [
        ...(options.violations ?? []),
        ...((await options.checks?.()) ?? []),
        ...staleTermWrites(this.nodes.map((node) => node.process)),
        ...overlappingLeaders(this.nodes.map((node) => node.process)),
        ...viewMismatches(views, members, policies),
        ...this.nodes.flatMap((node) => reorderedPolicyUpdates(node.process)),
        ...failedLeadLoops(this.nodes.map((node) => node.process)),
        ...(options.gracefulHandovers ? overlappingWork(this.nodes.map((node) => node.process)) : []),
      ];
      const accepted = this.nodes.flatMap((node) =>
        node.process.events.items.filter((e) => e.event === 'write' && e.ok),
      ).length;
      recordTrial(scenario, { ...figures, acceptedWrites: accepted }, violations);
      expect(violations, `${scenario}: invariant violations`).toEqual([]);
    } finally {
      await this.dispose();
    }
  }

  /** Kills this trial's processes and closes its proxies; safe to call twice, also after a failure. */
  async dispose(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.process.kill()));
    await Promise.all(this.#links.splice(0).map((link) => link.close()));
  }

  #exited(node: TrialNode): boolean {
    return node.process.events.items.some((event) => event.event === 'stopped') || node.process.killed;
  }

  /** Member ids in etcd, once the lease of every departed node has expired (bounded). */
  async #etcdMembers(liveCount: number): Promise<string[]> {
    const read = async () =>
      Object.keys(await this.#etcd.client.getAll().prefix(`${this.prefix}members/`).strings()).map((key) =>
        key.slice(`${this.prefix}members/`.length),
      );
    let members = await read();
    await eventually(
      async () => {
        members = await read();
        return members.length === liveCount;
      },
      TTL_MS * 3,
      'departed members to expire',
    ).catch(() => {});
    return members;
  }

  async #etcdPolicies(): Promise<Record<string, number>> {
    const response = await this.#etcd.client.getAll().prefix(`${this.prefix}policies/`).exec();
    return Object.fromEntries(
      response.kvs.map((kv) => [
        kv.key.toString().slice(`${this.prefix}policies/`.length),
        Number(kv.mod_revision),
      ]),
    );
  }
}

/**
 * Runs `count` trials one after the other, each with a fresh Trial that is disposed whatever happens
 * (a trial that fails midway must not leave node processes behind).
 */
export async function runTrials(
  etcd: ChaosEtcd,
  label: string,
  count: number,
  run: (trial: Trial) => Promise<void>,
): Promise<void> {
  for (let round = 0; round < count; round++) {
    const trial = new Trial(etcd, label);
    try {
      await run(trial);
    } finally {
      await trial.dispose();
    }
  }
}

/** Milliseconds between two hrtime instants (as reported by node processes). */
export const msBetween = (from: bigint | string, to: bigint | string) =>
  Number(BigInt(to) - BigInt(from)) / 1e6;
export const nowNs = () => process.hrtime.bigint();

/**
 * Scenarios on `etcd`, as tests: each runs `trials` trials (default `TRIALS`) of its body on fresh
 * Trials, bounded by `perTrialMs` each.
 */
export function scenariosOn(etcd: ChaosEtcd) {
  return (
    name: string,
    trial: (trial: Trial) => Promise<void>,
    options: { perTrialMs?: number; trials?: number } = {},
  ): void => {
    const { perTrialMs = 60_000, trials = TRIALS } = options;
    it(
      name,
      async () => {
        await runTrials(etcd, name.split(' ').slice(0, 2).join('-'), trials, trial);
      },
      trials * perTrialMs + 30_000,
    );
  };
}
