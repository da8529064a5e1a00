/**
 * The priority rule, the same for every backend: when a healthy candidate with a higher priority
 * than the leader has been healthy for the leader's `initialLeadership`, and the leader has led for
 * its `minLeadership`, the leader hands leadership to it (the best such: highest priority, then the
 * backend's own order among equals). Pure: the backend says who the candidates are and since when
 * each has been healthy, on its monotonic clock.
 *
 * Why two holds: a preferred node that flaps health must stay healthy for `initialLeadership` before
 * it qualifies again, and a leadership lasts at least `minLeadership` before priorities move it, so
 * priorities move leadership at most once per `max(initialLeadership, minLeadership)` whatever the
 * health checks do. Equal priorities never qualify, so they never trade leadership.
 */

/** A candidate as the leader sees it: campaigning now, and healthy since `healthySinceMs`. */
export interface PriorityCandidate {
  readonly id: string;
  readonly priority: number;
  /** Monotonic ms since which it has been healthy without interruption, as this node saw it. */
  readonly healthySinceMs: number;
  /** Among equal priorities the lower goes first (etcd: place in the queue; memory: by id). */
  readonly order: number;
}

export interface PriorityTiming {
  readonly initialLeadership: number;
  readonly minLeadership: number;
}

/** What the leader should do about priorities now. */
export type Preference =
  | { readonly kind: 'transfer'; readonly target: PriorityCandidate }
  /** Nothing yet; ask again at `atMs` (a candidate qualifies, or the leadership's hold ends). */
  | { readonly kind: 'wait'; readonly atMs: number }
  | { readonly kind: 'none' };

/**
 * Whether a leader of `leader.priority`, leading since `leader.sinceMs`, should hand leadership to
 * one of `candidates` now, later, or not at all.
 */
export function preferredSuccessor(
  leader: { readonly priority: number; readonly sinceMs: number },
  candidates: Iterable<PriorityCandidate>,
  timing: PriorityTiming,
  nowMs: number,
): Preference {
  let best: PriorityCandidate | undefined;
  let nextQualifiesAt = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    if (candidate.priority <= leader.priority) continue;
    const qualifiesAt = candidate.healthySinceMs + timing.initialLeadership;
    if (qualifiesAt > nowMs) {
      nextQualifiesAt = Math.min(nextQualifiesAt, qualifiesAt);
      continue;
    }
    if (!best || outranks(candidate, best)) best = candidate;
  }
  // A canary (below zero) holds leadership only while nobody better qualifies: no hold.
  const holdEndsAt = leader.priority < 0 ? leader.sinceMs : leader.sinceMs + timing.minLeadership;
  if (best)
    return holdEndsAt > nowMs ? { kind: 'wait', atMs: holdEndsAt } : { kind: 'transfer', target: best };
  if (Number.isFinite(nextQualifiesAt)) return { kind: 'wait', atMs: Math.max(nextQualifiesAt, holdEndsAt) };
  return { kind: 'none' };
}

/** Whether `a` goes before `b`: higher priority, then lower order. */
export function outranks(a: PriorityCandidate, b: PriorityCandidate): boolean {
  return a.priority > b.priority || (a.priority === b.priority && a.order < b.order);
}
