import { ManualClock } from '@ztap/testkit';
import { describe, expect, it } from 'vitest';
import { runHealthCheck } from '../src/backend.ts';

describe('runHealthCheck', () => {
  const clock = new ManualClock();
  it('passes only on a timely true', async () => {
    expect(await runHealthCheck(() => true, 100, clock)).toBe(true);
    expect(await runHealthCheck(async () => true, 100, clock)).toBe(true);
    expect(await runHealthCheck(() => false, 100, clock)).toBe(false);
    expect(await runHealthCheck(() => 'yes' as unknown as boolean, 100, clock)).toBe(false);
  });

  it('counts a throwing or rejecting check as unhealthy', async () => {
    expect(
      await runHealthCheck(
        () => {
          throw new Error('boom');
        },
        100,
        clock,
      ),
    ).toBe(false);
    expect(await runHealthCheck(() => Promise.reject(new Error('boom')), 100, clock)).toBe(false);
  });

  it('counts a check that outlives its deadline as unhealthy and aborts its signal', async () => {
    let seen: AbortSignal | undefined;
    const verdict = runHealthCheck(
      ({ signal }) => {
        seen = signal;
        return new Promise<boolean>(() => {});
      },
      100,
      clock,
    );
    expect(await clock.settle(verdict)).toBe(false);
    expect(seen?.aborted).toBe(true);
  });
});
