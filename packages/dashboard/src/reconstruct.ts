import type { HistoryEvent, HistoryKey, PrefixHistory, SourceKeys } from './etcd-source.ts';
import { RevisionClock, type TimeAnchor } from './time-anchors.ts';
import type { WireEndReason, WireLeadership, WireTime } from './wire.ts';

/** A leadership as etcd's revisions tell it, before times are put on it. */
export interface RevisionLeadership {
  readonly term: number;
  readonly nodeId: string;
  /** The revision from which it was first in line; with `startBefore`, it began at or before it. */
  readonly startRevision: number;
  readonly startBefore: boolean;
  readonly endRevision?: number;
  readonly endReason?: WireEndReason;
}

interface Candidate {
  readonly term: number;
  readonly nodeId: string;
}

interface MemberInfo {
  readonly unhealthy: boolean;
}

function parseJson(value: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(value);
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const wallTime = (text: unknown) => (typeof text === 'string' ? Date.parse(text) : Number.NaN);

/**
 * Replays the prefix's history into leaderships. The leader at a revision is the live campaign key with
 * the lowest create revision (its term), exactly as every node decides; so the order, the terms and the
 * revisions here are exact. Why a leadership ended is read from what else changed in the same revision.
 */
export function leadershipsFromHistory(
  history: PrefixHistory,
  keys: SourceKeys,
): { leaderships: RevisionLeadership[]; anchors: TimeAnchor[] } {
  const campaigns = new Map<string, Candidate>();
  const members = new Map<string, MemberInfo>();
  const anchors: TimeAnchor[] = [];
  const noteAnchor = (key: string, value: string, revision: number, createRevision: number) => {
    const record = parseJson(value);
    if (!record) return;
    if (key.startsWith(keys.policiesPrefix)) anchors.push({ revision, time: wallTime(record.updatedAt) });
    // joinedAt is stamped when the record is first written: an anchor for its create revision only.
    else if (key.startsWith(keys.membersPrefix) && createRevision === revision)
      anchors.push({ revision, time: wallTime(record.joinedAt) });
  };
  const apply = (entry: HistoryKey | HistoryEvent, deleted: boolean) => {
    if (entry.key.startsWith(keys.electionPrefix)) {
      if (deleted) campaigns.delete(entry.key);
      else if (!campaigns.has(entry.key))
        campaigns.set(entry.key, { term: entry.createRevision, nodeId: entry.value });
    } else if (entry.key.startsWith(keys.membersPrefix)) {
      const id = entry.key.slice(keys.membersPrefix.length);
      if (deleted) members.delete(id);
      else members.set(id, { unhealthy: parseJson(entry.value)?.health === 'unhealthy' });
    }
  };
  const first = () => {
    let best: Candidate | undefined;
    for (const candidate of campaigns.values()) if (!best || candidate.term < best.term) best = candidate;
    return best;
  };

  for (const key of history.initial) {
    apply(key, false);
    noteAnchor(key.key, key.value, key.modRevision, key.createRevision);
  }
  const leaderships: RevisionLeadership[] = [];
  let current: { term: number; nodeId: string; startRevision: number; startBefore: boolean } | undefined;
  const initialLeader = first();
  if (initialLeader) current = { ...initialLeader, startRevision: history.oldestRevision, startBefore: true };

  const events = history.events;
  for (let index = 0; index < events.length; ) {
    const revision = (events[index] as HistoryEvent).revision;
    const membersDeleted = new Set<string>();
    for (; index < events.length && (events[index] as HistoryEvent).revision === revision; index++) {
      const event = events[index] as HistoryEvent;
      apply(event, event.type === 'delete');
      if (event.type === 'delete' && event.key.startsWith(keys.membersPrefix))
        membersDeleted.add(event.key.slice(keys.membersPrefix.length));
      if (event.type === 'put') noteAnchor(event.key, event.value, revision, event.createRevision);
    }
    const leader = first();
    if (leader?.term === current?.term) continue;
    if (current) {
      const member = members.get(current.nodeId);
      const endReason: WireEndReason = membersDeleted.has(current.nodeId)
        ? 'lease_ended'
        : member?.unhealthy
          ? 'unhealthy'
          : member
            ? 'withdrew'
            : 'unknown';
      leaderships.push({ ...current, endRevision: revision, endReason });
    }
    current = leader ? { ...leader, startRevision: revision, startBefore: false } : undefined;
  }
  if (current) leaderships.push(current);
  return { leaderships, anchors };
}

/** Puts wall times on reconstructed leaderships: interpolated between anchors, so marked estimated. */
export function timedLeaderships(
  leaderships: readonly RevisionLeadership[],
  anchors: readonly TimeAnchor[],
  readAt: { revision: number; time: number },
): WireLeadership[] {
  const clock = new RevisionClock([...anchors, readAt]);
  const at = (revision: number, before: boolean): WireTime => {
    const estimate = clock.timeOf(revision) ?? { time: readAt.time, accuracy: 'before' as const };
    return {
      at: new Date(estimate.time).toISOString(),
      accuracy: before ? 'before' : estimate.accuracy,
      revision,
    };
  };
  return leaderships.map((leadership) => ({
    term: leadership.term,
    nodeId: leadership.nodeId,
    start: at(leadership.startRevision, leadership.startBefore),
    ...(leadership.endRevision === undefined
      ? {}
      : { end: at(leadership.endRevision, false), endReason: leadership.endReason ?? 'unknown' }),
  }));
}
