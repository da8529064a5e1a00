import { describe, expect, it } from 'vitest';
import { progressCheckDelayMs, RECONNECT_SLOT_MS, reconnectDelayMs } from '../src/reconnect-pacing.ts';

const pacing = { candidate: true, fleetSize: 3, ttlMs: 2000, heartbeatMs: 500 };

describe('reconnect pacing', () => {
  it('spreads re-grants over a window that grows with the fleet and never passes the TTL', () => {
    expect(reconnectDelayMs(pacing, 0)).toBe(0);
    expect(reconnectDelayMs(pacing, 0.999)).toBeLessThan(3 * RECONNECT_SLOT_MS);
    const fleet = { ...pacing, fleetSize: 200 };
    expect(reconnectDelayMs(fleet, 0.5)).toBe(200);
    expect(reconnectDelayMs(fleet, 0.999)).toBeLessThan(400);
    const huge = { ...pacing, fleetSize: 100_000 };
    expect(reconnectDelayMs(huge, 0.999)).toBeLessThan(2000);
  });

  it('gives candidates a head start of one heartbeat over members, within the TTL', () => {
    const member = { ...pacing, candidate: false, fleetSize: 200 };
    expect(reconnectDelayMs(member, 0)).toBe(500);
    expect(reconnectDelayMs(member, 0.999)).toBeLessThan(900);
    // A window as long as the TTL leaves no room for a head start: still within the TTL.
    const huge = { ...member, fleetSize: 100_000 };
    expect(reconnectDelayMs(huge, 0)).toBe(0);
    expect(reconnectDelayMs(huge, 0.999)).toBeLessThan(2000);
  });

  it('checks progress no sooner than the interval, and before one and a half', () => {
    expect(progressCheckDelayMs(2000, 0)).toBe(2000);
    expect(progressCheckDelayMs(2000, 0.999)).toBeLessThan(3000);
  });
});
