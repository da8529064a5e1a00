import { describe, expect, it } from 'vitest';
import { median, percentile, ratio, summarize } from '../src/stats.ts';

describe('percentile (nearest rank)', () => {
  const hundred = Array.from({ length: 100 }, (_, index) => index + 1);

  it('gives the smallest sample with at least p% at or below it', () => {
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 100)).toBe(100);
    expect(percentile([5, 7, 9], 50)).toBe(7);
  });

  it('is the maximum for p99 of fewer than 100 samples', () => {
    expect(percentile([1, 2, 3, 4, 5], 99)).toBe(5);
  });

  it('refuses no samples and nonsense percentiles', () => {
    expect(() => percentile([], 50)).toThrow(/no samples/);
    expect(() => percentile([1], 0)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });
});

describe('median', () => {
  it('takes the middle sample or the mean of the middle two', () => {
    expect(median([1, 2, 3])).toBe(2);
    expect(median([1, 2, 3, 10])).toBe(2.5);
  });
});

describe('summarize', () => {
  it('sorts, ignores non-finite samples and reports n, median, p99, max', () => {
    expect(summarize([3, Number.NaN, 1, 2, Number.POSITIVE_INFINITY])).toEqual({
      n: 3,
      min: 1,
      median: 2,
      p99: 3,
      max: 3,
      mean: 2,
    });
  });

  it('keeps negative samples (dual leadership is negative when the leader stepped down first)', () => {
    expect(summarize([-400, -600, -500])?.median).toBe(-500);
  });

  it('is undefined without samples', () => {
    expect(summarize([])).toBeUndefined();
  });
});

describe('ratio', () => {
  it("is ZTAP's median over etcd3's", () => {
    expect(ratio(summarize([2, 3, 4]), summarize([6, 6]))).toBe(0.5);
  });

  it('is undefined when a side is missing or a median is not positive', () => {
    expect(ratio(undefined, summarize([1]))).toBeUndefined();
    expect(ratio(summarize([-5]), summarize([1900]))).toBeUndefined();
    expect(ratio(summarize([0]), summarize([2]))).toBeUndefined();
  });
});
