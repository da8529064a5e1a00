import type { ClusterStateChange, Node, Policy } from '@ztap/cluster';
import type {
  WireConnection,
  WireDelta,
  WireEndReason,
  WireHistory,
  WireLeadership,
  WireMember,
  WirePolicySummary,
  WireRegions,
  WireSnapshot,
  WireTime,
} from './wire.ts';

/** How many leaderships the timeline keeps (the oldest go first). */
export const MAX_LEADERSHIPS = 1000;

const iso = (time: number) => new Date(time).toISOString();

function toWireMember(node: Node, changedAt: number | undefined): WireMember {
  return {
    id: node.id,
    address: node.address,
    state: node.state,
    role: node.role,
    joinedAt: node.joinedAt.toISOString(),
    lastSeen: node.lastSeen.toISOString(),
    metadata: node.metadata,
    ...(changedAt === undefined ? {} : { changedAt: iso(changedAt) }),
  };
}

export function toPolicySummary(policy: Policy): WirePolicySummary {
  return {
    name: policy.name,
    version: policy.version,
    updatedBy: policy.updatedBy,
    updatedAt: policy.updatedAt.toISOString(),
  };
}

/**
 * The dashboard's picture of the cluster, kept once per dashboard whatever the number of open tabs:
 * members, leader, the leadership timeline, policies, and whether etcd can be reached. Every change
 * is handed to `publish` as a {@link WireDelta}; `snapshot()` is what a newly connected tab gets.
 * When etcd cannot be reached, the last known picture stays and the connection says since when.
 */
export class DashboardModel {
  readonly #prefix: string;
  readonly #publish: (delta: WireDelta) => void;
  readonly #now: () => number;
  #members = new Map<string, WireMember>();
  #leader: { id: string; term: number } | null = null;
  #timeline = new Map<number, WireLeadership>();
  #policies = new Map<string, WirePolicySummary>();
  #connection: WireConnection;
  #history: WireHistory = { state: 'reading' };
  #regions: WireRegions | undefined;
  #loaded = false;
  /** Changes seen before this time were reported by etcd late (after an outage): times are estimates. */
  #exactAfter = 0;

  constructor(prefix: string, publish: (delta: WireDelta) => void, now: () => number = Date.now) {
    this.#prefix = prefix;
    this.#publish = publish;
    this.#now = now;
    this.#connection = { state: 'connecting', since: iso(now()) };
  }

  get connection(): WireConnection {
    return this.#connection;
  }

  get leader(): { id: string; term: number } | null {
    return this.#leader;
  }

  member(id: string): WireMember | undefined {
    return this.#members.get(id);
  }

  get memberCount(): number {
    return this.#members.size;
  }

