/**
 * etcd keeps no time per revision. Some records carry a wall time written at a known revision (a
 * member record's `joinedAt` at its creation, a policy's `updatedAt` at its write), and the dashboard
 * knows the time of the revision it read last. Between two such anchors a revision's time is
 * interpolated in proportion to revisions; before the first anchor it is only known to be earlier.
 */
export interface TimeAnchor {
  readonly revision: number;
  readonly time: number;
}

export interface EstimatedTime {
  readonly time: number;
  /** `estimated` between anchors; `before` when only an upper bound is known. */
  readonly accuracy: 'estimated' | 'before';
}

export class RevisionClock {
  readonly #anchors: TimeAnchor[];

  /**
   * `anchors` in any order. Writers' clocks differ, so times are forced to never go backwards as
   * revisions go forwards (a later anchor earlier than an earlier one is raised to it).
   */
  constructor(anchors: Iterable<TimeAnchor>) {
    const sorted = [...anchors]
      .filter((anchor) => Number.isFinite(anchor.time) && anchor.revision > 0)
      .sort((a, b) => a.revision - b.revision || a.time - b.time);
    const monotonic: TimeAnchor[] = [];
    for (const anchor of sorted) {
      const previous = monotonic.at(-1);
      const time = previous ? Math.max(previous.time, anchor.time) : anchor.time;
      if (previous?.revision === anchor.revision) monotonic[monotonic.length - 1] = { ...previous, time };
      else monotonic.push({ revision: anchor.revision, time });
    }
    this.#anchors = monotonic;
  }

  get anchors(): readonly TimeAnchor[] {
    return this.#anchors;
  }

  /** The estimated wall time of `revision`; undefined with no anchor at all. */
  timeOf(revision: number): EstimatedTime | undefined {
    const anchors = this.#anchors;
    const first = anchors[0];
    if (!first) return undefined;
    if (revision < first.revision) return { time: first.time, accuracy: 'before' };
    // Binary search for the last anchor at or before the revision.
    let low = 0;
    let high = anchors.length - 1;
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      if ((anchors[middle] as TimeAnchor).revision <= revision) low = middle;
      else high = middle - 1;
    }
    const before = anchors[low] as TimeAnchor;
    const after = anchors[low + 1];
    if (before.revision === revision || !after) return { time: before.time, accuracy: 'estimated' };
    const share = (revision - before.revision) / (after.revision - before.revision);
    return { time: Math.round(before.time + share * (after.time - before.time)), accuracy: 'estimated' };
  }
}
