import { describe, expect, it } from 'vitest';
import { campaignKeyOf, leaseIdHex } from '../src/campaign.ts';
import { decodeMember, encodeMember, KeyLayout, resolvePrefix } from '../src/keys.ts';
import { prefixRangeEnd } from '../src/mirror.ts';

describe('key layout', () => {
  it('follows the Go concurrency package: <prefix>election/<lease id in hex>', () => {
    const keys = new KeyLayout('/ztap/clusters/prod/');
    expect(keys.memberKey('n1')).toBe('/ztap/clusters/prod/members/n1');
    expect(keys.electionName).toBe('/ztap/clusters/prod/election');
    expect(campaignKeyOf(keys.electionPrefix, String(0x694d8a4d2a9e5e03n))).toBe(
      '/ztap/clusters/prod/election/694d8a4d2a9e5e03',
    );
  });

  it('converts lease ids beyond 2^53 exactly', () => {
    expect(leaseIdHex('9223372036854775807')).toBe('7fffffffffffffff');
    expect(leaseIdHex('1')).toBe('1');
  });

  it('computes the range end of a prefix', () => {
    expect(prefixRangeEnd('/a/').toString()).toBe('/a0');
    expect([...prefixRangeEnd('a\u00ff')]).toEqual([0x61, 0xc3, 0xc0]);
  });
});

describe('prefixes', () => {
  it('refuse control characters, C1 included (one rule with node ids)', () => {
    expect(() => resolvePrefix({ prefix: '/a\u0085b/' })).toThrow(
      'prefix must not contain control characters',
    );
    expect(() => resolvePrefix({ prefix: '/a\u0007b/' })).toThrow(
      'prefix must not contain control characters',
    );
    expect(resolvePrefix({ prefix: '/a/b' })).toBe('/a/b/');
  });
});

describe('member records', () => {
  const seen = new Date('2026-01-01T00:00:00Z');
  it('round-trip, with state from the lease and the node’s own health', () => {
    const value = encodeMember({
      address: 'h:1',
      metadata: { zone: 'a' },
      joinedAt: seen.toISOString(),
      health: 'healthy',
    });
    expect(decodeMember('n1', value, true, seen)).toMatchObject({
      id: 'n1',
      address: 'h:1',
      state: 'healthy',
      metadata: { zone: 'a' },
      joinedAt: seen,
    });
    expect(decodeMember('n1', value.replace('"healthy"', '"unhealthy"'), true, seen)?.state).toBe(
      'unhealthy',
    );
    expect(decodeMember('n1', value, false, seen)?.state).toBe('unknown');
  });

  it('an operator record (no lease) was last seen when it was registered, not when it was read', () => {
    const registered = new Date('2025-12-31T23:58:00Z');
    const value = encodeMember({ address: 'h:1', metadata: {}, joinedAt: registered.toISOString() });
    expect(decodeMember('n1', value, false, seen)).toMatchObject({ state: 'unknown', lastSeen: registered });
    expect(decodeMember('n1', value, true, seen)?.lastSeen).toEqual(seen);
  });

  it('ignores records it cannot read instead of failing every watcher', () => {
    expect(decodeMember('n1', 'not json', true, seen)).toBeUndefined();
    expect(decodeMember('n1', '{"address": 5}', true, seen)).toBeUndefined();
    expect(decodeMember('n1', '{"address": "h:1", "joinedAt": "garbage"}', true, seen)?.joinedAt).toEqual(
      seen,
    );
  });
});
