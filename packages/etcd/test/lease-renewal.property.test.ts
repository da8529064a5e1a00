import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LeaseRenewalDetector } from '../src/lease-renewal.ts';

/** What etcd answers to LeaseTimeToLive: the remaining time in seconds, truncated toward zero. */
const reportedTtl = (expiryMs: number, serverNowMs: number) => Math.trunc((expiryMs - serverNowMs) / 1000);

/** One look: sent at `sentAtMs`, computed by the server `serverDelayMs` later, answered `rttMs` after sending. */
interface Look {
  readonly sentAtMs: number;
  readonly serverDelayMs: number;
  readonly rttMs: number;
}

const looks = (count: { minLength: number; maxLength: number }) =>
  fc
    .array(
      fc.record({
        gapMs: fc.integer({ min: 1, max: 1500 }),
        rttMs: fc.integer({ min: 0, max: 60 }),
        serverShare: fc.double({ min: 0, max: 1, noNaN: true }),
      }),
      count,
    )
    .map((raw) => {
      let at = 0;
      return raw.map(({ gapMs, rttMs, serverShare }): Look => {
        at += gapMs;
        const look = { sentAtMs: at, serverDelayMs: Math.floor(serverShare * rttMs), rttMs };
        at += rttMs;
        return look;
      });
    });

describe('LeaseRenewalDetector', () => {
  it('never calls a lease nobody renews "renewed", whatever the timing of the looks', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 60_000 }),
        looks({ minLength: 1, maxLength: 40 }),
        (expiryMs, all) => {
          const detector = new LeaseRenewalDetector();
          for (const look of all) {
            const serverNowMs = look.sentAtMs + look.serverDelayMs;
            const ttl = reportedTtl(expiryMs, serverNowMs);
            // etcd answers -1 once it has revoked the lease; an expired lease lingers at 0 until then.
            if (serverNowMs >= expiryMs + 1000) break;
            expect(detector.observe(Math.max(0, ttl), look.sentAtMs, look.sentAtMs + look.rttMs)).toBe(false);
          }
        },
      ),
    );
  });

  it('catches a holder that renews, at most about one second plus one renewal and one look after the first look', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 30 }),
        fc.double({ min: 0.02, max: 1 / 3, noNaN: true }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 50, max: 1000 }),
        fc.integer({ min: 0, max: 30 }),
        (ttlSeconds, heartbeatShare, phaseMs, pollMs, rttMs) => {
          const ttlMs = ttlSeconds * 1000;
          const renewEveryMs = Math.max(1, Math.floor(ttlMs * heartbeatShare));
          // The holder renews at phase, phase + renewEvery, ...: the expiry is the last renewal + TTL.
          const expiryAt = (nowMs: number) =>
            phaseMs + Math.floor((nowMs - phaseMs) / renewEveryMs) * renewEveryMs + ttlMs;
          const detector = new LeaseRenewalDetector();
          const firstLookMs = phaseMs + 1;
          const boundMs =
            firstLookMs + 1000 + renewEveryMs + pollMs + 2 * rttMs + LeaseRenewalDetector.toleranceMs;
          let sentAtMs = firstLookMs;
          for (;;) {
            const serverNowMs = sentAtMs + rttMs / 2;
            const ttl = reportedTtl(expiryAt(serverNowMs), serverNowMs);
            if (detector.observe(ttl, sentAtMs, sentAtMs + rttMs)) break;
            expect(sentAtMs).toBeLessThanOrEqual(boundMs);
            sentAtMs += rttMs + pollMs;
          }
        },
      ),
    );
  });

  it('reads the answers of a TTL 5 s lease renewed every second (always "4") as renewed after about a second', () => {
    const detector = new LeaseRenewalDetector();
    expect(detector.observe(4, 0, 2)).toBe(false);
    expect(detector.observe(4, 500, 502)).toBe(false);
    expect(detector.observe(4, 1000, 1002)).toBe(false);
    expect(detector.observe(4, 1100, 1102)).toBe(true);
  });

  it('reads answers that fall by the time that passed as one unrenewed lease, down to 0', () => {
    const detector = new LeaseRenewalDetector();
    for (const [ttl, atMs] of [
      [4, 0],
      [3, 1000],
      [2, 2000],
      [1, 3000],
      [0, 4000],
      [0, 4900],
    ] as const) {
      expect(detector.observe(ttl, atMs, atMs + 5)).toBe(false);
    }
  });
});
