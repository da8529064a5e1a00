/**
 * A fleet of agents spread over child processes (see child/fleet-child.ts), and what its events say:
 * who leads, who knows the leader, who holds which policy, per agent and with timestamps comparable
 * across processes.
 */

import type { FleetChildConfig } from './child/fleet-child.ts';
import { BenchChild, type ChildEvent } from './child-process.ts';
import { nowMs, pollUntil } from './time.ts';

export interface FleetOptions {
  /** Agents connect to these in turn (etcd itself, or gRPC proxies in front of it). */
  readonly endpoints: readonly string[];
  readonly prefix: string;
  readonly agents: number;
  readonly processes: number;
  readonly candidates: number;
  readonly electionTimeoutMs: number;
  readonly heartbeatMs: number;
  readonly startWindowMs: number;
  /** What the members watch (default `full`). */
  readonly memberView?: 'full' | 'leader';
}

/** One agent's event, with the agent's id. */
export interface AgentEvent extends ChildEvent {
  readonly node: string;
}

export class Fleet {
  readonly options: FleetOptions;
  readonly children: BenchChild[];
  readonly ids: readonly string[];
  readonly startedAt: number;

  private constructor(options: FleetOptions, children: BenchChild[], ids: string[], startedAt: number) {
    this.options = options;
    this.children = children;
    this.ids = ids;
    this.startedAt = startedAt;
  }

  /** Starts the agents: agent i is `a<i>`, the first `candidates` may lead; agent i runs in process i mod P. */
  static start(options: FleetOptions): Fleet {
    const ids = Array.from({ length: options.agents }, (_, index) => `a${index}`);
    const candidates = ids.slice(0, options.candidates);
    const startedAt = nowMs();
    const children = Array.from({ length: options.processes }, (_, process) => {
      const nodeIds = ids.filter((_, index) => index % options.processes === process);
      const config: FleetChildConfig = {
        endpoints: options.endpoints,
        prefix: options.prefix,
        nodeIds,
        candidates: candidates.filter((id) => nodeIds.includes(id)),
        electionTimeoutMs: options.electionTimeoutMs,
        heartbeatMs: options.heartbeatMs,
        startWindowMs: options.startWindowMs,
        memberView: options.memberView ?? 'full',
      };
      return new BenchChild(`fleet ${process}`, 'fleet-child.ts', config);
    });
    return new Fleet(options, children, ids, startedAt);
  }

  /** Every agent event so far, in no particular order across processes. */
  events(kind?: string, since = 0): AgentEvent[] {
    return this.children.flatMap((child) =>
      child.events.filter(
        (event): event is AgentEvent => (kind === undefined || event.event === kind) && event.at >= since,
      ),
    );
  }

  /** Agents believed to lead at `at` (from lead/unlead events). */
  leadersAt(at: number): string[] {
    const leading = new Map<string, boolean>();
    const changes = [...this.events('lead'), ...this.events('unlead')].sort((a, b) => a.at - b.at);
    for (const event of changes) {
      if (event.at > at) break;
      leading.set(event.node, event.event === 'lead');
    }
    return [...leading].filter(([, leads]) => leads).map(([node]) => node);
  }

  /** The most leaders at any instant (from the merged event order). */
  maxConcurrentLeaders(): number {
    const leading = new Set<string>();
    let most = 0;
    const changes = [...this.events('lead'), ...this.events('unlead')].sort((a, b) => a.at - b.at);
    for (const event of changes) {
      if (event.event === 'lead') leading.add(event.node);
      else leading.delete(event.node);
      most = Math.max(most, leading.size);
    }
    return most;
  }

  /** The first time since `since` an agent became leader. */
  firstLeadSince(since: number): AgentEvent | undefined {
    return this.events('lead', since).sort((a, b) => a.at - b.at)[0];
  }

  /** Per agent, the first event of `kind` since `since` (agents without one are missing). */
  firstPerAgent(kind: string, since: number, test: (event: AgentEvent) => boolean = () => true) {
    const first = new Map<string, number>();
    for (const event of this.events(kind, since)) {
      if (!test(event)) continue;
      const seen = first.get(event.node);
      if (seen === undefined || event.at < seen) first.set(event.node, event.at);
    }
    return first;
  }

  async waitAllStarted(timeoutMs: number): Promise<{ failedStarts: number; rssMiB: number }> {
    const results = await Promise.all(
      this.children.map((child) =>
        child.waitFor((event) => event.event === 'all-started', timeoutMs, 'all agents started'),
      ),
    );
    return {
      failedStarts: results.reduce((sum, event) => sum + Number(event.failedStarts), 0),
      rssMiB: results.reduce((sum, event) => sum + Number(event.rssMiB), 0),
    };
  }

  /** What the fleet looks like now, for an error message. */
  describe(since: number): string {
    const leaders = this.leadersAt(nowMs());
    const known = new Map<string, number>();
    for (const event of this.latestPerAgent('knows').values())
      known.set(String(event.leader), (known.get(String(event.leader)) ?? 0) + 1);
    const latest = this.latestPerAgent('knows');
    const stale = this.ids.filter((id) => leaders.length === 1 && latest.get(id)?.leader !== leaders[0]);
    const staleByProcess = new Map<number, number>();
    for (const id of stale) {
      const process = Number(id.slice(1)) % this.options.processes;
      staleByProcess.set(process, (staleByProcess.get(process) ?? 0) + 1);
    }
    return `leaders [${leaders.join(', ')}], agents knowing each leader ${JSON.stringify(Object.fromEntries(known))}, agents not knowing the leader per process ${JSON.stringify(Object.fromEntries(staleByProcess))}, started ${this.firstPerAgent('started', since).size} of ${this.ids.length}`;
  }

  /** Waits until every agent knows the same leader, who believes it leads, and nobody else does. */
  async waitSettled(since: number, timeoutMs: number): Promise<number> {
    let settledAt = 0;
    await pollUntil(
      () => {
        const now = nowMs();
        const leaders = this.leadersAt(now);
        if (leaders.length !== 1) return false;
        const leader = leaders[0];
        const known = this.latestPerAgent('knows');
        if (this.ids.some((id) => known.get(id)?.leader !== leader)) return false;
        const live = this.firstPerAgent('started', since);
        if (live.size < this.ids.length) return false;
        settledAt = Math.max(...[...known.values()].map((event) => event.at), ...live.values());
        return true;
      },
      'the fleet settles',
      timeoutMs,
      100,
    ).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}: ${this.describe(since)}`);
    });
    return settledAt;
  }

  /** Per agent, its latest event of `kind`. */
  latestPerAgent(kind: string): Map<string, AgentEvent> {
    const latest = new Map<string, AgentEvent>();
    for (const event of this.events(kind)) {
      const seen = latest.get(event.node);
      if (!seen || event.at >= seen.at) latest.set(event.node, event);
    }
    return latest;
  }

  send(command: string): void {
    for (const child of this.children) child.send(command);
  }

  async stop(): Promise<void> {
    await Promise.all(this.children.map((child) => child.stop(30_000)));
  }
}

/** The p-th percentile (0-100) of `values` (nearest rank); NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}
