import type { HeartbeatEvent } from '@ztap/cluster';
import { ManualClock } from '@ztap/cluster-testing';
import type { Etcd3 } from 'etcd3';
import { beforeEach, describe, expect, it } from 'vitest';
import { EtcdCaller } from '../src/calls.ts';
import type { KeepaliveChannel, KeepaliveHandler } from '../src/keepalive.ts';
import { LeaseSession } from '../src/lease-session.ts';
import { sessionLiveness } from '../src/liveness.ts';

const TTL_SECONDS = 2;
const MARGIN_MS = 300;

let clock: ManualClock;
let handler: KeepaliveHandler;
let sent: number[];
let events: string[];
let heartbeats: HeartbeatEvent[];

/** A session on lease 7 (TTL 2 s) granted by a fake etcd, on a keepalive channel the test answers. */
async function grant(): Promise<LeaseSession> {
  const client = {
    leaseClient: { leaseGrant: async () => ({ ID: '7', TTL: String(TTL_SECONDS) }) },
  } as unknown as Etcd3;
  const channel = {
    register: (_leaseId: string, registered: KeepaliveHandler) => {
      handler = registered;
      return () => {};
    },
    send: () => sent.push(clock.monotonicNow()),
  } as unknown as KeepaliveChannel;
  const caller = new EtcdCaller({
    endpoints: ['http://127.0.0.1:2379'],
    maxRetries: 0,
    requestTimeout: 1000,
  });
  return LeaseSession.grant(
    { client, caller, keepalives: channel },
    {
      ttlSeconds: TTL_SECONDS,
      marginMs: MARGIN_MS,
      clock,
      electionPrefix: '/p/election/',
      account: { attempts: 0, report: () => {} },
    },
    {
      onLost: () => events.push(`lost@${clock.monotonicNow()}`),
      onDeadline: () => events.push(`deadline@${clock.monotonicNow()}`),
      onRenewed: () => events.push(`renewed@${clock.monotonicNow()}`),
      onHeartbeat: (heartbeat) => heartbeats.push(heartbeat),
    },
  );
}

beforeEach(() => {
  clock = new ManualClock();
  sent = [];
  events = [];
  heartbeats = [];
});

describe('LeaseSession', () => {
  it('is valid until grant time + TTL − margin exactly, and says so before its timer runs', async () => {
    const session = await grant();
    clock.freeze(1699);
    expect(session.valid).toBe(true);
    expect(sessionLiveness(session, false, session.id)).toEqual({ ok: true });
    clock.freeze(1); // the deadline, with the timer not yet run (a paused process)
    expect(session.valid).toBe(false);
    expect(sessionLiveness(session, false, session.id)).toEqual({
      ok: false,
      reason:
        "etcd has not confirmed this node's heartbeats in time: its lease (TTL 2 s) may be expiring (step-down deadline passed)",
    });
    expect(events).toEqual([]);
    await clock.advance(0);
    expect(events).toEqual(['deadline@1700']);
  });

  it('moves the deadline to the send time of a confirmed keepalive, never its arrival', async () => {
    const session = await grant();
    await clock.advance(500);
    session.keepAlive();
    await clock.advance(400);
    handler.onResponse(500, TTL_SECONDS);
    expect(events).toEqual(['renewed@900']);
    expect(heartbeats).toEqual([{ ok: true, latencySeconds: 0.4 }]);
    clock.freeze(1299);
    expect(session.valid).toBe(true);
    clock.freeze(1);
    expect(session.valid).toBe(false);
  });

  it('reports a keepalive the channel gave up on as a failed heartbeat, and keeps the deadline', async () => {
    const session = await grant();
    session.keepAlive();
    await clock.advance(600);
    handler.onFailure(0, 'timeout');
    handler.onFailure(0, 'stream', new Error('connection reset'));
    expect(heartbeats).toEqual([
      { ok: false, latencySeconds: 0.6, failure: 'timeout' },
      { ok: false, latencySeconds: 0.6, failure: 'stream', error: new Error('connection reset') },
    ]);
    clock.freeze(1099);
    expect(session.valid).toBe(true);
    clock.freeze(1);
    expect(session.valid).toBe(false);
  });

  it('takes a "lease not found" answer (TTL 0) as a failed heartbeat and a lost lease', async () => {
    const session = await grant();
    session.keepAlive();
    await clock.advance(20);
    handler.onResponse(0, 0);
    expect(heartbeats).toEqual([{ ok: false, latencySeconds: 0.02, failure: 'lease_lost' }]);
    expect(events).toEqual(['lost@20']);
    expect(session.valid).toBe(false);
    expect(sessionLiveness(session, false, session.id)).toEqual({
      ok: false,
      reason: "this node's lease expired or was revoked; it is asking etcd for a new one",
    });
    session.keepAlive();
    expect(sent).toEqual([0]); // a lost lease is not kept alive
  });
});

describe('sessionLiveness', () => {
  const session = { id: '7', ttlSeconds: 2, lost: false, valid: true };
  it("needs a granted, valid lease with this node's member record on it", () => {
    expect(sessionLiveness(undefined, false, undefined)).toEqual({
      ok: false,
      reason: 'etcd has not granted this node a lease yet',
    });
    expect(sessionLiveness(undefined, true, undefined).reason).toMatch(/expired or was revoked/);
    expect(sessionLiveness(session, false, undefined)).toEqual({
      ok: false,
      reason: "this node's member record is not in etcd; it is registering again",
    });
    expect(sessionLiveness(session, false, '8').ok).toBe(false);
    expect(sessionLiveness(session, false, '7')).toEqual({ ok: true });
  });
});
