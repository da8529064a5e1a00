import { ManualClock } from '@ztap/cluster-testing';
import { describe, expect, it } from 'vitest';
import { oneLine, runHealthCheck } from '../src/backend.ts';
import type { HealthCheck } from '../src/index.ts';

describe('runHealthCheck', () => {
  const clock = new ManualClock();
  const run = (check: HealthCheck) => runHealthCheck(check, 100, clock);

  it('passes only on a timely true or { healthy: true }', async () => {
    expect(await run(() => true)).toEqual({ healthy: true });
    expect(await run(async () => true)).toEqual({ healthy: true });
    expect(await run(() => ({ healthy: true, reason: 'ignored' }))).toEqual({ healthy: true });
    expect(await run(() => false)).toEqual({ healthy: false, reason: 'the health check returned false' });
    expect(await run(() => 'yes' as unknown as boolean)).toEqual({
      healthy: false,
      reason: 'the health check returned "yes", not true or false',
    });
  });

  it('passes on the reason a check gives, or says it gave none', async () => {
    expect(await run(() => ({ healthy: false, reason: 'queue is 9000 deep' }))).toEqual({
      healthy: false,
      reason: 'queue is 9000 deep',
    });
    expect(await run(async () => ({ healthy: false }))).toEqual({
      healthy: false,
      reason: 'the health check reported unhealthy',
    });
  });

  it('counts a throwing or rejecting check as unhealthy, with its message as the reason', async () => {
    const throwing = () => {
      throw new Error('database is read-only');
    };
    expect(await run(throwing)).toEqual({ healthy: false, reason: 'database is read-only' });
    expect(await run(() => Promise.reject(new Error('boom')))).toEqual({ healthy: false, reason: 'boom' });
    expect(await run(() => Promise.reject(42))).toEqual({
      healthy: false,
      reason: 'the health check threw 42',
    });
  });

  it('makes any reason one bounded line', async () => {
    const verdict = await run(() => ({
      healthy: false,
      reason: `first\nsecond\r\n\u001b[31mred\u001b[0m\t${'x'.repeat(400)}`,
    }));
    expect(verdict.reason).toMatch(/^first second red x+…$/);
    expect(verdict.reason).toHaveLength(300);
  });

  it('counts a check that outlives its deadline as unhealthy and aborts its signal', async () => {
    let seen: AbortSignal | undefined;
    const verdict = run(({ signal }) => {
      seen = signal;
      return new Promise<boolean>(() => {});
    });
    expect(await clock.settle(verdict)).toEqual({
      healthy: false,
      reason: 'the health check timed out after 100 ms',
    });
    expect(seen?.aborted).toBe(true);
  });
});

describe('oneLine', () => {
  it('collapses whitespace and control characters, and keeps short text as it is', () => {
    expect(oneLine('  exit 3:\n  broken\u0000pipe  ')).toBe('exit 3: broken pipe');
    expect(oneLine('fine')).toBe('fine');
    expect(oneLine('abcdef', 4)).toBe('abc…');
  });
});
