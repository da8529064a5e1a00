import { describe, expect, it } from 'vitest';
import { medianWithin } from '../src/results.ts';

describe('medianWithin', () => {
  const target = medianWithin(0.35, "median ≤ 0.35× etcd3's");

  it("judges ZTAP's median against the factor times etcd3's", () => {
    expect(target({ ztap: [1, 3.5, 9], etcd3: [5, 10, 20] })).toEqual({
      text: "median ≤ 0.35× etcd3's",
      met: true,
    });
    expect(target({ ztap: [1, 3.6, 9], etcd3: [5, 10, 20] }).met).toBe(false);
  });

  it('leaves it unjudged when a system has no samples', () => {
    expect(target({ ztap: [1], etcd3: [] }).met).toBeUndefined();
  });
});
