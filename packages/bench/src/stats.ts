/** The numbers a table row shows for one system. */
export interface Summary {
  readonly n: number;
  readonly min: number;
  readonly median: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/**
 * The `p`-th percentile (0 < p <= 100) by the nearest-rank method: the smallest sample such that at
 * least p% of the samples are at or below it. With fewer than 100 samples the p99 is the maximum.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new Error('percentile of no samples');
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100] (got ${p})`);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

/** The median: the middle sample, or the mean of the two middle samples. */
export function median(sorted: readonly number[]): number {
  if (sorted.length === 0) throw new Error('median of no samples');
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Summarises samples; `undefined` when there are none (the table shows a dash). */
export function summarize(samples: readonly number[]): Summary | undefined {
  const finite = samples.filter((sample) => Number.isFinite(sample));
  if (finite.length === 0) return undefined;
  const sorted = [...finite].sort((a, b) => a - b);
  return {
    n: sorted.length,
    min: sorted[0] as number,
    median: median(sorted),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] as number,
    mean: sorted.reduce((sum, sample) => sum + sample, 0) / sorted.length,
  };
}

/**
 * ZTAP's median over etcd3's, when both exist and the ratio means something (both positive: a
 * ratio of negative durations, or of a zero, says nothing).
 */
export function ratio(ours: Summary | undefined, theirs: Summary | undefined): number | undefined {
  if (!ours || !theirs) return undefined;
  if (!(ours.median > 0 && theirs.median > 0)) return undefined;
  return ours.median / theirs.median;
}