  /** The timeline, oldest term first. */
  get timeline(): WireLeadership[] {
    return [...this.#timeline.values()].sort((a, b) => a.term - b.term);
  }

  snapshot(): WireSnapshot {
    return {
      kind: 'snapshot',
      prefix: this.#prefix,
      generatedAt: iso(this.#now()),
      connection: this.#connection,
      loaded: this.#loaded,
      members: [...this.#members.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
      leader: this.#leader,
      timeline: this.timeline,
      history: this.#history,
      policies: [...this.#policies.values()].sort((a, b) => (a.name < b.name ? -1 : 1)),
      ...(this.#regions ? { regions: this.#regions } : {}),
    };
  }

  /** Forgets members and leader (a fresh picture follows); the timeline and policies stay. */
  resetMembers(): void {
    const removals = [...this.#members.keys()];
    this.#members.clear();
    this.#loaded = false;
    if (removals.length > 0) this.#publish({ kind: 'members', upserts: [], removals });
    if (this.#leader) {
      this.#leader = null;
      this.#publish({ kind: 'leader', leader: null });
    }
  }

  /**
   * One change from etcd. `initial` marks the picture a (re)started watch begins with: a leader in it
   * was already leading, so when it started is not known from this alone.
   */
  applyChange(change: ClusterStateChange, initial: boolean): void {
    this.#loaded = true;
    const now = this.#now();
    const before = this.#members.get(change.node.id);
    switch (change.type) {
      case 'node_left':
        if (before) {
          this.#members.delete(change.node.id);
          this.#publish({ kind: 'members', upserts: [], removals: [change.node.id] });
        }
        return;
      case 'leader_lost':
        this.#endLeadership(change, now);
        return;
      case 'leader_elected':
        this.#startLeadership(change, now, initial);
        break;
      default:
        break;
    }
    const changed = before && (before.state !== change.node.state || before.role !== change.node.role);
    const changedAt = initial
      ? undefined
      : changed || !before
        ? now
        : before.changedAt === undefined
          ? undefined
          : Date.parse(before.changedAt);
    const fresh = toWireMember(change.node, changedAt);
    // The lease read may know of a later keepalive than the change event does: keep the latest.
    const member =
      before && before.lastSeen > fresh.lastSeen ? { ...fresh, lastSeen: before.lastSeen } : fresh;
    this.#members.set(member.id, member);
    this.#publish({ kind: 'members', upserts: [member], removals: [] });
  }

  /**
   * Says why the leadership of `term` ended, once the rest of etcd's batch is in: gone with its member
   * record (lease ended), or withdrawn while still a member (resigned or unhealthy).
   */
  settleEndReason(term: number): void {
    const leadership = this.#timeline.get(term);
    if (!leadership?.end || leadership.endReason !== 'unknown' || leadership.end.accuracy !== 'observed')
      return;
    const member = this.#members.get(leadership.nodeId);
    const endReason: WireEndReason = !member
      ? 'lease_ended'
      : member.state === 'unhealthy'
        ? 'unhealthy'
        : 'withdrew';
    this.#putLeadership({ ...leadership, endReason });
  }

  /** Policies: a full picture (`replace`) or single updates. */
  applyPolicies(upserts: readonly Policy[], removals: readonly string[], replace: boolean): void {
    const summaries = upserts.map(toPolicySummary);
    const removed = replace
      ? [...this.#policies.keys()].filter((name) => !upserts.some((policy) => policy.name === name))
      : removals.filter((name) => this.#policies.has(name));
    for (const name of removed) this.#policies.delete(name);
    for (const summary of summaries) this.#policies.set(summary.name, summary);
    if (summaries.length > 0 || removed.length > 0)
      this.#publish({ kind: 'policies', upserts: summaries, removals: removed });
  }

  /** `lastSeen` from the members' leases; only members whose value moved are sent. */
  applyLastSeen(lastSeen: ReadonlyMap<string, Date>): void {
    const moved: Record<string, string> = {};
    for (const [id, seen] of lastSeen) {
      const member = this.#members.get(id);
      const text = seen.toISOString();
      if (!member || member.lastSeen === text) continue;
      this.#members.set(id, { ...member, lastSeen: text });
      moved[id] = text;
    }
    if (Object.keys(moved).length > 0) this.#publish({ kind: 'last-seen', lastSeen: moved });
  }

  connected(): void {
    if (this.#connection.state === 'connected') return;
    const now = this.#now();
    if (this.#connection.state === 'disconnected') this.#exactAfter = now;
    this.#setConnection({ state: 'connected', since: iso(now) });
  }

  /** etcd did not answer a read sent at `sentAt`; the first such read dates the outage. */
  disconnected(sentAt: number, reason: string): void {
    if (this.#connection.state === 'disconnected') {
      if (this.#connection.reason !== reason)
        this.#setConnection({ ...this.#connection, reason: redactCredentials(reason) });
      return;
    }
    this.#setConnection({ state: 'disconnected', since: iso(sentAt), reason: redactCredentials(reason) });
  }

  setHistory(history: WireHistory): void {
    this.#history = history;
    this.#publish({ kind: 'history', history });
  }

  /**
   * Adds the leaderships reconstructed from etcd's history. What the dashboard observed itself wins;
   * history fills in older terms and the start of a leadership that was under way when it started.
   */
  mergeHistory(reconstructed: readonly WireLeadership[]): void {
    const changed = new Map<number, WireLeadership>();
    for (const old of reconstructed) {
      const known = this.#timeline.get(old.term);
      if (!known) {
        changed.set(old.term, old);
        continue;
      }
      const start = known.start.accuracy === 'before' ? old.start : known.start;
      const end = known.end ?? old.end;
      const endReason = known.end ? known.endReason : old.endReason;
      const merged: WireLeadership = {
        ...known,
        start,
        ...(end ? { end } : {}),
        ...(endReason ? { endReason } : {}),
      };
      if (JSON.stringify(merged) !== JSON.stringify(known)) changed.set(old.term, merged);
    }
    for (const leadership of changed.values()) this.#timeline.set(leadership.term, leadership);
    // A reconstructed leadership that ended before the dashboard's first view of the next one: it ended
    // no later than that one started.
    const ordered = this.timeline;
    for (let index = 0; index < ordered.length - 1; index++) {
      const leadership = ordered[index] as WireLeadership;
      const next = ordered[index + 1] as WireLeadership;
      if (leadership.end) continue;
      const closed: WireLeadership = {
        ...leadership,
        end: { at: next.start.at, accuracy: next.start.accuracy === 'observed' ? 'before' : 'estimated' },
        endReason: 'unknown',
      };
      this.#timeline.set(closed.term, closed);
      changed.set(closed.term, closed);
    }
    this.#trimTimeline();
    if (changed.size > 0)
      this.#publish({
        kind: 'timeline',
        leaderships: [...changed.values()]
          .filter((l) => this.#timeline.has(l.term))
          .sort((a, b) => a.term - b.term),
      });
  }

  setRegions(regions: WireRegions): void {
    this.#regions = regions;
    this.#publish({ kind: 'regions', regions });
  }

  #observedAt(now: number, initial: boolean): WireTime {
    if (initial) return { at: iso(now), accuracy: 'before' };
    const late = this.#connection.state !== 'connected' || now < this.#exactAfter;
    return { at: iso(now), accuracy: late ? 'estimated' : 'observed' };
  }

  #startLeadership(change: ClusterStateChange, now: number, initial: boolean): void {
    const term = change.term as number;
    this.#leader = { id: change.node.id, term };
    this.#publish({ kind: 'leader', leader: this.#leader });
    if (this.#timeline.get(term)) return;
    this.#putLeadership({ term, nodeId: change.node.id, start: this.#observedAt(now, initial) });
  }

  #endLeadership(change: ClusterStateChange, now: number): void {
    const term = change.term as number;
    if (this.#leader?.term === term) {
      this.#leader = null;
      this.#publish({ kind: 'leader', leader: null });
    }
    const leadership = this.#timeline.get(term) ?? {
      term,
      nodeId: change.node.id,
      start: { at: iso(now), accuracy: 'before' as const },
    };
    if (leadership.end) return;
    this.#putLeadership({ ...leadership, end: this.#observedAt(now, false), endReason: 'unknown' });
  }

  #putLeadership(leadership: WireLeadership): void {
    this.#timeline.set(leadership.term, leadership);
    this.#trimTimeline();
    this.#publish({ kind: 'timeline', leaderships: [leadership] });
  }

  #trimTimeline(): void {
    if (this.#timeline.size <= MAX_LEADERSHIPS) return;
    const terms = [...this.#timeline.keys()].sort((a, b) => a - b);
    for (const term of terms.slice(0, terms.length - MAX_LEADERSHIPS)) this.#timeline.delete(term);
  }

  #setConnection(connection: WireConnection): void {
    this.#connection = connection;
    this.#publish({ kind: 'connection', connection });
  }
}

/** `http://user:secret@host` → `http://***@host`: an error message must not carry credentials to the page. */
export function redactCredentials(text: string): string {
  return text.replace(/(\w+:\/\/)[^/@\s]+@/g, '$1***@');
}
