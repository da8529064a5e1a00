import type { ClusterStateChange, Node, Policy, PolicyUpdate } from '@ztap/cluster';
import { Broadcast } from '@ztap/cluster/backend';
import type { ClusterSource, PrefixHistory, SourceKeys } from '../src/etcd-source.ts';

const prefix = '/ztap/clusters/test/';

export const node = (id: string, overrides: Partial<Node> = {}): Node => ({
  id,
  address: `10.0.0.1:${id.length}`,
  state: 'healthy',
  role: 'follower',
  joinedAt: new Date('2026-01-01T00:00:00Z'),
  lastSeen: new Date('2026-01-01T00:00:00Z'),
  metadata: {},
  priority: 0,
  ...overrides,
});

export const change = (
  type: ClusterStateChange['type'],
  id: string,
  overrides: Partial<Node> = {},
  term?: number,
): ClusterStateChange => ({
  type,
  node: node(id, overrides),
  timestamp: new Date(),
  ...(term === undefined ? {} : { term }),
});

export const policy = (name: string, version: number, document = 'a: 1\n'): Policy => ({
  name,
  version,
  document,
  updatedAt: new Date('2026-01-01T00:00:00Z'),
  updatedBy: 'operator',
});

/** A cluster store the test scripts: it pushes changes, decides whether etcd "answers", and keeps policy versions. */
export class ScriptedSource implements ClusterSource {
  readonly keys: SourceKeys = {
    prefix,
    membersPrefix: `${prefix}members/`,
    electionPrefix: `${prefix}election/`,
    policiesPrefix: `${prefix}policies/`,
  };
  readonly clusterChanges = new Broadcast<ClusterStateChange>({ bufferSize: 1000, overflow: 'error' });
  readonly policyChanges = new Broadcast<PolicyUpdate>({ bufferSize: 1000, overflow: 'error' });
  /** Each policy's versions, oldest first. */
  readonly policyHistory = new Map<string, Policy[]>();
  initialChanges: ClusterStateChange[] = [];
  historyResult: PrefixHistory = { oldestRevision: 1, initial: [], events: [], toRevision: 1 };
  reachable = true;
  probes = 0;
  lastSeenMap = new Map<string, Date>();

  changes(signal: AbortSignal): AsyncIterable<ClusterStateChange> {
    return this.clusterChanges.subscribe({ signal, initial: this.initialChanges });
  }

  policyUpdates(signal: AbortSignal): AsyncIterable<PolicyUpdate> {
    const latest = [...this.policyHistory.values()].map((versions) => versions.at(-1) as Policy);
    return this.policyChanges.subscribe({ signal, initial: [{ type: 'snapshot', policies: latest }] });
  }

  async lastSeen(): Promise<ReadonlyMap<string, Date>> {
    return this.lastSeenMap;
  }

  async probe(): Promise<number> {
    this.probes++;
    if (!this.reachable) throw new Error('etcd at http://user:hunter2@127.0.0.1:2379 is unreachable');
    return 1;
  }

  /** How many history reads fail before one succeeds. */
  historyFailures = 0;

  async history(): Promise<PrefixHistory> {
    if (this.historyFailures > 0) {
      this.historyFailures--;
      throw new Error('etcd denied permission to replay history');
    }
    return this.historyResult;
  }

  async policyVersions(name: string, limit: number): Promise<Policy[]> {
    return [...(this.policyHistory.get(name) ?? [])].reverse().slice(0, limit);
  }

  async policyAt(name: string, version: number): Promise<Policy | undefined> {
    return this.policyHistory.get(name)?.find((p) => p.version === version);
  }

  pushPolicy(next: Policy): void {
    this.policyHistory.set(next.name, [...(this.policyHistory.get(next.name) ?? []), next]);
    this.policyChanges.publish({ type: 'updated', policy: next });
  }
}
